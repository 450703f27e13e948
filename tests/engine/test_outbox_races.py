"""The outbox meets changes made a moment before, by the user or another device.

Against a real Dovecot and the real worker; the phone is a second IMAP
connection. The worker's connection keeps INBOX selected between pushes
and trusts its view of it for a second without asking the server again
(ImapSession.open_folder), so messages the phone expunges just before a
push are still in that view.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from tests.engine.conftest import account_for, fill, message_bytes, wait_for
from webmail.engine import backfill, folderlist, sync
from webmail.mail import bodies, changes, reading
from webmail.models import Folder, Message, PendingOperation

pytestmark = pytest.mark.django_db(transaction=True)

GONE = [1, 2]  # expunged by the phone just before the user acts on 1 to 4
ACTED_ON = [1, 2, 3, 4]


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


def _drained(account) -> bool:
    return not PendingOperation.objects.filter(
        account=account, state="pending"
    ).exists()


def _server_flags(phone, folder: str = "INBOX") -> dict[int, set[bytes]]:
    phone.select_folder(folder, readonly=True)
    uids = phone.search(["ALL"])
    if not uids:
        return {}
    fetched = phone.fetch(uids, ["FLAGS"])
    return {uid: set(data[b"FLAGS"]) for uid, data in fetched.items()}


def _subjects_on_server(phone, folder: str) -> list[str]:
    phone.select_folder(folder, readonly=True)
    uids = phone.search(["ALL"])
    if not uids:
        return []
    fetched = phone.fetch(uids, ["ENVELOPE"])
    return sorted(data[b"ENVELOPE"].subject.decode() for data in fetched.values())


def _cached_uids(folder: Folder) -> list[int]:
    return sorted(Message.objects.filter(folder=folder).values_list("uid", flat=True))


def _cached_subjects(folder: Folder) -> list[str]:
    return sorted(
        Message.objects.filter(folder=folder).values_list("subject", flat=True)
    )


def _list_page(account, folder: Folder, language: str) -> str:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(account.user)
    answer = client.get(f"/mail/{account.id}/{folder.id}/")
    assert answer.status_code == 200
    return answer.content.decode()


def _expunged_under_a_stale_view(account, inbox: Folder, phone, act: Callable) -> None:
    """Have the phone expunge GONE while the worker's view of INBOX still
    lists them, then act at once.

    A change to message 5 leaves the worker's connection with INBOX selected
    and its view just checked; the phone's expunge follows within the
    second the worker trusts that view.
    """
    changes.mark_seen(account, inbox, [5])
    wait_for(lambda: _drained(account), what="the warm-up pushed")
    phone.select_folder("INBOX")
    phone.delete_messages(GONE)
    phone.expunge()
    act()
    wait_for(lambda: _drained(account), what="outbox drained")


def _the_notice(account, folder: Folder, english: str, japanese: str) -> None:
    """The user is told in plain words, in their language, without the
    server's own text."""
    op = PendingOperation.objects.filter(account=account).latest("id")
    assert op.state == "partial"
    assert op.payload["missing"] == GONE
    page = _list_page(account, folder, "en")
    assert english in page
    assert japanese in _list_page(account, folder, "ja")
    for server_words in ("secs", "EXPUNGEISSUED", "no longer exist", "refused"):
        assert server_words not in page


def test_a_move_meeting_messages_another_device_expunged_moves_the_rest(
    worker, server_user, other_device
):
    phone = other_device(server_user)
    phone.create_folder("Archive")
    fill(phone, "INBOX", 5)
    account = account_for(server_user)
    rows = _ready(account, "Archive")
    inbox, archive = rows["INBOX"], rows["Archive"]

    _expunged_under_a_stale_view(
        account,
        inbox,
        phone,
        lambda: changes.move_messages(account, inbox, ACTED_ON, archive),
    )

    assert _subjects_on_server(phone, "Archive") == ["msg 2", "msg 3"]
    assert _subjects_on_server(phone, "INBOX") == ["msg 4"]
    assert _cached_uids(inbox) == [5]
    wait_for(
        lambda: _cached_subjects(archive) == ["msg 2", "msg 3"], what="target synced"
    )
    _the_notice(
        account,
        inbox,
        "2 messages could not be moved to Archive because another device removed them.",
        "2 件のメッセージは別の端末で削除されたため、Archive に移動できませんでした。",
    )


def test_a_delete_meeting_messages_another_device_expunged_deletes_the_rest(
    worker, server_user, other_device
):
    phone = other_device(server_user)
    phone.create_folder("Trash")
    fill(phone, "INBOX", 5)
    account = account_for(server_user)
    rows = _ready(account, "Trash")
    Folder.objects.filter(id=rows["Trash"].id).update(special_use="\\Trash")
    inbox = rows["INBOX"]

    _expunged_under_a_stale_view(
        account,
        inbox,
        phone,
        lambda: changes.delete_messages(account, inbox, ACTED_ON),
    )

    assert _subjects_on_server(phone, "Trash") == ["msg 2", "msg 3"]
    assert _subjects_on_server(phone, "INBOX") == ["msg 4"]
    assert _cached_uids(inbox) == [5]
    _the_notice(
        account,
        inbox,
        "2 messages could not be moved to Trash because another device removed them.",
        "2 件のメッセージは別の端末で削除されたため、Trash に移動できませんでした。",
    )


def test_a_copy_meeting_messages_another_device_expunged_copies_the_rest(
    worker, server_user, other_device
):
    phone = other_device(server_user)
    phone.create_folder("Archive")
    fill(phone, "INBOX", 5)
    account = account_for(server_user)
    rows = _ready(account, "Archive")
    inbox, archive = rows["INBOX"], rows["Archive"]

    _expunged_under_a_stale_view(
        account,
        inbox,
        phone,
        lambda: changes.copy_messages(account, inbox, ACTED_ON, archive),
    )

    assert _subjects_on_server(phone, "Archive") == ["msg 2", "msg 3"]
    assert _subjects_on_server(phone, "INBOX") == ["msg 2", "msg 3", "msg 4"]
    # The messages gone from the server leave the list at once.
    assert _cached_uids(inbox) == [3, 4, 5]
    wait_for(
        lambda: _cached_subjects(archive) == ["msg 2", "msg 3"], what="target synced"
    )
    _the_notice(
        account,
        inbox,
        "2 messages could not be copied to Archive because another device "
        "removed them.",
        "2 件のメッセージは別の端末で削除されたため、"
        "Archive にコピーできませんでした。",
    )


def test_a_flag_change_meeting_messages_another_device_expunged_changes_the_rest(
    worker, server_user, other_device
):
    phone = other_device(server_user)
    fill(phone, "INBOX", 5)
    account = account_for(server_user)
    inbox = _ready(account)["INBOX"]

    _expunged_under_a_stale_view(
        account,
        inbox,
        phone,
        lambda: changes.set_flags(account, inbox, ACTED_ON, add=["\\Flagged"]),
    )

    server = _server_flags(phone)
    assert sorted(server) == [3, 4, 5]
    assert b"\\Flagged" in server[3] and b"\\Flagged" in server[4]
    assert b"\\Flagged" not in server[5]
    assert _cached_uids(inbox) == [3, 4, 5]
    flagged = Message.objects.filter(folder=inbox, flagged=True)
    assert sorted(flagged.values_list("uid", flat=True)) == [3, 4]
    _the_notice(
        account,
        inbox,
        "2 messages in INBOX could not be changed because another device removed them.",
        "INBOX の 2 件のメッセージは別の端末で削除されたため、変更できませんでした。",
    )


def test_starring_then_unstarring_at_once_keeps_the_preview(
    worker, imap_user, other_device
):
    """Both changes carry the MODSEQ the user saw, so the server refuses
    the second as a conflict; the message keeps its preview all the same.
    """
    phone = other_device(imap_user)
    phone.append("INBOX", message_bytes("note", "Bring the ladder.\n"))
    account = account_for(imap_user)
    inbox = _ready(account)["INBOX"]
    body = bodies.open_message(
        account, inbox, reading.get_message(inbox, 1), timeout=20
    )
    assert body.error is None
    wait_for(lambda: _preview(inbox, 1) == "Bring the ladder.", what="preview")
    user = account.user

    changes.flag_message(user, account.id, inbox.id, 1, add=["\\Flagged"])
    changes.flag_message(user, account.id, inbox.id, 1, remove=["\\Flagged"])

    wait_for(lambda: _drained(account), what="outbox drained")
    ops = PendingOperation.objects.filter(account=account).order_by("id")
    assert [op.state for op in ops] == ["done", "done"]
    assert _server_flags(phone)[1] == set()
    row = Message.objects.get(folder=inbox, uid=1)
    assert not row.flagged
    assert row.preview == "Bring the ladder."
    assert row.subject == "note"


def _preview(folder: Folder, uid: int) -> str:
    return Message.objects.get(folder=folder, uid=uid).preview
