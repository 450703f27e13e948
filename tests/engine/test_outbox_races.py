"""The outbox meets changes made a moment before, by the user or another device.

Against a real Dovecot and the real worker; the phone is a second IMAP
connection.
"""

from __future__ import annotations

import pytest

from tests.engine.conftest import account_for, message_bytes, wait_for
from webmail.engine import backfill, folderlist, sync
from webmail.mail import bodies, changes, reading
from webmail.models import Folder, Message, PendingOperation

pytestmark = pytest.mark.django_db(transaction=True)


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
