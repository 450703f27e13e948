"""What watching open accounts costs the mail server and the worker.

An account whose pages are open but that nobody acts on holds one IMAP
connection (its IDLE one, or the one its folders are polled on), and many
such accounts share a few worker threads, not one each.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.engine.conftest import account_for, message_bytes, wait_for
from webmail.engine import hub
from webmail.mail import watching
from webmail.models import Folder, Message

pytestmark = pytest.mark.django_db(transaction=True)

WATCHED = 24


def _threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError("no thread count")


def test_a_watched_account_holds_one_connection_and_sees_new_folders(
    worker, server_user, other_device, subscribe
):
    account = account_for(server_user)
    server = server_user.server
    listener = subscribe(account.user_id)
    watching.keep_watching(account.id, None)
    # The watch reads the folder list itself, on its own connection.
    wait_for(lambda: Folder.objects.filter(account=account, name="INBOX").exists())

    phone = other_device(server_user)
    phone.create_folder("Projects")
    phone.logout()
    projects = Folder.objects.filter(account=account, display_name="Projects")
    listener.wait(lambda e: e["type"] == "folders" and projects.exists(), 15)

    # The folder list is read every second here: over the one connection.
    wait_for(lambda: server.who(server_user.username) == 1, what="one connection")
    seen = []
    deadline = time.monotonic() + 3.5
    while time.monotonic() < deadline:
        seen.append(server.who(server_user.username))
        time.sleep(0.1)
    assert set(seen) == {1}, seen


def test_many_watched_accounts_share_a_few_threads(
    worker, make_imap_user, other_device, subscribe
):
    users = [make_imap_user() for _ in range(WATCHED)]
    accounts = [account_for(user) for user in users]
    server = users[0].server
    assert worker.process is not None
    threads = _threads(worker.process.pid)

    for account in accounts:
        watching.keep_watching(account.id, None)

    def each_connected() -> bool:
        return all(server.who(user.username) == 1 for user in users)

    wait_for(each_connected, timeout=60, what="one connection per account")
    # The hub, and its handler threads if this worker had none yet; and the
    # task pool's own threads, which Celery starts only as tasks come in.
    most = hub.push_threads() + 1 + worker.concurrency
    assert most < WATCHED  # or a thread per account would pass
    assert _threads(worker.process.pid) - threads <= most

    # Every account is still pushed to, quickly.
    last, user = accounts[-1], users[-1]
    synced = Folder.objects.filter(account=last, name="INBOX", synced_at__isnull=False)
    inbox = wait_for(synced.first, what="INBOX synced by the watch")
    listener = subscribe(last.user_id)
    phone = other_device(user)
    sent = time.monotonic()
    phone.append("INBOX", message_bytes("hello"))
    listener.wait(lambda e: e["type"] == "new" and e["folder"] == inbox.id, 10)
    assert time.monotonic() - sent < 3
    assert Message.objects.get(folder=inbox, uid=1).subject == "hello"
