"""What a user sees is the same on every IMAP server: Dovecot, Cyrus, Courier.

Each test runs on the full Dovecot, the Dovecot whose folders are under
"INBOX.", Cyrus 3.6 and Courier 5.0 (the last two marked slow), and checks
what the webmail did from a second IMAP connection (the user's phone).
The sync runs in the test process; the worker runs the same code.
"""

from __future__ import annotations

import pytest

from tests.engine.conftest import account_for, fill, message_bytes
from webmail.engine import folderlist, sync
from webmail.models import Folder, Message


def _inbox(account) -> Folder:
    folderlist.sync_folder_list(account.id)
    return Folder.objects.get(account=account, name="INBOX")


def _subjects(folder: Folder) -> list[str]:
    rows = Message.objects.filter(folder=folder).order_by("uid")
    return list(rows.values_list("subject", flat=True))


@pytest.mark.django_db
def test_mail_deleted_by_another_client_leaves_the_list(any_imap_user, other_device):
    phone = other_device(any_imap_user)
    fill(phone, "INBOX", 5)
    account = account_for(any_imap_user)
    inbox = _inbox(account)
    sync.sync_folder(account.id, inbox.id)
    assert len(_subjects(inbox)) == 5

    # The newest ones too: Cyrus reads "*" as the highest UID left.
    phone.select_folder("INBOX")
    uids = sorted(phone.search("ALL"))
    phone.delete_messages([uids[1], uids[3], uids[4]])
    phone.expunge()

    sync.sync_folder(account.id, inbox.id)
    assert _subjects(inbox) == ["msg 0", "msg 2"]
    inbox.refresh_from_db()
    assert inbox.total == 2


@pytest.mark.django_db
def test_only_new_mail_is_announced_as_new(any_imap_user, other_device):
    phone = other_device(any_imap_user)
    fill(phone, "INBOX", 3)
    account = account_for(any_imap_user)
    inbox = _inbox(account)
    sync.sync_folder(account.id, inbox.id)

    # Nothing happened: a poll finds nothing new.
    assert sync.sync_folder(account.id, inbox.id).new == []

    phone.append("INBOX", message_bytes("fresh"))
    result = sync.sync_folder(account.id, inbox.id)
    assert len(result.new) == 1
    assert _subjects(inbox)[-1] == "fresh"
    assert sync.sync_folder(account.id, inbox.id).new == []
