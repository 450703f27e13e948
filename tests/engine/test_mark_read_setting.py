"""The mark-read setting on a real server: "never" leaves mail unread there."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import MarkRead, Preference
from tests.engine.conftest import account_for, fill, wait_for
from webmail.engine import folderlist, sync
from webmail.models import Folder, Message

pytestmark = pytest.mark.django_db(transaction=True)


def _server_flags(phone, uid: int) -> tuple:
    phone.select_folder("INBOX", readonly=True)
    return phone.fetch([uid], ["FLAGS"])[uid][b"FLAGS"]


def test_never_leaves_an_opened_message_unread_on_the_server(
    worker, imap_user, other_device
):
    phone = other_device(imap_user)
    fill(phone, "INBOX", 2)
    account = account_for(imap_user)
    Preference.objects.create(user=account.user, mark_read=MarkRead.NEVER)
    folderlist.sync_folder_list(account.id)
    inbox = Folder.objects.get(account=account, name="INBOX")
    sync.sync_folder(account.id, inbox.id)
    client = Client()
    client.force_login(account.user)

    base = f"/mail/{account.id}/{inbox.id}/2/"
    page = client.get(base)
    assert page.status_code == 200
    assert "msg 1" in page.content.decode()
    # A later change to the same message goes through the same outbox: once
    # it is on the server, a \Seen from the opening would be there too.
    client.post(base + "flag", {"flagged": "1"})
    wait_for(lambda: b"\\Flagged" in _server_flags(phone, 2), what="the star")
    assert b"\\Seen" not in _server_flags(phone, 2)
    assert not Message.objects.get(folder=inbox, uid=2).seen
