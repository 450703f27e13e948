"""Changes made elsewhere reach open pages: IDLE (or polling) and events."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient

from tests.engine.conftest import (
    account_for,
    fill,
    message_bytes,
    restarted_with,
    synced_inbox,
    wait_for,
    watched_on_archive,
)
from webmail.engine import connections, folderlist, sync
from webmail.imap.types import FolderStatus
from webmail.mail import changes, watching
from webmail.models import Folder, Message
from webmail.shared import events

pytestmark = pytest.mark.django_db(transaction=True)


def test_another_device_marking_read_reaches_open_pages(
    worker, server_user, other_device, subscribe
):
    phone = other_device(server_user)
    fill(phone, "INBOX", 2)
    account = account_for(server_user)
    folderlist.sync_folder_list(account.id)
    inbox = Folder.objects.get(account=account, name="INBOX")
    sync.sync_folder(account.id, inbox.id)
    listener = subscribe(account.user_id)

    watching.keep_watching(account.id, inbox.id)
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


@pytest.fixture
def slow_poll_worker(worker, server_user):
    """The worker with full syncs and folder-list reads ten minutes apart.

    News of INBOX can then reach a page only through NOTIFY (the full
    Dovecot; its STATUS check is ten minutes apart too) or the STATUS check
    of INBOX (the reduced one, every 2 seconds).
    """
    check = 600 if server_user.server.variant == "full" else 2
    with restarted_with(worker, IMAP_POLL_INTERVAL="600", IMAP_INBOX_CHECK=str(check)):
        yield check


def test_new_mail_in_inbox_reaches_a_page_open_on_another_folder(
    slow_poll_worker, server_user, other_device, subscribe
):
    phone = other_device(server_user)
    account, inbox, archive, listener = watched_on_archive(
        server_user, phone, subscribe
    )

    for uid in (2, 3):
        sent = time.monotonic()
        phone.append("INBOX", message_bytes(f"news {uid}"))
        event = listener.wait(
            lambda e, uid=uid: e["type"] == "new" and e["uids"] == [uid], 15
        )
        took = time.monotonic() - sent
        assert event == {"type": "new", "account": account.id, "folder": inbox.id,
                         "uids": [uid]}  # fmt: skip
        assert Message.objects.get(folder=inbox, uid=uid).subject == f"news {uid}"
        if server_user.server.variant == "full":
            assert took < 5, f"NOTIFY took {took:.1f} s"  # checks are 600 s apart
        else:
            assert took < slow_poll_worker + 5, f"the STATUS check took {took:.1f} s"
    # The viewed folder still gets its news. (Without CONDSTORE, STATUS
    # shows a change of \Seen through UNSEEN, but not one of \Flagged,
    # which waits for the full sync every IMAP_POLL_INTERVAL.)
    phone.select_folder("Archive")
    phone.remove_flags([1], [b"\\Seen"])
    listener.wait(lambda e: e["type"] == "flags" and e["folder"] == archive.id, 15)


def test_notify_news_does_not_confuse_other_answers(imap_user, other_device):
    """STATUS news of INBOX is kept for noop(), not taken as another answer."""
    phone = other_device(imap_user)
    fill(phone, "Archive", 2)
    account = account_for(imap_user)
    with connections.account_session(account.id, idle=True) as session:
        session.open_folder("Archive")
        (start,) = session.notify_changes(["INBOX"])
        assert (start.folder, start.messages, start.uidnext) == ("INBOX", 0, 1)

        phone.append("INBOX", message_bytes("news"))
        # Dovecot sends the news within a fraction of a second; it then
        # waits in the socket for the next answer, which must not take it.
        time.sleep(1)
        counts = session.status("Archive", ("MESSAGES", "UIDNEXT"))
        assert counts == {"MESSAGES": 2, "UIDNEXT": 3}
        news = wait_for(
            lambda: [e for e in session.noop() if isinstance(e, FolderStatus)]
        )
    assert (news[-1].folder, news[-1].messages, news[-1].uidnext) == ("INBOX", 1, 2)


@pytest.fixture
def quiet_worker(worker):
    """The worker with its full syncs and folder lists ten minutes apart."""
    with restarted_with(worker, IMAP_POLL_INTERVAL="600"):
        yield worker


def _settled_sync_time(folder: Folder) -> object:
    """The folder's last sync time, once no sync has come for two seconds.

    A watcher that starts syncs the folder, and again after its first
    folder list (about a second later).
    """
    last = None
    while (now := Folder.objects.get(id=folder.id).synced_at) != last:
        last = now
        time.sleep(2)
    return last


def test_the_webmails_own_change_coming_back_is_not_synced_again(
    quiet_worker, imap_user, other_device
):
    phone = other_device(imap_user)
    fill(phone, "INBOX", 3)
    account = account_for(imap_user)
    inbox = synced_inbox(account)
    watching.keep_watching(account.id, inbox.id)
    phone.select_folder("INBOX")
    phone.add_flags([1], [b"\\Seen"])
    wait_for(lambda: Message.objects.get(folder=inbox, uid=1).seen, what="watching")
    synced_at = _settled_sync_time(inbox)
    modseq = Message.objects.get(folder=inbox, uid=2).modseq

    changes.set_flags(account, inbox, [2], add=["\\Flagged"])

    # The server reports the star back; the watcher only notes the
    # message's new MODSEQ, without a sync of the folder.
    wait_for(
        lambda: Message.objects.get(folder=inbox, uid=2).modseq > modseq,
        what="the new MODSEQ",
    )
    assert Folder.objects.get(id=inbox.id).synced_at == synced_at
    # So the next change to it is no conflict; another device's is synced.
    changes.set_flags(account, inbox, [2], remove=["\\Flagged"])
    phone.add_flags([3], [b"\\Seen"])
    wait_for(lambda: Message.objects.get(folder=inbox, uid=3).seen, what="phone")
    wait_for(
        lambda: b"\\Flagged" not in phone.fetch([2], ["FLAGS"])[2][b"FLAGS"],
        what="the unstar on the server",
    )
    assert Folder.objects.get(id=inbox.id).synced_at > synced_at
    assert not Message.objects.get(folder=inbox, uid=2).flagged
