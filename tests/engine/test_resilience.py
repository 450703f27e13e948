"""Restarts and load: nothing the user did is lost, the connection cap holds.

Each runs on the full Dovecot and on the reduced one (no CONDSTORE, MOVE or
IDLE), whose fallbacks (flag changes without UNCHANGEDSINCE, syncs by a
flags diff, polling instead of IDLE and NOTIFY) must survive the same.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from tests.engine.conftest import account_for, fill, wait_for
from tests.fixtures.servers import ImapUser
from webmail.engine import connections, folderlist, sync
from webmail.mail import bodies, changes, reading, watching
from webmail.models import Folder, PendingOperation

pytestmark = pytest.mark.django_db(transaction=True)


def _inbox(account) -> Folder:
    folderlist.sync_folder_list(account.id)
    inbox = Folder.objects.get(account=account, name="INBOX")
    sync.sync_folder(account.id, inbox.id)
    inbox.refresh_from_db()
    return inbox


def _seen_on_server(phone, uid: int) -> bool:
    phone.select_folder("INBOX", readonly=True)
    return b"\\Seen" in phone.get_flags([uid]).get(uid, ())


def _drained(account) -> bool:
    return not PendingOperation.objects.filter(
        account=account, state="pending"
    ).exists()


def test_a_redis_restart_loses_no_action(
    worker, server_user, other_device, redis_server
):
    phone = other_device(server_user)
    fill(phone, "INBOX", 2)
    account = account_for(server_user)
    inbox = _inbox(account)
    changes.set_flags(account, inbox, [1], add=["\\Seen"])
    wait_for(lambda: _seen_on_server(phone, 1), what="first action")

    redis_server.restart()  # the queues and results are gone

    changes.set_flags(account, inbox, [2], add=["\\Seen"])
    # The worker reconnects to the broker with a growing back-off; once in
    # a CI run that took more than 40 s. Late is allowed, lost is not.
    wait_for(lambda: _seen_on_server(phone, 2), timeout=90, what="after restart")
    wait_for(lambda: _drained(account))


def test_a_dovecot_restart_loses_no_action(worker, server_user, other_device):
    phone = other_device(server_user)
    fill(phone, "INBOX", 2)
    account = account_for(server_user)
    inbox = _inbox(account)
    changes.set_flags(account, inbox, [1], add=["\\Seen"])
    wait_for(lambda: _seen_on_server(phone, 1), what="first action")

    server_user.server.restart()  # the worker's pooled connections die

    changes.set_flags(account, inbox, [2], add=["\\Seen"])
    phone = other_device(server_user)
    wait_for(lambda: _seen_on_server(phone, 2), timeout=40, what="after restart")
    wait_for(lambda: _drained(account))


def test_pushes_go_on_after_a_dovecot_restart(
    worker, server_user, other_device, subscribe
):
    phone = other_device(server_user)
    fill(phone, "INBOX", 1)
    account = account_for(server_user)
    inbox = _inbox(account)
    archive = Folder.objects.get(account=account, name="Archive")
    listener = subscribe(account.user_id)
    watching.keep_watching(account.id, archive.id)
    fill(phone, "INBOX", 1, prefix="before")
    listener.wait(lambda e: e["type"] == "new" and e["folder"] == inbox.id, 30)

    server_user.server.restart()  # the IDLE (or polling) connections die

    phone = other_device(server_user)
    fill(phone, "INBOX", 1, prefix="after")
    event = listener.wait(lambda e: e["type"] == "new" and e["folder"] == inbox.id, 30)
    assert event["uids"] == [3]
    fill(phone, "Archive", 1)
    listener.wait(lambda e: e["type"] == "new" and e["folder"] == archive.id, 30)


@override_settings(BODY_WAITS_PER_USER=20)
def test_twenty_requests_at_once_stay_within_the_connection_cap(
    worker, server_user, other_device
):
    # The worker's cap is under test here, not the one on a user's waits.
    phone = other_device(server_user)
    fill(phone, "INBOX", 20)
    phone.logout()
    account = account_for(server_user)
    inbox = _inbox(account)
    connections.close_pool()  # this process's own sync connection
    server = server_user.server
    wait_for(lambda: server.who(server_user.username) == 0, what="no connections")
    results: dict[int, object] = {}
    peak = 0
    done = threading.Event()

    def watch_connections() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, server.who(server_user.username))
            time.sleep(0.05)

    def open_one(uid: int) -> None:
        try:
            results[uid] = bodies.open_message(
                account, inbox, reading.get_message(inbox, uid), timeout=60
            )
        finally:
            connection.close()

    watcher = threading.Thread(target=watch_connections)
    watcher.start()
    threads = [threading.Thread(target=open_one, args=(u,)) for u in range(1, 21)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    done.set()
    watcher.join()

    assert all(results[u].error is None for u in range(1, 21)), results
    assert "Hello there." in (results[7].text or "")
    assert 1 <= peak <= settings.IMAP_COMMAND_CONNECTIONS


def test_an_action_taken_while_redis_was_down_goes_when_it_is_back(
    worker, imap_user, other_device, redis_server
):
    phone = other_device(imap_user)
    fill(phone, "INBOX", 1)
    account = account_for(imap_user)
    inbox = _inbox(account)

    redis_server.stop()
    try:
        # The page records it; no task can be queued to push it.
        changes.set_flags(account, inbox, [1], add=["\\Seen"])
        time.sleep(2)
    finally:
        redis_server.start()

    # The worker pushes it once it finds Redis again, not at the next sweep
    # (a minute apart; none runs here at all).
    wait_for(lambda: _seen_on_server(phone, 1), timeout=20, what="pushed")
    wait_for(lambda: _drained(account))


def test_an_action_taken_while_the_server_was_down_goes_when_it_is_back(
    worker, own_dovecot, other_device
):
    user = ImapUser("erin@example.org", "erins-mail-password", own_dovecot)
    own_dovecot.add_user(user.username, user.password)
    fill(other_device(user), "INBOX", 1)
    account = account_for(user)
    inbox = _inbox(account)
    connections.close_pool()  # this process's own connection
    watching.keep_watching(account.id, inbox.id)  # the webmail is open

    own_dovecot.stop()
    try:
        changes.set_flags(account, inbox, [1], add=["\\Seen"])

        def put_off() -> float:
            op = PendingOperation.objects.filter(account=account).first()
            if op is None or not op.attempts:
                return 0.0
            return (op.next_attempt_at - timezone.now()).total_seconds()

        # Refused a few times: its next try is a good while away.
        wait_for(lambda: put_off() > 10, timeout=90, what="a long backoff")
        watching.keep_watching(account.id, inbox.id)
    finally:
        own_dovecot.start()
    back = time.monotonic()

    # The watched account's worker gets in again within seconds and pushes
    # it then, well before its backoff runs out.
    phone = other_device(user)
    wait_for(lambda: _seen_on_server(phone, 1), timeout=30, what="pushed")
    assert time.monotonic() - back < 8
    wait_for(lambda: _drained(account))


def test_a_redis_restart_while_an_action_waits_for_the_server_keeps_the_worker(
    worker, own_dovecot, other_device, redis_server
):
    user = ImapUser("fay@example.org", "fays-mail-password", own_dovecot)
    own_dovecot.add_user(user.username, user.password)
    fill(other_device(user), "INBOX", 1)
    account = account_for(user)
    inbox = _inbox(account)
    connections.close_pool()

    own_dovecot.stop()
    try:
        changes.set_flags(account, inbox, [1], add=["\\Seen"])
        wait_for(
            lambda: PendingOperation.objects.filter(
                account=account, attempts__gte=2
            ).exists(),
            what="the push put off",
        )
        # Its next try is due in a few seconds: the broker goes away meanwhile.
        redis_server.restart()
        time.sleep(3)
        assert worker.alive(), worker.log_tail()
    finally:
        own_dovecot.start()

    phone = other_device(user)
    wait_for(lambda: _seen_on_server(phone, 1), timeout=60, what="pushed")
    wait_for(lambda: _drained(account))
