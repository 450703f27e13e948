"""Bulk actions reach the server: "mark all read" on a real Dovecot."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.engine.conftest import account_for, fill, wait_for
from webmail.engine import backfill, folderlist, sync
from webmail.mail import bulk
from webmail.models import Folder, Message, PendingOperation

pytestmark = pytest.mark.django_db(transaction=True)


def _unseen_on_server(phone) -> list[int]:
    phone.select_folder("INBOX", readonly=True)
    return list(phone.search(["UNSEEN"]))


def test_marking_all_120_messages_read_reaches_the_server(
    worker, imap_user, other_device, monkeypatch
):
    # Small chunks, so that the folder goes to the server in three operations.
    monkeypatch.setattr(bulk, "CHUNK", 50)
    phone = other_device(imap_user)
    fill(phone, "INBOX", 120)
    account = account_for(imap_user)
    folderlist.sync_folder_list(account.id)
    inbox = Folder.objects.get(account=account, name="INBOX")
    sync.sync_folder(account.id, inbox.id)
    inbox.refresh_from_db()
    while not inbox.complete:  # the first sync loads the newest 100
        backfill.backfill_folder(account.id, inbox.id)
        inbox.refresh_from_db()
    assert Message.objects.filter(folder=inbox, seen=False).count() == 120
    assert len(_unseen_on_server(phone)) == 120
    client = Client()
    client.force_login(account.user)

    response = client.post(
        f"/mail/{account.id}/{inbox.id}/bulk",
        {"action": "read", "all": "1"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="list",
    )
    assert response.status_code == 200
    assert "120 messages marked read." in response.content.decode()
    sizes = [len(op.uids) for op in PendingOperation.objects.filter(account=account)]
    assert sizes == [50, 50, 20]
    wait_for(lambda: not _unseen_on_server(phone), what="\\Seen on all 120")
    wait_for(
        lambda: (
            not PendingOperation.objects.filter(
                account=account, state="pending"
            ).exists()
        ),
        what="the outbox drained",
    )
    assert not Message.objects.filter(folder=inbox, seen=False).exists()


def test_copying_a_selection_leaves_it_and_puts_copies_in_the_folder(
    worker, imap_user, other_device
):
    phone = other_device(imap_user)
    fill(phone, "INBOX", 3)
    account = account_for(imap_user)
    folderlist.sync_folder_list(account.id)
    inbox = Folder.objects.get(account=account, name="INBOX")
    archive = Folder.objects.get(account=account, name="Archive")
    sync.sync_folder(account.id, inbox.id)
    client = Client()
    client.force_login(account.user)

    response = client.post(
        f"/mail/{account.id}/{inbox.id}/bulk",
        {"action": "copy", "target": archive.id, "uid": ["1", "3"]},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="list",
    )

    assert "2 messages copied to Archive." in response.content.decode()
    # Still in the inbox, in the list and on the server.
    assert Message.objects.filter(folder=inbox).count() == 3

    def copies() -> int:
        phone.select_folder("Archive", readonly=True)
        return len(phone.search(["ALL"]))

    wait_for(lambda: copies() == 2, what="two copies in Archive")
    phone.select_folder("INBOX", readonly=True)
    assert len(phone.search(["ALL"])) == 3


def test_a_copy_without_a_folder_is_refused(imap_user):
    account = account_for(imap_user)
    folderlist.sync_folder_list(account.id)
    inbox = Folder.objects.get(account=account, name="INBOX")
    client = Client()
    client.force_login(account.user)
    response = client.post(
        f"/mail/{account.id}/{inbox.id}/bulk",
        {"action": "copy", "uid": ["1"]},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="list",
    )
    assert "Pick a folder to copy the messages to." in response.content.decode()
    assert not PendingOperation.objects.filter(account=account).exists()
