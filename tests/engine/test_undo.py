"""Undo of a move, a delete to Trash and a bulk move, on a real Dovecot.

Each is undone before the worker applied the move (the worker is down, so
the move is cancelled and never reaches the server) and after (a move back
is queued); the phone, a second IMAP connection, checks what the server
holds. The same runs on the reduced Dovecot, which has no MOVE (COPY,
then \\Deleted and UID EXPUNGE).
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.engine.conftest import account_for, message_bytes, start_worker, wait_for
from webmail import door
from webmail.engine import backfill, folderlist, moves, sync
from webmail.mail import changes, undo
from webmail.models import Folder, Message, PendingOperation, UndoableAction

pytestmark = pytest.mark.django_db(transaction=True)

HTMX = {"HTTP_HX_REQUEST": "true"}
UNDO_URL = re.compile(r'action="(/mail/\d+/undo/\d+)"')


def _ready(account, *names: str) -> dict[str, Folder]:
    folderlist.sync_folder_list(account.id)
    rows = {}
    for name in ("INBOX", *names):
        folder = Folder.objects.get(account=account, name=name)
        sync.sync_folder(account.id, folder.id)
        folder.refresh_from_db()
        while not folder.complete:
            backfill.backfill_folder(account.id, folder.id)
            folder.refresh_from_db()
        rows[name] = folder
    return rows


def _mailbox(phone, account, special: str = "\\Archive") -> dict[str, Folder]:
    """Three messages in INBOX (the second starred), and an empty Archive."""
    phone.create_folder("Archive")
    for n in range(3):
        phone.append(
            "INBOX", message_bytes(f"msg {n}"), flags=[b"\\Flagged"] * (n == 1)
        )
    rows = _ready(account, "Archive")
    Folder.objects.filter(id=rows["Archive"].id).update(special_use=special)
    rows["Archive"].refresh_from_db()
    return rows


def _on_server(phone, folder: str) -> dict[str, set[bytes]]:
    """The subjects in a folder on the server, with their flags."""
    phone.select_folder(folder, readonly=True)
    uids = phone.search(["NOT", "DELETED"])
    if not uids:
        return {}
    fetched = phone.fetch(uids, ["ENVELOPE", "FLAGS"])
    return {
        data[b"ENVELOPE"].subject.decode(): set(data[b"FLAGS"]) - {b"\\Recent"}
        for data in fetched.values()
    }


def _cached(folder: Folder) -> dict[str, bool]:
    """The subjects in a folder's cache, with whether each is starred."""
    return dict(Message.objects.filter(folder=folder).values_list("subject", "flagged"))


def _drained(account) -> bool:
    return not PendingOperation.objects.filter(
        account=account, state="pending"
    ).exists()


def _client(account) -> Client:
    client = Client()
    client.force_login(account.user)
    return client


def _undo_url(answer) -> str:
    assert answer.status_code == 200
    found = UNDO_URL.search(answer.content.decode())
    assert found, "the notice offers no Undo"
    return found.group(1)


ALL = {"msg 0": False, "msg 1": True, "msg 2": False}


def test_a_move_undone_before_the_worker_sent_it_never_reaches_the_server(
    worker, server_user, other_device
):
    phone = other_device(server_user)
    account = account_for(server_user)
    rows = _mailbox(phone, account)
    worker.kill()
    with undo.undoable(account, "move") as offer:
        changes.move_messages(account, rows["INBOX"], [1, 2], rows["Archive"])
    assert _cached(rows["INBOX"]) == {"msg 2": False}

    done = undo.undo(account, offer.id)

    assert done.count == 2
    # At once, without the worker: back in the cache, star and all.
    assert _cached(rows["INBOX"]) == ALL
    assert list(
        Message.objects.filter(folder=rows["INBOX"])
        .values_list("uid", flat=True)
        .order_by("uid")
    ) == [1, 2, 3]
    assert PendingOperation.objects.get(account=account).state == "cancelled"
    with pytest.raises(undo.TooLate):
        undo.undo(account, offer.id)

    start_worker(worker)
    door.push_changes(account.id)
    assert set(_on_server(phone, "INBOX")) == set(ALL)
    assert _on_server(phone, "INBOX")["msg 1"] == {b"\\Flagged"}
    assert _on_server(phone, "Archive") == {}


def test_a_move_undone_after_the_worker_applied_it_comes_back(
    worker, server_user, other_device
):
    phone = other_device(server_user)
    account = account_for(server_user)
    rows = _mailbox(phone, account)
    with undo.undoable(account, "move") as offer:
        changes.move_messages(account, rows["INBOX"], [1, 2], rows["Archive"])
    wait_for(lambda: _drained(account), what="the move applied")
    assert set(_on_server(phone, "Archive")) == {"msg 0", "msg 1"}

    undo.undo(account, offer.id)

    assert _cached(rows["INBOX"]) == ALL  # at once, before the server
    wait_for(lambda: _drained(account), what="the move back applied")
    assert set(_on_server(phone, "INBOX")) == set(ALL)
    assert _on_server(phone, "INBOX")["msg 1"] == {b"\\Flagged"}
    assert _on_server(phone, "Archive") == {}
    # The cache names them by the UIDs the server gave them back in INBOX.
    phone.select_folder("INBOX", readonly=True)
    server_uids = sorted(phone.search(["NOT", "DELETED"]))
    wait_for(
        lambda: (
            sorted(
                Message.objects.filter(folder=rows["INBOX"]).values_list(
                    "uid", flat=True
                )
            )
            == server_uids
        ),
        what="the cache's UIDs as the server's",
    )
    assert _cached(rows["INBOX"]) == ALL
    wait_for(lambda: _cached(rows["Archive"]) == {}, what="Archive's cache empty")


def test_a_move_undone_while_the_worker_is_sending_it_is_moved_back(
    worker, imap_user, other_device
):
    """The worker recorded that it sends the move, then died: the undo
    cannot cancel it, so the move back follows it, and the server ends
    as it began."""
    phone = other_device(imap_user)
    account = account_for(imap_user)
    rows = _mailbox(phone, account)
    worker.kill()
    with undo.undoable(account, "move") as offer:
        changes.move_messages(account, rows["INBOX"], [2], rows["Archive"])
    forward = PendingOperation.objects.get(account=account)
    moves._claim(forward, sent=[2])

    undo.undo(account, offer.id)

    assert _cached(rows["INBOX"]) == ALL
    back = PendingOperation.objects.exclude(id=forward.id).get(account=account)
    assert back.payload["undo_of"] == forward.id
    start_worker(worker)
    door.push_changes(account.id)
    wait_for(lambda: _drained(account), what="both moves applied")
    assert set(_on_server(phone, "INBOX")) == set(ALL)
    assert _on_server(phone, "Archive") == {}


def test_the_worker_sends_nothing_of_a_move_undone_first(imap_user, other_device):
    """An undo that locked the operation first cancels it; the worker's
    claim, a conditional update of the same row, then finds it gone."""
    phone = other_device(imap_user)
    account = account_for(imap_user)
    rows = _mailbox(phone, account)
    with undo.undoable(account, "move") as offer:
        changes.move_messages(account, rows["INBOX"], [1], rows["Archive"])
    forward = PendingOperation.objects.get(account=account, kind="move")
    undo.undo(account, offer.id)
    with pytest.raises(moves.Cancelled):
        moves._claim(forward, sent=[1])
    assert PendingOperation.objects.filter(account=account).count() == 1


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_delete_is_undone_from_the_page(worker, server_user, other_device, when):
    phone = other_device(server_user)
    account = account_for(server_user)
    rows = _mailbox(phone, account)
    if not phone.folder_exists("Trash"):
        phone.create_folder("Trash")
    trash = _ready(account, "Trash")["Trash"]
    Folder.objects.filter(id=trash.id).update(special_use="\\Trash")
    client = _client(account)
    inbox = rows["INBOX"]
    if when == "before":
        worker.kill()

    answer = client.post(f"/mail/{account.id}/{inbox.id}/2/delete", **HTMX)
    url = _undo_url(answer)
    assert "Moved to the trash." in answer.content.decode()
    if when == "after":
        wait_for(lambda: "msg 1" in _on_server(phone, "Trash"), what="in Trash")
        wait_for(lambda: _drained(account), what="the delete applied")

    answer = client.post(url, **HTMX)
    assert answer.status_code == 200
    assert "1 message is back" in answer.content.decode()
    assert _cached(inbox) == ALL
    if when == "before":
        start_worker(worker)
        door.push_changes(account.id)
    wait_for(lambda: "msg 1" in _on_server(phone, "INBOX"), what="in INBOX")
    wait_for(lambda: _drained(account), what="the outbox drained")
    assert _on_server(phone, "Trash") == {}
    assert _on_server(phone, "INBOX")["msg 1"] == {b"\\Flagged"}
    # Once only: a second click changes nothing.
    again = client.post(url, **HTMX)
    assert "undone already" in again.content.decode()
    moves = PendingOperation.objects.filter(account=account, kind="move")
    assert moves.count() == (1 if when == "before" else 2)


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_bulk_move_is_undone(worker, server_user, other_device, when):
    phone = other_device(server_user)
    account = account_for(server_user)
    rows = _mailbox(phone, account)
    client = _client(account)
    inbox, archive = rows["INBOX"], rows["Archive"]
    if when == "before":
        worker.kill()

    answer = client.post(
        f"/mail/{account.id}/{inbox.id}/bulk",
        {"action": "move", "target": archive.id, "uid": ["1", "2", "3"]},
        **HTMX,
    )
    url = _undo_url(answer)
    assert "3 messages moved to Archive." in answer.content.decode()
    if when == "after":
        wait_for(lambda: len(_on_server(phone, "Archive")) == 3, what="moved")
        wait_for(lambda: _drained(account), what="the move applied")

    answer = client.post(url, **HTMX)
    assert "3 messages are back" in answer.content.decode()
    assert answer["HX-Trigger"] == "webmail-undone"
    assert _cached(inbox) == ALL

    if when == "before":
        start_worker(worker)
        door.push_changes(account.id)
    wait_for(lambda: _drained(account), what="outbox drained")
    assert set(_on_server(phone, "INBOX")) == set(ALL)
    assert _on_server(phone, "Archive") == {}


def test_another_tab_hears_of_the_action_and_undoes_it(
    worker, imap_user, other_device, subscribe
):
    phone = other_device(imap_user)
    account = account_for(imap_user)
    rows = _mailbox(phone, account)
    other_tab = subscribe(account.user_id)
    inbox = rows["INBOX"]

    answer = _client(account).post(f"/mail/{account.id}/{inbox.id}/1/archive", **HTMX)
    url = _undo_url(answer)
    heard = other_tab.wait(lambda e: e["type"] == "undoable")
    assert url == f"/mail/{account.id}/undo/{heard['id']}"

    second = _client(account)  # the other tab: the notice, then its Undo
    notice = second.get(url)
    assert "1 message moved to Archive." in notice.content.decode()
    assert _undo_url(notice) == url
    assert second.post(url, **HTMX).status_code == 200

    undone = other_tab.wait(lambda e: e["type"] == "undone")
    assert undone["id"] == heard["id"]
    assert inbox.id in undone["folders"]
    assert _cached(inbox) == ALL
    wait_for(lambda: _drained(account), what="outbox drained")
    assert set(_on_server(phone, "INBOX")) == set(ALL)
    assert _on_server(phone, "Archive") == {}
    # The first tab's click comes too late: it was undone already.
    assert "undone already" in _client(account).post(url, **HTMX).content.decode()


def test_an_action_cannot_be_undone_once_its_time_is_up(
    imap_user, other_device, settings
):
    phone = other_device(imap_user)
    account = account_for(imap_user)
    rows = _mailbox(phone, account)
    with undo.undoable(account, "move") as offer:
        changes.move_messages(account, rows["INBOX"], [1], rows["Archive"])
    settings.UNDO_SECONDS = -undo.GRACE - 1
    assert offer.id is not None
    assert _client(account).get(f"/mail/{account.id}/undo/{offer.id}").content == b""
    with pytest.raises(undo.TooLate):
        undo.undo(account, offer.id)
    assert not UndoableAction.objects.get(id=offer.id).undone
    assert "msg 0" not in _cached(rows["INBOX"])


def test_a_move_whose_new_uids_were_not_recorded_is_found_by_message_id(
    worker, imap_user, other_device
):
    """The worker sent the move but died before it recorded where the
    messages went (COPYUID): the move back finds them by Message-ID."""
    phone = other_device(imap_user)
    account = account_for(imap_user)
    rows = _mailbox(phone, account)
    with undo.undoable(account, "move") as offer:
        changes.move_messages(account, rows["INBOX"], [1, 2], rows["Archive"])
    wait_for(lambda: _drained(account), what="the move applied")
    forward = PendingOperation.objects.get(account=account)
    assert forward.payload["moved"]
    forward.payload.pop("moved")
    PendingOperation.objects.filter(id=forward.id).update(payload=forward.payload)

    undo.undo(account, offer.id)

    assert _cached(rows["INBOX"]) == ALL
    wait_for(lambda: _drained(account), what="the move back applied")
    back = PendingOperation.objects.exclude(id=forward.id).get(account=account)
    assert len(back.payload["resolved"]) == 2
    assert set(_on_server(phone, "INBOX")) == set(ALL)
    assert _on_server(phone, "Archive") == {}
    wait_for(lambda: _cached(rows["INBOX"]) == ALL, what="INBOX's cache")
    wait_for(lambda: _cached(rows["Archive"]) == {}, what="Archive's cache empty")
