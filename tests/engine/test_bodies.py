"""Bodies in the worker: fetched, rendered, and kept in the cache within bounds.

These run the worker's code in the test process against a real Dovecot.
"""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client

from tests.engine.conftest import (
    account_for,
    fill,
    message_bytes,
    open_in_reader,
    seen_on_server,
    start_worker,
    synced_inbox,
    wait_for,
    wait_for_heartbeats,
)
from tests.mime.builders import newsletter
from webmail.engine import bodies as worker_bodies
from webmail.engine import folderlist, publish, sync
from webmail.mail import bodies, reading
from webmail.mail.waits import NO_WORKER
from webmail.models import Folder, Message, PendingOperation
from webmail.shared import bodycache, heartbeat

SLOW = "The mail server is slow to answer; try again in a moment."
BUSY = "The mail service is busy; try again in a moment."


@pytest.mark.django_db
@pytest.mark.usefixtures("_test_redis")
def test_a_body_too_large_for_the_cache_is_shown_but_not_kept(
    server_user, other_device, settings
):
    settings.BODY_CACHE_MAX_ITEM = 5_000
    phone = other_device(server_user)
    phone.append("INBOX", message_bytes("small", "A short note.\n"))
    phone.append("INBOX", message_bytes("large", "many words " * 1_000 + "\n"))
    account = account_for(server_user)
    folderlist.sync_folder_list(account.id)
    inbox = Folder.objects.get(account=account, name="INBOX")
    sync.sync_folder(account.id, inbox.id)
    inbox.refresh_from_db()  # the cache key carries its UIDVALIDITY

    large = worker_bodies.load_body(account.id, inbox.id, 2)
    assert large["text"].startswith("many words")
    assert bodycache.cached_body(account.id, inbox, 2) is None

    small = worker_bodies.load_body(account.id, inbox.id, 1)
    assert "A short note." in small["text"]
    assert bodycache.cached_body(account.id, inbox, 1) == small


@pytest.mark.django_db
@pytest.mark.usefixtures("_test_redis")
@pytest.mark.parametrize("encoding", ["8bit", "base64"])
def test_of_a_text_too_large_to_show_whole_its_start_is_shown(
    server_user, other_device, encoding
):
    phone = other_device(server_user)
    phone.append("INBOX", newsletter(worker_bodies.MAX_TEXT_PART + 1_000_000, encoding))
    account = account_for(server_user)
    folderlist.sync_folder_list(account.id)
    inbox = Folder.objects.get(account=account, name="INBOX")
    sync.sync_folder(account.id, inbox.id)
    inbox.refresh_from_db()

    body = worker_bodies.load_body(account.id, inbox.id, 1)
    assert body["truncated"] is True
    assert "Top story: the start of it all." in body["html"]
    assert "\ufffd" not in body["html"]
    assert len(body["raw_html"]) <= worker_bodies.TEXT_PART_START
    assert bodycache.cached_body(account.id, inbox, 1) == body
    state = bodies.body_state(account.id, inbox, 1, body)
    assert state.truncated and not state.error


@pytest.mark.django_db(transaction=True)
def test_new_mail_is_ready_to_open_before_anyone_opens_it(
    worker, server_user, other_device, settings
):
    settings.BODY_PREFETCH = 2
    phone = other_device(server_user)
    account = account_for(server_user)
    folderlist.sync_folder_list(account.id)
    inbox = Folder.objects.get(account=account, name="INBOX")
    sync.sync_folder(account.id, inbox.id)
    for n, words in enumerate(("Early harvest.", "Late frost.", "Spring rain.")):
        phone.append("INBOX", message_bytes(f"news {n}", words + "\n"))

    # The sync that finds them (here as a page view's or the watcher's)
    # has the worker render the newest two before anyone opens them.
    publish.sync_and_publish(account.id, inbox.id)
    inbox.refresh_from_db()
    body = wait_for(lambda: bodycache.cached_body(account.id, inbox, 3), what="body")
    assert "Spring rain." in body["text"]
    wait_for(lambda: bodycache.cached_body(account.id, inbox, 2), what="second body")
    assert bodycache.cached_body(account.id, inbox, 1) is None
    # The list shows their text, and the server still has them unread.
    assert Message.objects.get(folder=inbox, uid=3).preview == "Spring rain."
    phone.select_folder("INBOX", readonly=True)
    flags = phone.fetch([1, 2, 3], ["FLAGS"])
    assert all(b"\\Seen" not in data[b"FLAGS"] for data in flags.values())


@pytest.mark.django_db(transaction=True)
def test_the_worker_hands_over_the_body_and_fills_the_list_preview(
    worker, imap_user, other_device
):
    phone = other_device(imap_user)
    phone.append("INBOX", message_bytes("note", "Bring the ladder.\n"))
    account = account_for(imap_user)
    inbox = synced_inbox(account)

    body = bodies.open_message(
        account, inbox, reading.get_message(inbox, 1), timeout=20
    )

    assert body.error is None
    assert "Bring the ladder." in (body.text or "")
    assert bodycache.cached_body(account.id, inbox, 1) is not None
    # Written once the reader has its body.
    wait_for(
        lambda: Message.objects.get(folder=inbox, uid=1).preview == "Bring the ladder.",
        what="preview",
    )


@pytest.mark.django_db(transaction=True)
def test_with_the_worker_stopped_the_pane_and_the_frame_say_so_at_once(
    worker, imap_user, other_device
):
    fill(other_device(imap_user), "INBOX", 1)
    account = account_for(imap_user)
    inbox = synced_inbox(account)
    worker.stop()
    # The worker's own first sync of the account may have rendered it ahead.
    cache.delete(bodycache.cache_key(account.id, inbox, 1))
    client = Client()
    client.force_login(account.user)
    try:
        started = time.monotonic()
        pane = open_in_reader(account, inbox, 1)
        waited = time.monotonic() - started
        frame = client.get(f"/mail/{account.id}/{inbox.id}/1/body")
    finally:
        start_worker(worker)

    assert NO_WORKER in pane
    assert waited < 1.5
    # The frame says it too, and is no empty page that looks like a message.
    assert frame.status_code == 503
    assert NO_WORKER in frame.content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_is_known_to_be_gone_within_seconds(
    worker, imap_user, other_device
):
    fill(other_device(imap_user), "INBOX", 1)
    account = account_for(imap_user)
    inbox = synced_inbox(account)
    worker.kill()  # no word to anyone, as the OOM killer would
    cache.delete(bodycache.cache_key(account.id, inbox, 1))
    time.sleep(heartbeat.TTL)
    try:
        started = time.monotonic()
        body = bodies.open_message(
            account, inbox, reading.get_message(inbox, 1), timeout=20
        )
        waited = time.monotonic() - started
    finally:
        start_worker(worker)

    assert body.error == NO_WORKER
    assert waited < 1.5


@pytest.mark.django_db(transaction=True)
def test_the_worker_opens_bodies_after_the_database_dropped_its_connections(
    worker, imap_user, other_device
):
    if connection.vendor != "postgresql":
        pytest.skip("Only a database server can drop a connection.")
    fill(other_device(imap_user), "INBOX", 6)
    account = account_for(imap_user)
    inbox = synced_inbox(account)
    assert (
        bodies.open_message(
            account, inbox, reading.get_message(inbox, 1), timeout=20
        ).error
        is None
    )

    # As a restart of PostgreSQL would: every other session ends.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )

    for uid in range(2, 7):
        body = bodies.open_message(
            account, inbox, reading.get_message(inbox, uid), timeout=20
        )
        assert body.error is None, (uid, body.error)
        assert "Hello there." in (body.text or "")


@pytest.mark.django_db(transaction=True)
def test_with_redis_down_the_reader_hears_the_service_is_busy(
    worker, imap_user, other_device, redis_server
):
    fill(other_device(imap_user), "INBOX", 1)
    account = account_for(imap_user)
    inbox = synced_inbox(account)
    redis_server.kill()
    try:
        started = time.monotonic()
        body = bodies.fetch_through_worker(account.id, inbox.id, 1, timeout=20)
        waited = time.monotonic() - started
    finally:
        redis_server.start()

    assert body == {"error": BUSY}
    assert waited < 10
    # Once Redis is back (and the worker has found it again), bodies come.
    wait_for_heartbeats()
    body = bodies.open_message(
        account, inbox, reading.get_message(inbox, 1), timeout=90
    )
    assert "Hello there." in (body.text or "")


@pytest.mark.django_db(transaction=True)
def test_unread_mail_the_worker_fetches_is_read_in_the_pane_cache_and_on_the_server(
    worker, imap_user, other_device
):
    phone = other_device(imap_user)
    phone.append("INBOX", message_bytes("note", "Bring the ladder.\n"))
    account = account_for(imap_user)
    inbox = synced_inbox(account)
    cache.delete(bodycache.cache_key(account.id, inbox, 1))
    assert inbox.unseen == 1

    pane = open_in_reader(account, inbox, 1)

    # The pane and the list's row show it read at once; the worker marks it
    # once it has handed the body over, and pushes that to the server.
    assert ">note</h2>" in pane and 'class="notice error' not in pane
    assert "Bring the ladder." in bodycache.cached_body(account.id, inbox, 1)["text"]
    row = pane[pane.index('<li id="m1"') :]
    assert "unread" not in row[: row.index(">")]
    wait_for(lambda: Message.objects.get(folder=inbox, uid=1).seen, what="read")
    assert Folder.objects.get(id=inbox.id).unseen == 0
    wait_for(lambda: seen_on_server(phone, 1), what="\\Seen on the server")


@pytest.mark.django_db(transaction=True)
def test_a_message_gone_from_the_server_when_opened_is_not_marked_read(
    worker, imap_user, other_device
):
    phone = other_device(imap_user)
    fill(phone, "INBOX", 2)
    account = account_for(imap_user)
    inbox = synced_inbox(account)
    cache.delete_many([bodycache.cache_key(account.id, inbox, uid) for uid in (1, 2)])
    phone.select_folder("INBOX")
    phone.delete_messages([1])
    phone.expunge()

    pane = open_in_reader(account, inbox, 1)
    # Another message opened after it: once that one is marked read, the
    # worker is past the point where it would have marked the first.
    open_in_reader(account, inbox, 2)
    wait_for(lambda: Message.objects.get(folder=inbox, uid=2).seen, what="read")

    assert 'class="notice error' in pane
    assert not Message.objects.get(folder=inbox, uid=1).seen
    assert not PendingOperation.objects.filter(account=account, uids=[1]).exists()


@pytest.mark.django_db(transaction=True)
def test_a_body_whose_reader_gave_up_waiting_is_not_fetched_late(
    worker, imap_user, other_device, settings
):
    settings.BODY_FETCH_TIMEOUT = 1
    fill(other_device(imap_user), "INBOX", 2)
    account = account_for(imap_user)
    inbox = synced_inbox(account)
    cache.delete_many([bodycache.cache_key(account.id, inbox, uid) for uid in (1, 2)])
    # Killed a moment ago: its heartbeat has not run out yet, so the page
    # still asks it, and its request waits in the queue.
    worker.kill()
    try:
        pane = open_in_reader(account, inbox, 1)
        time.sleep(1)  # the request's time runs out
    finally:
        start_worker(worker)
    assert SLOW in pane

    # The restarted worker drops the request instead of fetching the body
    # (and marking it read) long after the reader was told it could not be.
    # Long enough for the restarted worker to come up on a loaded machine
    # (a request it reaches after its time is dropped, as message 1's is).
    settings.BODY_FETCH_TIMEOUT = 120
    open_in_reader(account, inbox, 2)
    # The queue is first in, first out: once message 2's body is in the
    # cache, a request for message 1 still queued would have run before it.
    wait_for(
        lambda: bodycache.cached_body(account.id, inbox, 2), timeout=150, what="body"
    )
    assert bodycache.cached_body(account.id, inbox, 1) is None
    assert not Message.objects.get(folder=inbox, uid=1).seen
