"""Mail accounts on the test Dovecots, and a worker that can reach them.

The worker process reads its settings from the environment, so the test CA
and the permission to use 127.0.0.1 as a mail host are put there (and the
worker restarted if it was started without them).
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import redis
from django.conf import settings
from django.test import Client, override_settings

from accounts.models import MailAccount, User
from devtools.celery_worker import CeleryWorker
from tests.fixtures.servers import ImapUser
from webmail.engine import connections, folderlist, sync
from webmail.mail import watching
from webmail.models import Folder
from webmail.shared import events
from webmail.shared.heartbeat import shard_key

WORKER_ENV = {
    "MAIL_ALLOWED_PRIVATE_HOSTS": "127.0.0.1",
    "IMAP_POLL_INTERVAL": "1",
    "EVENTS_KEEPALIVE": "1",
    # Generous: a loaded 2-core machine has taken over 5 s for a TLS handshake.
    "MAIL_CONNECT_TIMEOUT": "10",
    "IMAP_POOL_WAIT": "20",
}


@pytest.fixture(scope="session")
def engine_env(mail_certs: Any) -> dict[str, str]:
    env = {**WORKER_ENV, "MAIL_CA_FILE": str(mail_certs.ca_cert)}
    os.environ.update(env)
    return env


@pytest.fixture(autouse=True)
def engine_settings(engine_env: dict[str, str]) -> Iterator[None]:
    """The settings of this process match the worker's."""
    with override_settings(
        MAIL_CA_FILE=engine_env["MAIL_CA_FILE"],
        MAIL_ALLOWED_PRIVATE_HOSTS=["127.0.0.1"],
        IMAP_POLL_INTERVAL=1,
        EVENTS_KEEPALIVE=1,
        MAIL_CONNECT_TIMEOUT=10,
    ):
        yield
    # Connections this process opened (tests that sync in-process).
    connections.close_pool()


@pytest.fixture
def worker(engine_env: dict[str, str], celery_worker: CeleryWorker) -> CeleryWorker:
    """The session's real worker, running with the engine's settings."""
    if any(celery_worker.env.get(k) != v for k, v in engine_env.items()):
        celery_worker.env.update(engine_env)
        celery_worker.restart()
    elif not celery_worker.alive():
        celery_worker.start()
    wait_for_heartbeats()
    return celery_worker


@contextlib.contextmanager
def restarted_with(worker: CeleryWorker, **env: str) -> Iterator[None]:
    """Run the worker with these settings, then leave it stopped."""
    saved = dict(worker.env)
    worker.env.update(env)
    worker.restart()
    try:
        yield
    finally:
        worker.env.clear()
        worker.env.update(saved)
        worker.stop()  # the next test's worker fixture starts it as usual


def start_worker(worker: CeleryWorker) -> None:
    """Start the worker again and wait until the pages see it serve its shards."""
    worker.start()
    wait_for_heartbeats()


def wait_for_heartbeats(timeout: float = 60) -> None:
    """Wait until every shard queue has a worker's heartbeat (a worker is ready)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = [shard_key(f"imap.{n}") for n in range(settings.IMAP_SHARDS)]
    try:
        wait_for(lambda: client.exists(*keys) == len(keys), timeout, "heartbeats")
    finally:
        client.close()


def synced_inbox(account: MailAccount) -> Folder:
    """Sync the account's folder list and INBOX in this process; return INBOX."""
    folderlist.sync_folder_list(account.id)
    inbox = Folder.objects.get(account=account, name="INBOX")
    sync.sync_folder(account.id, inbox.id)
    inbox.refresh_from_db()  # a body's cache key carries its UIDVALIDITY
    return inbox


def account_for(imap_user: ImapUser, **overrides: Any) -> MailAccount:
    """Create a webmail user with a mail account on the test Dovecot."""
    server = imap_user.server
    user = User.objects.create_user(
        username=f"u{uuid.uuid4().hex[:10]}", password="unused-password-1"
    )
    account = MailAccount(
        user=user,
        email=imap_user.address,
        imap_host=server.host,
        imap_port=server.imaps_port,
        imap_security="ssl",
        imap_username=imap_user.username,
    )
    account.imap_password = overrides.pop("password", imap_user.password)
    for key, value in overrides.items():
        setattr(account, key, value)
    account.save()
    return account


def message_bytes(subject: str, body: str = "Hello there.\n") -> bytes:
    return (
        f"From: Alice <alice@example.org>\r\nTo: bob@example.org\r\n"
        f"Subject: {subject}\r\nMessage-ID: <{uuid.uuid4().hex}@example.org>\r\n"
        f"Date: Sat, 28 Nov 2026 10:00:00 +0900\r\n\r\n{body}"
    ).encode()


def fill(client: Any, folder: str, count: int, prefix: str = "msg") -> None:
    """APPEND count small messages to a folder (as another client would)."""
    for n in range(count):
        client.append(folder, message_bytes(f"{prefix} {n}"))


def wait_for(check: Callable[[], Any], timeout: float = 20, what: str = "") -> Any:
    """Poll check() until it returns something true; fail after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"Timed out waiting for {what or check}")


class Subscriber:
    """Listens on a user's event channel, as the SSE view does."""

    def __init__(self, user_id: int) -> None:
        self.client = redis.Redis.from_url(settings.REDIS_URL)
        self.pubsub = self.client.pubsub()
        self.pubsub.subscribe(events.user_channel(user_id))
        self.pubsub.get_message(timeout=1)  # the subscribe confirmation

    def wait(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 20):
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            message = self.pubsub.get_message(
                ignore_subscribe_messages=True, timeout=0.5
            )
            if message and message["type"] == "message":
                event = json.loads(message["data"])
                seen.append(event)
                if predicate(event):
                    return event
        pytest.fail(f"No matching event; saw {seen}")

    def close(self) -> None:
        self.pubsub.close()
        self.client.close()


@pytest.fixture
def subscribe() -> Iterator[Callable[[int], Subscriber]]:
    subscribers: list[Subscriber] = []

    def make(user_id: int) -> Subscriber:
        subscriber = Subscriber(user_id)
        subscribers.append(subscriber)
        return subscriber

    yield make
    for subscriber in subscribers:
        subscriber.close()


@pytest.fixture(params=["full", "reduced"])
def server_user(request: pytest.FixtureRequest) -> ImapUser:
    """A fresh mailbox on the full Dovecot, then on the reduced one."""
    name = "imap_user" if request.param == "full" else "imap_user_reduced"
    return request.getfixturevalue(name)


WAIT_URL = re.compile(r'hx-get="([^"]+/wait/[^"]+)"')


def open_in_reader(account: MailAccount, folder: Folder, uid: int) -> str:
    """Open a message in the reading pane as the page does; return the pane.

    A pane still loading its body asks for itself again (hx-trigger
    "load"), and that second answer is returned.
    """
    client = Client()
    client.force_login(account.user)
    headers = {"HX-Request": "true", "HX-Target": "reader"}
    answer = client.get(f"/mail/{account.id}/{folder.id}/{uid}/", headers=headers)
    assert answer.status_code == 200
    pane = answer.content.decode()
    waiting = WAIT_URL.search(pane)
    if waiting:
        # An async view: the test client runs it in an event loop of its
        # own, which it cannot start in a thread that has one (Playwright's).
        with ThreadPoolExecutor(1) as thread:
            answer = thread.submit(
                client.get, html.unescape(waiting.group(1)), headers=headers
            ).result()
        assert answer.status_code == 200
        pane = answer.content.decode()
    return pane


def seen_on_server(phone: Any, uid: int) -> bool:
    """Whether the other device sees the message read."""
    phone.select_folder("INBOX", readonly=True)
    return b"\\Seen" in phone.fetch([uid], ["FLAGS"])[uid][b"FLAGS"]


def watched_on_archive(
    user: ImapUser, phone: Any, subscribe: Callable[[int], Subscriber]
) -> tuple[MailAccount, Folder, Folder, Subscriber]:
    """A page open on Archive, whose watch is at work (it pushed a flag change).

    Returns the account, INBOX, Archive and the user's event listener.
    """
    fill(phone, "INBOX", 1)
    fill(phone, "Archive", 1)
    account = account_for(user)
    folderlist.sync_folder_list(account.id)
    inbox = Folder.objects.get(account=account, name="INBOX")
    archive = Folder.objects.get(account=account, name="Archive")
    sync.sync_folder(account.id, inbox.id)
    sync.sync_folder(account.id, archive.id)
    listener = subscribe(account.user_id)
    watching.keep_watching(account.id, archive.id)
    phone.select_folder("Archive")
    phone.add_flags([1], [b"\\Seen"])
    listener.wait(lambda e: e["type"] == "flags" and e["folder"] == archive.id, 30)
    return account, inbox, archive, listener
