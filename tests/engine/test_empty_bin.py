"""Emptying Trash from the page removes its mail on the server."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.engine.conftest import account_for, fill, wait_for
from webmail.engine import folderlist, sync
from webmail.models import Folder, Message, PendingOperation

pytestmark = pytest.mark.django_db(transaction=True)


def test_emptying_trash_reaches_the_server(worker, imap_user, other_device):
    phone = other_device(imap_user)
    phone.create_folder("Trash")
    fill(phone, "Trash", 3, prefix="old")
    fill(phone, "INBOX", 1)
    account = account_for(imap_user)
    folderlist.sync_folder_list(account.id)
    trash = Folder.objects.get(account=account, name="Trash")
    Folder.objects.filter(id=trash.id).update(special_use="\\Trash")
    sync.sync_folder(account.id, trash.id)
    assert Message.objects.filter(folder=trash).count() == 3
    client = Client()
    client.force_login(account.user)
    url = f"/mail/{account.id}/folders/{trash.id}/empty"

    assert (
        "Its 3 messages will be deleted for good." in client.get(url).content.decode()
    )
    phone.select_folder("Trash", readonly=True)
    assert len(phone.search(["ALL"])) == 3

    assert client.post(url).status_code == 302

    def trash_on_server() -> list[int]:
        phone.select_folder("Trash", readonly=True)
        return list(phone.search(["ALL"]))

    wait_for(lambda: trash_on_server() == [], what="Trash empty on the server")
    wait_for(
        lambda: not PendingOperation.objects.filter(state="pending").exists(),
        what="the outbox drained",
    )
    phone.select_folder("INBOX", readonly=True)
    assert len(phone.search(["ALL"])) == 1
