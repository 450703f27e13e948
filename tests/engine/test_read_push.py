"""Opening unread mail: the worker that fetched the body pushes \\Seen itself.

Against a real Dovecot and the real worker; the phone is a second IMAP
connection. That no second task was queued for the push is read from the
worker's log, where Celery notes every task it receives.
"""

from __future__ import annotations

import re
import time
import uuid

import pytest
from django.core.cache import cache

from tests.engine.conftest import (
    account_for,
    fill,
    message_bytes,
    open_in_reader,
    seen_on_server,
    synced_inbox,
    wait_for,
)
from webmail import door
from webmail.celery import app
from webmail.engine import folderlist, tasks
from webmail.mail import changes, status
from webmail.models import Folder, Message, OperationState, PendingOperation
from webmail.shared import bodycache


def _settled_log_end(worker) -> int:
    """Where the worker's log ends once the worker is up and settled.

    A worker (re)started for this test logs every task's name in its banner,
    and receives at once what its start-up sweep queued: none of it is this
    test's doing.
    """
    assert app.send_task("webmail.ping", queue="default").get(timeout=30) == "pong"
    time.sleep(0.5)
    return worker.log_path.stat().st_size


def _tasks_received(worker, start: int, name: str) -> int:
    with worker.log_path.open(errors="replace") as log:
        log.seek(start)
        text = log.read()
    return len(re.findall(rf"Task {re.escape(name)}\[[^\]]+\] received", text))


@pytest.mark.django_db(transaction=True)
def test_opening_unread_mail_reads_it_on_the_phone_without_a_second_task(
    worker, imap_user, other_device, subscribe
):
    phone = other_device(imap_user)
    phone.append("INBOX", message_bytes("note", "Bring the ladder.\n"))
    account = account_for(imap_user)
    inbox = synced_inbox(account)
    cache.delete(bodycache.cache_key(account.id, inbox, 1))
    other_tab = subscribe(account.user_id)
    start = _settled_log_end(worker)

    pane = open_in_reader(account, inbox, 1)

    assert ">note</h2>" in pane and 'class="notice error' not in pane
    wait_for(lambda: seen_on_server(phone, 1), what="\\Seen on the phone")
    other_tab.wait(lambda e: e.get("type") == "flags" and e.get("uids") == [1])
    assert Message.objects.get(folder=inbox, uid=1).seen
    # The worker records the push as done just after the server took it.
    (operation,) = PendingOperation.objects.filter(account=account)
    wait_for(
        lambda: (
            PendingOperation.objects.get(id=operation.id).state == OperationState.DONE
        ),
        what="the read mark recorded as pushed",
    )
    assert _tasks_received(worker, start, "webmail.account.fetch_body") == 1
    assert _tasks_received(worker, start, "webmail.account.push_outbox") == 0


@pytest.mark.django_db(transaction=True)
def test_a_refused_change_ahead_of_the_read_mark_is_reported_and_the_mark_applied(
    imap_user, other_device, subscribe, settings, monkeypatch
):
    """The worker's own push tells the user what the server refused, as a
    queued push does; here run in this process, the outbox's first change
    one whose task was lost."""
    phone = other_device(imap_user)
    phone.create_folder("Gone")
    fill(phone, "INBOX", 2)
    account = account_for(imap_user)
    folderlist.sync_folder_list(account.id)
    inbox = synced_inbox(account)
    gone = Folder.objects.get(account=account, name="Gone")
    phone.delete_folder("Gone")
    with monkeypatch.context() as patched:  # no push queued: as if it was lost
        patched.setattr(door, "push_changes", lambda *args, **kwargs: True)
        changes.move_messages(account, inbox, [1], gone)
    cache.delete(bodycache.cache_key(account.id, inbox, 2))
    events = subscribe(account.user_id)
    reply_to = f"{settings.REDIS_KEY_PREFIX}:body-reply:{uuid.uuid4().hex}"

    tasks.fetch_body.apply((account.id, inbox.id, 2, reply_to, time.time() + 20))

    event = events.wait(lambda e: e["type"] == "outbox")
    (failed,) = status.failed_operations(account)
    assert event["failed"] == [failed.id]
    assert "Gone" in failed.last_error
    assert Message.objects.filter(folder=inbox, uid=1).exists()  # put back
    assert seen_on_server(phone, 2)
    assert not seen_on_server(phone, 1)


@pytest.mark.django_db(transaction=True)
def test_mail_opened_just_after_the_server_dropped_the_connection_is_shown_and_read(
    worker, imap_user, other_device
):
    """Dropped within about a second of the connection's last use, when its
    folder is not checked with NOOP first: the FETCH itself finds the
    connection gone (past that second the NOOP does), and a new one is used."""
    phone = other_device(imap_user)
    fill(phone, "INBOX", 2)
    account = account_for(imap_user)
    inbox = synced_inbox(account)
    cache.delete_many([bodycache.cache_key(account.id, inbox, uid) for uid in (1, 2)])
    open_in_reader(account, inbox, 1)
    wait_for(lambda: seen_on_server(phone, 1), what="the first read")

    imap_user.server.doveadm("kick", imap_user.username)
    pane = open_in_reader(account, inbox, 2)

    assert ">msg 1</h2>" in pane and 'class="notice error' not in pane
    phone = other_device(imap_user)
    wait_for(lambda: seen_on_server(phone, 2), what="\\Seen after the drop")
