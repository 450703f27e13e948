"""The webmail's actions reach the server through the outbox, whatever fails."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client

from tests.engine.conftest import account_for, fill, wait_for
from webmail import door
from webmail.engine import backfill, connections, folderlist, outbox, sync
from webmail.mail import changes, reading, status
from webmail.models import AccountState, Folder, Message, PendingOperation

pytestmark = pytest.mark.django_db(transaction=True)


def _ready(account, *folders: str) -> dict[str, Folder]:
    folderlist.sync_folder_list(account.id)
    rows = {}
    for name in ("INBOX", *folders):
        row = Folder.objects.get(account=account, name=name)
        sync.sync_folder(account.id, row.id)
        row.refresh_from_db()
        while not row.complete:  # past the first batch: load the rest
            backfill.backfill_folder(account.id, row.id)
            row.refresh_from_db()
        rows[name] = row
    return rows


def _server_flags(phone, folder: str = "INBOX") -> dict[int, tuple]:
    phone.select_folder(folder, readonly=True)
    uids = phone.search(["ALL"])
    if not uids:
        return {}
    return {uid: data[b"FLAGS"] for uid, data in phone.fetch(uids, ["FLAGS"]).items()}


def _pending(account) -> int:
    return PendingOperation.objects.filter(account=account, state="pending").count()


def test_the_webmail_marks_read_and_the_phone_sees_it(
    worker, server_user, other_device
):
    phone = other_device(server_user)
    fill(phone, "INBOX", 2)
    account = account_for(server_user)
    inbox = _ready(account)["INBOX"]

    assert changes.set_flags(account, inbox, [2], add=["\\Seen", "\\Flagged"]) == 1

    wait_for(lambda: b"\\Seen" in _server_flags(phone)[2], what="\\Seen on server")
    assert b"\\Flagged" in _server_flags(phone)[2]
    assert b"\\Seen" not in _server_flags(phone)[1]
    wait_for(lambda: _pending(account) == 0, what="outbox drained")
    assert PendingOperation.objects.get(account=account).state == "done"

    changes.set_flags(account, inbox, [2], remove=["\\Seen"])
    wait_for(lambda: b"\\Seen" not in _server_flags(phone)[2], what="unread")


def test_moved_messages_arrive_in_the_other_folder(worker, server_user, other_device):
    phone = other_device(server_user)
    phone.create_folder("Archive")
    fill(phone, "INBOX", 3)
    account = account_for(server_user)
    rows = _ready(account, "Archive")

    assert changes.move_messages(account, rows["INBOX"], [1, 3], rows["Archive"]) == 2
    assert [m.uid for m in reading.list_messages(account, rows["INBOX"]).messages] == [
        2
    ]

    wait_for(lambda: len(_server_flags(phone, "Archive")) == 2, what="moved")
    # Without MOVE the copies land before the originals are expunged.
    wait_for(lambda: list(_server_flags(phone, "INBOX")) == [2], what="moved out")
    # The target folder is synced after the move.
    wait_for(
        lambda: Message.objects.filter(folder=rows["Archive"]).count() == 2,
        what="target synced",
    )


def test_deleting_moves_to_trash_then_deletes_for_good(
    worker, server_user, other_device
):
    phone = other_device(server_user)
    phone.create_folder("Trash")
    fill(phone, "INBOX", 1)
    account = account_for(server_user)
    rows = _ready(account, "Trash")
    Folder.objects.filter(id=rows["Trash"].id).update(special_use="\\Trash")

    changes.delete_messages(account, rows["INBOX"], [1])
    wait_for(lambda: len(_server_flags(phone, "Trash")) == 1, what="in trash")
    wait_for(lambda: Message.objects.filter(folder=rows["Trash"]).count() == 1)

    uid = Message.objects.get(folder=rows["Trash"]).uid
    changes.delete_messages(account, rows["Trash"], [uid])
    wait_for(lambda: len(_server_flags(phone, "Trash")) == 0, what="gone")
    assert _server_flags(phone, "INBOX") == {}


def test_a_killed_worker_loses_none_of_200_changes(worker, server_user, other_device):
    phone = other_device(server_user)
    phone.multiappend(
        "INBOX", [f"Subject: m{n}\r\n\r\nbody\r\n".encode() for n in range(200)]
    )
    account = account_for(server_user)
    inbox = _ready(account)["INBOX"]
    assert inbox.total == 200

    for uid in range(1, 101):
        changes.set_flags(account, inbox, [uid], add=["\\Seen"])
    worker.kill()
    for uid in range(101, 201):
        changes.set_flags(account, inbox, [uid], add=["\\Seen"])
    worker.start()

    def all_seen() -> bool:
        return all(b"\\Seen" in f for f in _server_flags(phone).values())

    wait_for(all_seen, timeout=60, what="200 flags on the server")
    wait_for(lambda: _pending(account) == 0, what="outbox drained")
    assert not Message.objects.filter(folder=inbox, seen=False).exists()
    sync.sync_folder(account.id, inbox.id)
    assert Message.objects.filter(folder=inbox, seen=True).count() == 200


def _subjects(phone, folder: str) -> list[str]:
    phone.select_folder(folder, readonly=True)
    uids = phone.search(["ALL"])
    if not uids:
        return []
    fetched = phone.fetch(uids, ["ENVELOPE"])
    return sorted(data[b"ENVELOPE"].subject.decode() for data in fetched.values())


@pytest.mark.parametrize(
    "copied_before", [[1, 3], []], ids=["copy-reached-server", "copy-never-sent"]
)
def test_a_move_without_move_pushed_again_after_a_crash_copies_once(
    worker, imap_user_reduced, other_device, copied_before
):
    """Without MOVE a move is COPY, then \\Deleted and UID EXPUNGE. A worker
    killed between the server's COPY and the record of it leaves the state
    made here: the operation records the copy it was about to make, the
    copies are in the target (the phone's COPY stands in for the lost
    push's), and nothing says they were made."""
    phone = other_device(imap_user_reduced)
    phone.create_folder("Archive")
    fill(phone, "INBOX", 3)
    # An older copy of "msg 0" (same Message-ID) in Archive is not the
    # lost push's copy.
    phone.select_folder("INBOX", readonly=True)
    phone.append("Archive", phone.fetch([1], ["BODY.PEEK[]"])[1][b"BODY[]"])
    account = account_for(imap_user_reduced)
    rows = _ready(account, "Archive")
    before = phone.folder_status("Archive", ["UIDVALIDITY", "UIDNEXT"])
    if copied_before:
        phone.select_folder("INBOX")
        phone.copy(copied_before, "Archive")

    with transaction.atomic():  # pushed once committed, intent and all
        changes.move_messages(account, rows["INBOX"], [1, 3], rows["Archive"])
        op = PendingOperation.objects.get(account=account)
        op.payload["copying"] = {
            "uids": [1, 3],
            "uidvalidity": before[b"UIDVALIDITY"],
            "uidnext": before[b"UIDNEXT"],
        }
        op.save(update_fields=["payload"])

    wait_for(lambda: _pending(account) == 0, what="outbox drained")
    op.refresh_from_db()
    assert op.state == "done"
    assert op.payload["copied"] == [1, 3]
    assert _subjects(phone, "Archive") == ["msg 0", "msg 0", "msg 2"]
    assert _subjects(phone, "INBOX") == ["msg 1"]  # expunged, not only \Deleted


def test_a_copy_pushed_again_after_a_crash_copies_once(
    worker, server_user, other_device
):
    """The same for a copy: the lost push's COPY stands, none is added."""
    phone = other_device(server_user)
    phone.create_folder("Archive")
    fill(phone, "INBOX", 2)
    account = account_for(server_user)
    rows = _ready(account, "Archive")
    before = phone.folder_status("Archive", ["UIDVALIDITY", "UIDNEXT"])
    phone.select_folder("INBOX")
    phone.copy([2], "Archive")

    with transaction.atomic():
        changes.copy_messages(account, rows["INBOX"], [1, 2], rows["Archive"])
        op = PendingOperation.objects.get(account=account)
        op.payload["copying"] = {
            "uids": [1, 2],
            "uidvalidity": before[b"UIDVALIDITY"],
            "uidnext": before[b"UIDNEXT"],
        }
        op.save(update_fields=["payload"])

    wait_for(lambda: _pending(account) == 0, what="outbox drained")
    op.refresh_from_db()
    assert op.state == "done"
    assert _subjects(phone, "Archive") == ["msg 0", "msg 1"]
    assert _subjects(phone, "INBOX") == ["msg 0", "msg 1"]


def test_a_refused_move_is_undone_and_reported(
    worker, server_user, other_device, subscribe
):
    phone = other_device(server_user)
    phone.create_folder("Gone")
    fill(phone, "INBOX", 2)
    account = account_for(server_user)
    rows = _ready(account, "Gone")
    phone.delete_folder("Gone")
    events = subscribe(account.user_id)

    changes.move_messages(account, rows["INBOX"], [1], rows["Gone"])
    assert not Message.objects.filter(folder=rows["INBOX"], uid=1).exists()

    event = events.wait(lambda e: e["type"] == "outbox")
    (failed,) = status.failed_operations(account)
    assert event["failed"] == [failed.id]
    assert "Gone" in failed.last_error
    wait_for(lambda: Message.objects.filter(folder=rows["INBOX"], uid=1).exists())
    assert sorted(_server_flags(phone)) == [1, 2]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"password": "wrong-password"}, "refused the username or password"),
        ({"imap_port": 9}, "refused the connection"),
        ({"tls_fingerprint": "ab" * 32}, "does not match the trusted fingerprint"),
    ],
    ids=["wrong-password", "unreachable", "bad-certificate"],
)
def test_a_broken_account_keeps_its_actions_until_fixed(
    worker, server_user, other_device, change, words
):
    phone = other_device(server_user)
    fill(phone, "INBOX", 1)
    account = account_for(server_user)
    inbox = _ready(account)["INBOX"]
    good = {
        "imap_password_encrypted": account.imap_password_encrypted,
        "imap_port": account.imap_port,
        "tls_fingerprint": "",
    }
    if "password" in change:
        account.imap_password = change["password"]
    for key, value in change.items():
        if key != "password":
            setattr(account, key, value)
    account.save()

    changes.set_flags(account, inbox, [1], add=["\\Flagged"])

    def error_recorded():
        state = AccountState.objects.filter(account=account).first()
        return state is not None and words in state.error

    wait_for(error_recorded, what="the account error")
    assert words in status.account_error(account)
    op = PendingOperation.objects.get(account=account)
    assert op.state == "pending" and words in op.last_error
    assert worker.alive()

    for key, value in good.items():
        setattr(account, key, value)
    account.save()
    PendingOperation.objects.filter(id=op.id).update(next_attempt_at=op.created_at)
    door.push_changes(account.id)
    wait_for(lambda: b"\\Flagged" in _server_flags(phone)[1], what="applied")
    wait_for(lambda: status.account_error(account) == "", what="error cleared")


def test_a_dropped_connection_is_replaced(worker, server_user, other_device):
    phone = other_device(server_user)
    fill(phone, "INBOX", 2)
    account = account_for(server_user)
    inbox = _ready(account)["INBOX"]
    changes.set_flags(account, inbox, [1], add=["\\Seen"])
    wait_for(lambda: _pending(account) == 0)

    # Drops every connection of the user, the "phone's" too.
    server_user.server.doveadm("kick", server_user.username)
    phone = other_device(server_user)
    changes.set_flags(account, inbox, [2], add=["\\Seen"])
    wait_for(lambda: b"\\Seen" in _server_flags(phone)[2], what="applied")
    wait_for(lambda: _pending(account) == 0)


def test_a_flag_change_meeting_a_newer_one_from_the_phone_keeps_both(
    worker, imap_user, other_device, subscribe
):
    """UNCHANGEDSINCE refuses the stale change; the phone's flag stays too.

    The phone flags the message after the webmail's last sync, then the
    webmail user marks it read: the server answers MODIFIED. The user ends
    up with the message read and flagged, on the server and in the cache.
    """
    phone = other_device(imap_user)
    fill(phone, "INBOX", 2)
    account = account_for(imap_user)
    inbox = _ready(account)["INBOX"]
    cached = Message.objects.get(folder=inbox, uid=1)
    phone.select_folder("INBOX")
    phone.add_flags([1], [b"\\Flagged"])
    modseq = phone.fetch([1], ["MODSEQ"])[1][b"MODSEQ"][0]
    assert modseq > cached.modseq

    changes.set_flags(account, inbox, [1, 2], add=["\\Seen"])
    op = PendingOperation.objects.get(account=account)
    assert op.payload["modseq"] < modseq  # what the webmail saw is older
    listener = subscribe(account.user_id)

    wait_for(lambda: _pending(account) == 0, what="outbox drained")
    assert PendingOperation.objects.get(id=op.id).state == "done"
    server = _server_flags(phone)
    assert set(server[1]) == {b"\\Seen", b"\\Flagged"}
    assert set(server[2]) == {b"\\Seen"}
    # The cache agrees at once, without waiting for the next sync.
    row = Message.objects.get(folder=inbox, uid=1)
    assert (row.seen, row.flagged) == (True, True)
    assert row.modseq >= modseq
    assert Message.objects.get(folder=inbox, uid=2).seen
    # Open pages are told about the message the phone changed too.
    event = listener.wait(lambda e: e["type"] == "flags")
    assert event == {"type": "flags", "account": account.id, "folder": inbox.id,
                     "uids": [1]}  # fmt: skip


def test_changes_lost_to_a_rebuilt_folder_are_one_notice(
    imap_user, other_device, monkeypatch
):
    phone = other_device(imap_user)
    phone.create_folder("Work")
    fill(phone, "Work", 3, prefix="old")
    account = account_for(imap_user)
    work = _ready(account, "Work")["Work"]
    # The phone deletes and makes the folder again: a new UIDVALIDITY.
    phone.delete_folder("Work")
    phone.create_folder("Work")
    fill(phone, "Work", 3, prefix="new")
    # Three changes made before the webmail has seen it, pushed below.
    monkeypatch.setattr(door, "push_changes", lambda *args, **kwargs: True)
    changes.set_flags(account, work, [1], add=["\\Flagged"])
    changes.mark_seen(account, work, [2], seen=True)
    changes.delete_messages(account, work, [3])
    connections.close_pool()  # the push selects the folder afresh
    outbox.push(account.id)
    assert PendingOperation.objects.filter(state="failed").count() == 3

    client = Client()
    client.force_login(account.user)
    url = f"/mail/{account.id}/{work.id}/"
    page = client.get(url).content.decode()
    assert page.count("was rebuilt on the server") == 1
    assert "The server refused a change to 3 messages in Work." in page
    (notice,) = status.failed_operations(account)
    client.post(f"/mail/{account.id}/failures/{notice.id}/dismiss")
    assert "was rebuilt on the server" not in client.get(url).content.decode()
