"""Changes made elsewhere reach open pages: IDLE (or polling) and events."""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient

from tests.engine.conftest import account_for, fill
from webmail import events, mailbox, sync
from webmail.models import Folder, Message

pytestmark = pytest.mark.django_db(transaction=True)


def test_another_device_marking_read_reaches_open_pages(
    worker, server_user, other_device, subscribe
):
    phone = other_device(server_user)
    fill(phone, "INBOX", 2)
    account = account_for(server_user)
    sync.sync_folder_list(account.id)
    inbox = Folder.objects.get(account=account, name="INBOX")
    sync.sync_folder(account.id, inbox.id)
    listener = subscribe(account.user_id)

    mailbox.keep_watching(account.id, inbox.id)
    phone.select_folder("INBOX")
    phone.add_flags([2], [b"\\Seen"])

    event = listener.wait(lambda e: e["type"] == "flags" and 2 in e["uids"])
    assert event == {"type": "flags", "account": account.id, "folder": inbox.id,
                     "uids": [2]}  # fmt: skip
    assert Message.objects.get(folder=inbox, uid=2).seen

    # New mail is pushed too.
    phone.append("INBOX", b"Subject: fresh\r\n\r\nhello\r\n")
    listener.wait(lambda e: e["type"] == "new" and e["uids"] == [3])
    assert Message.objects.get(folder=inbox, uid=3).subject == "fresh"


def test_the_event_stream_sends_the_users_events(imap_user):
    account = account_for(imap_user)
    user = account.user

    async def read_stream() -> list[bytes]:
        client = AsyncClient()
        await client.aforce_login(user)
        response = await client.get(f"/events/?account={account.id}")
        assert response.status_code == 200
        assert response["Content-Type"] == "text/event-stream"
        chunks = response.streaming_content.__aiter__()
        received = [await chunks.__anext__()]  # "retry:"
        await sync_to_async(events.publish)(
            user.id, {"type": "folders", "account": account.id}
        )
        while not any(b"event: folders" in c for c in received):
            received.append(await asyncio.wait_for(chunks.__anext__(), 10))
        # Keep-alive comments follow, and the watching key is kept.
        received.append(await asyncio.wait_for(chunks.__anext__(), 10))
        await response.aclose() if hasattr(response, "aclose") else None
        return received

    received = asyncio.run(read_stream())
    data = next(c for c in received if b"event: folders" in c)
    payload = json.loads(data.split(b"data: ", 1)[1])
    assert payload == {"type": "folders", "account": account.id}
    assert events.watched_folder(account.id) == 0


def test_the_event_stream_needs_a_signed_in_owner(imap_user, make_imap_user):
    account = account_for(imap_user)
    other = account_for(make_imap_user())

    async def status(login) -> int:
        client = AsyncClient()
        if login is not None:
            await client.aforce_login(login)
        response = await client.get(f"/events/?account={account.id}")
        return response.status_code

    assert asyncio.run(status(None)) == 403
    assert asyncio.run(status(other.user)) == 404
