"""A folder deleted by another client while a page has it open: the watch
moves to INBOX, the folder list keeps following the server, and the page is
sent to the inbox with a note."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.engine.conftest import account_for, message_bytes, wait_for
from webmail.engine import folderlist
from webmail.mail import watching
from webmail.models import Folder, Message

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_watch_leaves_a_folder_another_device_deleted(
    worker, server_user, other_device, subscribe
):
    phone = other_device(server_user)
    phone.create_folder("Doomed")
    account = account_for(server_user)
    folderlist.sync_folder_list(account.id)
    doomed = Folder.objects.get(account=account, name="Doomed")
    listener = subscribe(account.user_id)
    # The page has the folder open, and keeps saying so.
    watching.keep_watching(account.id, doomed.id)
    wait_for(lambda: server_user.server.who(server_user.username) >= 1)

    phone.delete_folder("Doomed")
    listener.wait(lambda e: e["type"] == "folders", 15)
    wait_for(lambda: not Folder.objects.filter(id=doomed.id).exists(), 15)
    watching.keep_watching(account.id, doomed.id)  # the page, not yet moved

    # The folder list still follows the server, and INBOX is pushed to.
    phone.create_folder("Fresh")
    wait_for(
        lambda: Folder.objects.filter(account=account, name="Fresh").exists(),
        15,
        what="a new folder in the list",
    )
    phone.append("INBOX", message_bytes("still pushed"))
    inbox = Folder.objects.get(account=account, name="INBOX")
    wait_for(
        lambda: Message.objects.filter(folder=inbox, subject="still pushed").exists(),
        15,
        what="INBOX still watched",
    )


def test_the_page_of_a_deleted_folder_moves_to_the_inbox_and_says_so(imap_user):
    account = account_for(imap_user)
    folderlist.sync_folder_list(account.id)
    client = Client()
    client.force_login(account.user)

    # The list's refresh after the "folders" event, for a folder gone.
    answer = client.get(
        f"/mail/{account.id}/999999/",
        headers={"HX-Request": "true", "HX-Target": "list"},
    )
    assert answer.status_code == 404
    assert answer.headers["HX-Redirect"] == f"/mail/{account.id}/?gone=1"

    page = client.get(f"/mail/{account.id}/?gone=1", follow=True).content.decode()
    assert "was deleted or renamed in another app" in page
