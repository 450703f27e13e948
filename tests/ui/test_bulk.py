"""Acting on a selection of messages: every action, chunks, whole folders, access."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from accounts.models import User
from tests.ui.mail import account_of, add_folder, add_message, standard_mailbox
from webmail.mail import bulk, changes
from webmail.models import Folder, Message, OperationKind, PendingOperation

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "list"}


@pytest.fixture
def folders(alice: User) -> dict[str, Folder]:
    return standard_mailbox(alice)


@pytest.fixture
def client(alice: User) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def url(folder: Folder) -> str:
    return f"/mail/{folder.account_id}/{folder.id}/bulk"


def post(client: Client, folder: Folder, **data: object):
    return client.post(url(folder), data, **HTMX)


def status(response) -> str:
    found = re.search(
        r'<div id="bulk-status"[^>]*><span class="notice-text">([^<]*)</span>',
        response.content.decode(),
    )
    assert found is not None
    return found.group(1)


def flags(folder: Folder, field: str) -> dict[int, bool]:
    return dict(Message.objects.filter(folder=folder).values_list("uid", field))


def test_mark_read_changes_the_selected_messages_and_queues_one_operation(
    client: Client, folders: dict[str, Folder]
):
    inbox = folders["INBOX"]
    response = post(client, inbox, action="read", uid=[2, 4])
    assert response.status_code == 200
    assert flags(inbox, "seen") == {1: True, 2: True, 3: True, 4: True}
    operation = PendingOperation.objects.get()
    assert operation.kind == OperationKind.FLAGS
    assert operation.uids == [2, 4]
    assert operation.payload["add"] == ["\\Seen"]
    assert status(response) == "2 messages marked read."
    # The answer is the refreshed list, the two rows no longer unread.
    page = response.content.decode()
    assert 'id="list"' in page
    assert re.search(r'id="m2" class="row[^"]*unread', page) is None
    assert Folder.objects.get(id=inbox.id).unseen == 0


def test_mark_unread_star_and_unstar(client: Client, folders: dict[str, Folder]):
    inbox = folders["INBOX"]
    post(client, inbox, action="unread", uid=[1, 3])
    assert flags(inbox, "seen") == {1: False, 2: False, 3: False, 4: False}
    response = post(client, inbox, action="star", uid=[1, 3, 4])
    assert status(response) == "3 messages starred."
    assert flags(inbox, "flagged") == {1: True, 2: True, 3: True, 4: True}
    response = post(client, inbox, action="unstar", uid=[2])
    assert status(response) == "1 message unstarred."
    assert flags(inbox, "flagged") == {1: True, 2: False, 3: True, 4: True}
    kinds = list(PendingOperation.objects.values_list("kind", "uids"))
    assert kinds == [("flags", [1, 3]), ("flags", [1, 3, 4]), ("flags", [2])]


def test_move_to_a_folder_takes_the_messages_there(
    client: Client, folders: dict[str, Folder]
):
    inbox, archive = folders["INBOX"], folders["Archive"]
    response = post(client, inbox, action="move", uid=[1, 2], target=archive.id)
    assert status(response) == "2 messages moved to Archive."
    assert sorted(flags(inbox, "seen")) == [3, 4]
    operation = PendingOperation.objects.get()
    assert operation.kind == OperationKind.MOVE
    assert operation.payload["target_id"] == archive.id
    assert Folder.objects.get(id=archive.id).total == 2


def test_a_move_answers_with_the_rows_gone_and_asks_for_the_list_again(
    client: Client, folders: dict[str, Folder]
):
    inbox, archive = folders["INBOX"], folders["Archive"]
    response = post(client, inbox, action="move", uid=[1, 2], target=archive.id)
    page = response.content.decode()
    # The rows leave the page at once; the list, refilled, comes next.
    assert '<li id="m1" hx-swap-oob="delete">' in page
    assert '<li id="m2" hx-swap-oob="delete">' in page
    assert 'id="m3"' not in page and 'id="list"' not in page
    assert response["HX-Reswap"] == "none"
    assert response["HX-Trigger"] == "webmail-moved"
    assert 'data-action="undo"' in page
    # A change that keeps the rows redraws the list as before.
    response = post(client, inbox, action="star", uid=[3])
    assert 'id="list"' in response.content.decode()
    assert "HX-Reswap" not in response


def test_delete_moves_to_trash(client: Client, folders: dict[str, Folder]):
    inbox = folders["INBOX"]
    response = post(client, inbox, action="delete", uid=[3])
    assert status(response) == "1 message moved to Trash."
    assert sorted(flags(inbox, "seen")) == [1, 2, 4]
    operation = PendingOperation.objects.get()
    assert operation.payload["target_id"] == folders["Trash"].id


def test_bad_requests_get_a_clear_message_and_change_nothing(
    client: Client, folders: dict[str, Folder]
):
    inbox = folders["INBOX"]
    cases = [
        ({"action": "read"}, "Select some messages first."),
        (
            {"action": "explode", "uid": [1]},
            "Pick an action for the selected messages.",
        ),
        ({"action": "move", "uid": [1]}, "Pick a folder to move the messages to."),
    ]
    for data, message in cases:
        response = post(client, inbox, **data)
        assert response.status_code == 200
        assert status(response) == message
    assert not PendingOperation.objects.exists()
    assert flags(inbox, "seen") == {1: True, 2: False, 3: True, 4: False}


def test_all_in_folder_reaches_messages_beyond_the_first_page_in_chunks(
    client: Client, alice: User, monkeypatch
):
    monkeypatch.setattr(bulk, "CHUNK", 40)
    inbox = add_folder(account_of(alice), "INBOX")
    for uid in range(1, 121):
        add_message(inbox, uid, f"Message {uid}", seen=False)
    page = client.get(f"/mail/{inbox.account_id}/{inbox.id}/").content.decode()
    # The page shows 50 and offers the whole folder.
    assert len(re.findall(r"data-pick>", page)) == 50
    assert "Select all 120 messages in this folder" in page
    response = post(client, inbox, action="read", all="1")
    assert status(response) == "120 messages marked read."
    assert not Message.objects.filter(folder=inbox, seen=False).exists()
    chunks = list(PendingOperation.objects.values_list("uids", flat=True))
    assert [len(uids) for uids in chunks] == [40, 40, 40]
    assert sorted(uid for uids in chunks for uid in uids) == list(range(1, 121))


def test_the_refreshed_list_keeps_its_order(client: Client, folders):
    inbox = folders["INBOX"]
    back = f"/mail/{inbox.account_id}/{inbox.id}/?sort=subject&dir=asc"
    response = post(client, inbox, action="star", uid=[1], back=back)
    assert '<option value="subject" selected>' in response.content.decode()
    # Without htmx, the browser goes back to the list it came from.
    plain = client.post(url(inbox), {"action": "star", "uid": [3], "back": back})
    assert plain.status_code == 302
    assert plain["Location"] == back
    elsewhere = client.post(
        url(inbox), {"action": "star", "uid": [3], "back": "https://evil.example/"}
    )
    assert elsewhere["Location"] == f"/mail/{inbox.account_id}/{inbox.id}/"


def test_moving_to_another_users_folder_is_not_found(
    client: Client, folders: dict[str, Folder], bob: User
):
    inbox = folders["INBOX"]
    bobs = add_folder(account_of(bob), "INBOX")
    response = post(client, inbox, action="move", uid=[1], target=bobs.id)
    assert response.status_code == 404
    assert sorted(flags(inbox, "seen")) == [1, 2, 3, 4]
    assert not PendingOperation.objects.exists()


def test_bob_cannot_act_on_alices_folder(folders: dict[str, Folder], bob: User):
    inbox = folders["INBOX"]
    bobs = add_folder(account_of(bob), "INBOX")
    client = Client()
    client.force_login(bob)
    assert post(client, inbox, action="read", uid=[2]).status_code == 404
    # His own account with her folder's id, and her account with his folder.
    mixed = f"/mail/{bobs.account_id}/{inbox.id}/bulk"
    assert client.post(mixed, {"action": "read", "all": "1"}).status_code == 404
    theirs = f"/mail/{inbox.account_id}/{bobs.id}/bulk"
    assert client.post(theirs, {"action": "read", "all": "1"}).status_code == 404
    assert flags(inbox, "seen")[2] is False
    assert not PendingOperation.objects.exists()


def test_rows_have_labelled_checkboxes_and_search_rows_none(
    client: Client, folders: dict[str, Folder]
):
    inbox = folders["INBOX"]
    page = client.get(f"/mail/{inbox.account_id}/{inbox.id}/").content.decode()
    assert (
        '<input type="checkbox" name="uid" value="2" form="bulk" data-pick>'
        '<span class="visually-hidden">Select: Lunch on Friday?</span>'
    ) in page
    assert 'id="bulk"' in page
    # The page holds every message, so the whole folder is not offered.
    assert "data-offer" not in page


def test_the_status_and_toolbar_speak_japanese(folders: dict[str, Folder], alice):
    client = Client(headers={"Accept-Language": "ja"})
    client.force_login(alice)
    inbox = folders["INBOX"]
    page = client.get(f"/mail/{inbox.account_id}/{inbox.id}/").content.decode()
    assert "既読にする" in page and "すべて選択" in page
    response = client.post(url(inbox), {"action": "read", "uid": [2, 4]}, **HTMX)
    assert status(response) == "2 件のメッセージを既読にしました。"


def test_flag_changes_keep_each_messages_own_keywords(alice: User):
    # set_flags writes named flags with one UPDATE; keywords stay per row.
    inbox = add_folder(account_of(alice), "INBOX")
    add_message(inbox, 1, "a", keywords=["$A", "$Work"])
    add_message(inbox, 2, "b", seen=True)
    changed = changes.set_flags(
        account_of(alice), inbox, [1, 2], add=["$B", "\\Seen"], remove=["$A"]
    )
    assert changed == 2
    keywords = dict(Message.objects.values_list("uid", "keywords"))
    assert keywords == {1: ["$B", "$Work"], 2: ["$B"]}
    assert flags(inbox, "seen") == {1: True, 2: True}
