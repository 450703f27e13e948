"""The reading pane's actions: unread, move, archive, spam, delete (for good
only after a confirmation), and the next message opening after each."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User
from tests.ui.mail import account_of, add_folder, add_message, standard_mailbox
from webmail.models import Folder, Message, OperationKind, PendingOperation
from webmail.views.present import message_url

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "app"}


@pytest.fixture
def folders(alice: User) -> dict[str, Folder]:
    folders = standard_mailbox(alice)
    folders["Junk"] = add_folder(account_of(alice), "Junk", "\\Junk")
    return folders


@pytest.fixture
def client(alice: User) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def url(folder: Folder, uid: int, action: str = "") -> str:
    return message_url(folder.account_id, folder.id, uid) + action


def uids(folder: Folder) -> list[int]:
    return sorted(Message.objects.filter(folder=folder).values_list("uid", flat=True))


def pane(client: Client, folder: Folder, uid: int) -> str:
    answer = client.get(
        url(folder, uid), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="reader"
    )
    assert answer.status_code == 200
    return answer.content.decode()


def test_the_pane_offers_unread_move_archive_and_spam(client, folders):
    page = pane(client, folders["INBOX"], 2)
    for action in ("unread", "archive", "spam", "move", "delete"):
        assert f'data-action="{action}"' in page
    assert 'data-action="not-spam"' not in page
    # Every folder the message could go to, but not its own.
    assert f'<option value="{folders["Archive"].id}">' in page
    assert f'<option value="{folders["INBOX"].id}">' not in page


def test_in_junk_the_pane_offers_not_spam_and_deletes_for_good(client, folders):
    add_message(folders["Junk"], 7, "Cheap watches")
    page = pane(client, folders["Junk"], 7)
    assert 'data-action="not-spam"' in page
    assert 'data-action="spam"' not in page
    assert "Delete for good" in page


def test_mark_unread_goes_back_to_the_list(client, folders):
    inbox = folders["INBOX"]
    answer = client.post(url(inbox, 1, "unread"), **HTMX)
    assert answer["HX-Push-Url"] == f"/mail/{inbox.account_id}/{inbox.id}/"
    assert "Marked unread." in answer.content.decode()
    assert not Message.objects.get(folder=inbox, uid=1).seen
    operation = PendingOperation.objects.get()
    assert operation.kind == OperationKind.FLAGS


def test_archive_opens_the_next_older_message(client, folders):
    inbox, archive = folders["INBOX"], folders["Archive"]
    # Newest first: 1, 2, 3, 4. After 2 goes, 3 (the next older) opens.
    answer = client.post(url(inbox, 2, "archive"), **HTMX)
    assert answer.status_code == 200
    assert answer["HX-Push-Url"] == url(inbox, 3)
    page = answer.content.decode()
    assert "Re: the plan" in page
    assert "Archived." in page
    assert uids(inbox) == [1, 3, 4]
    # Only what changed: the pane, the row gone, the notice; the page then
    # asks for its list again.
    assert (answer["HX-Retarget"], answer["HX-Reswap"]) == ("#reader", "innerHTML")
    assert answer["HX-Trigger"] == "webmail-moved"
    assert '<li id="m2" hx-swap-oob="delete">' in page
    assert 'id="list"' not in page
    operation = PendingOperation.objects.get(kind=OperationKind.MOVE)
    assert operation.payload["target_id"] == archive.id


def test_after_the_oldest_message_the_next_newer_opens(client, folders):
    inbox = folders["INBOX"]
    answer = client.post(url(inbox, 4, "spam"), **HTMX)
    assert answer["HX-Push-Url"] == url(inbox, 3)
    assert "Reported as spam." in answer.content.decode()
    assert uids(folders["Junk"]) == [] and uids(inbox) == [1, 2, 3]
    move = PendingOperation.objects.get(kind=OperationKind.MOVE)
    assert move.payload["target_id"] == folders["Junk"].id


def test_after_the_last_message_the_list_shows(client, folders):
    beta = folders["Projects/Beta"]
    add_message(beta, 5, "Only one")
    answer = client.post(url(beta, 5, "delete"), **HTMX)
    assert answer["HX-Push-Url"] == f"/mail/{beta.account_id}/{beta.id}/"
    assert "Moved to the trash." in answer.content.decode()


def test_move_to_a_chosen_folder(client, folders):
    inbox, beta = folders["INBOX"], folders["Projects/Beta"]
    answer = client.post(url(inbox, 1, "move"), {"target": beta.id}, **HTMX)
    assert answer["HX-Push-Url"] == url(inbox, 2)
    assert "Moved to Beta." in answer.content.decode()
    move = PendingOperation.objects.get(kind=OperationKind.MOVE)
    assert move.payload["target_id"] == beta.id


def test_moving_to_another_users_folder_is_not_found(client, folders, bob):
    theirs = standard_mailbox(bob)["INBOX"]
    answer = client.post(url(folders["INBOX"], 1, "move"), {"target": theirs.id})
    assert answer.status_code == 404
    assert uids(folders["INBOX"]) == [1, 2, 3, 4]


def test_not_spam_goes_back_to_the_inbox(client, folders):
    junk = folders["Junk"]
    add_message(junk, 7, "Real mail after all")
    client.post(url(junk, 7, "not-spam"), **HTMX)
    assert uids(junk) == []
    assert PendingOperation.objects.get().payload["target_id"] == folders["INBOX"].id


@pytest.mark.parametrize("bin_name", ["Trash", "Junk"])
def test_one_click_in_a_bin_does_not_destroy_mail(client, folders, bin_name):
    bin_folder = folders[bin_name]
    add_message(bin_folder, 9, "Tax return 2025")
    answer = client.post(url(bin_folder, 9, "delete"), **HTMX)
    page = answer.content.decode()
    assert answer["HX-Retarget"] == "#reader"
    assert "Delete this message for good?" in page
    assert "Tax return 2025" in page and "cannot be recovered" in page
    assert uids(bin_folder) == [9]
    assert not PendingOperation.objects.exists()
    # Confirmed, it goes for good.
    client.post(url(bin_folder, 9, "delete"), {"confirm": "1"}, **HTMX)
    assert uids(bin_folder) == []
    assert PendingOperation.objects.get().kind == OperationKind.EXPUNGE


def test_without_javascript_the_confirmation_is_a_page(client, folders):
    trash = folders["Trash"]
    add_message(trash, 9, "Tax return 2025")
    answer = client.post(url(trash, 9, "delete"))
    assert answer.status_code == 200
    assert "Delete this message for good?" in answer.content.decode()
    assert uids(trash) == [9]
    answer = client.post(url(trash, 9, "delete"), {"confirm": "1"})
    assert answer.status_code == 302 and uids(trash) == []


def empty_url(folder: Folder) -> str:
    return f"/mail/{folder.account_id}/folders/{folder.id}/empty"


def test_emptying_trash_asks_first_saying_how_many(client, folders):
    trash = folders["Trash"]
    for uid in (11, 12, 13):
        add_message(trash, uid, f"Old {uid}")
    listing = client.get(f"/mail/{trash.account_id}/{trash.id}/").content.decode()
    assert empty_url(trash) in listing
    page = client.get(empty_url(trash)).content.decode()
    assert "Its 3 messages will be deleted for good." in page
    assert uids(trash) == [11, 12, 13]
    answer = client.post(empty_url(trash))
    assert answer.status_code == 302
    assert uids(trash) == []
    operation = PendingOperation.objects.get()
    assert operation.kind == OperationKind.EXPUNGE
    assert operation.uids == [11, 12, 13]


def test_only_trash_and_junk_can_be_emptied(client, folders):
    inbox = folders["INBOX"]
    assert client.get(empty_url(inbox)).status_code == 404
    assert client.post(empty_url(inbox)).status_code == 404
    listing = client.get(f"/mail/{inbox.account_id}/{inbox.id}/").content.decode()
    assert "/empty" not in listing
    assert uids(inbox) == [1, 2, 3, 4]
