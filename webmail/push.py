"""Push in the worker: IDLE on the watched folder while someone looks.

While a page of the account is open (events.watched_folder() is not None),
one thread of the worker that owns the account keeps the account's IDLE
connection on the folder being viewed (INBOX by default), syncs the folder
when the server reports news, and publishes what changed. INBOX, when not
the viewed folder, and the folder list are checked every
IMAP_POLL_INTERVAL seconds over a command connection. Servers without IDLE
get the viewed folder polled at that interval too.

IDLE is restarted well before the 30 minutes after which servers may drop
it. Watchers end on their own a little after the last page closes.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection

from accounts.models import MailAccount
from webmail import events
from webmail.imap import ImapError, ImapSession
from webmail.models import Folder
from webmail.outbox import record_account_error
from webmail.sync import (
    SyncResult,
    backfill_folder,
    sync_folder,
    sync_folder_list,
    sync_folder_on,
)
from webmail.workers import account_session

logger = logging.getLogger(__name__)

IDLE_RENEW = 25 * 60.0
CHECK_EVERY = 1.0

_watchers: dict[int, Watcher] = {}
_lock = threading.Lock()


def ensure_watching(account_id: int) -> bool:
    """Start a watcher for the account unless one runs; return if started."""
    with _lock:
        current = _watchers.get(account_id)
        if current is not None and current.is_alive():
            return False
        watcher = Watcher(account_id)
        _watchers[account_id] = watcher
        watcher.start()
        return True


def stop_all(timeout: float = 5.0) -> None:
    """Stop every watcher of this process (worker shutdown)."""
    with _lock:
        watchers = list(_watchers.values())
        _watchers.clear()
    for watcher in watchers:
        watcher.stop.set()
    deadline = time.monotonic() + timeout
    for watcher in watchers:
        watcher.join(max(0.0, deadline - time.monotonic()))


def publish_sync(account_id: int, result: SyncResult | None) -> None:
    """Tell the account's open pages what a sync changed."""
    if result is None or not result.anything:
        return
    user_id = user_id_of(account_id)
    if user_id is None:
        return
    folder = result.folder_id
    base = {"account": account_id, "folder": folder}
    if result.rebuilt:
        events.publish(user_id, {"type": "folder", **base})
        return
    if result.vanished:
        events.publish(user_id, {"type": "expunged", **base, "uids": result.vanished})
    if result.changed:
        events.publish(user_id, {"type": "flags", **base, "uids": result.changed})
    if result.new:
        events.publish(user_id, {"type": "new", **base, "uids": result.new})


def sync_and_publish(
    account_id: int, folder_id: int, session: ImapSession | None = None
) -> SyncResult | None:
    """Sync a folder, publish what changed, and backfill if asked to.

    With a session (the watcher's own, which has the folder open), the sync
    runs on it; otherwise on a command connection of the pool.
    """
    if session is None:
        result = sync_folder(account_id, folder_id)
    else:
        result = sync_folder_on(session, folder_id)
    publish_sync(account_id, result)
    if result is not None and result.more:
        from webmail import tasks

        tasks.send_backfill(account_id, folder_id)
    return result


def sync_folder_list_and_publish(account_id: int) -> list[int]:
    """Sync the folder list; publish if it changed; return stale folder ids."""
    listed = sync_folder_list(account_id)
    if listed.changed:
        user_id = user_id_of(account_id)
        if user_id is not None:
            events.publish(user_id, {"type": "folders", "account": account_id})
    return listed.stale


def backfill_and_publish(account_id: int, folder_id: int) -> SyncResult | None:
    """Load older messages of a folder and publish them."""
    result = backfill_folder(account_id, folder_id)
    publish_sync(account_id, result)
    return result


def user_id_of(account_id: int) -> int | None:
    """Return the id of the user who owns the account."""
    return (
        MailAccount.objects.filter(id=account_id)
        .values_list("user_id", flat=True)
        .first()
    )


def inbox_id(account_id: int) -> int | None:
    """Return the id of the account's INBOX folder in the cache."""
    row = (
        Folder.objects.filter(account_id=account_id, name__iexact="INBOX")
        .values_list("id", flat=True)
        .first()
    )
    return row


class Watcher(threading.Thread):
    """Keeps an account's IDLE connection while its pages are open."""

    def __init__(self, account_id: int) -> None:
        super().__init__(name=f"watch-{account_id}", daemon=True)
        self.account_id = account_id
        self.stop = threading.Event()
        self.polling = False
        self.last_poll = 0.0

    def target(self) -> int | None:
        """Return the folder to watch, or None when nobody looks anymore."""
        if self.stop.is_set():
            return None
        try:
            watched = events.watched_folder(self.account_id)
        except Exception:  # Redis away: keep going, it comes back
            logger.warning("Cannot read the watching key", exc_info=True)
            return self._last_target
        if watched is None:
            return None
        folder_id = watched or inbox_id(self.account_id)
        if folder_id is None:
            sync_folder_list_and_publish(self.account_id)
            folder_id = inbox_id(self.account_id)
        self._last_target = folder_id
        return folder_id

    _last_target: int | None = None

    def run(self) -> None:
        failures = 0
        try:
            while True:
                close_old_connections()
                try:
                    folder_id = self.target()
                    if folder_id is None:
                        return
                    if self.polling:
                        self._poll_once(folder_id)
                        self.stop.wait(float(settings.IMAP_POLL_INTERVAL))
                    else:
                        self._idle(folder_id)
                    failures = 0
                except ImapError as exc:
                    failures += 1
                    logger.info("Watcher of %s: %s", self.account_id, exc)
                    with contextlib.suppress(DatabaseError):
                        record_account_error(self.account_id, exc)
                    self.stop.wait(min(60.0, 2.0**failures))
                except Exception:
                    failures += 1
                    logger.exception("Watcher of account %s failed", self.account_id)
                    self.stop.wait(min(60.0, 2.0**failures))
        finally:
            connection.close()

    def _poll_once(self, folder_id: int) -> None:
        sync_and_publish(self.account_id, folder_id)
        inbox = inbox_id(self.account_id)
        if inbox is not None and inbox != folder_id:
            sync_and_publish(self.account_id, inbox)
        self._folders_if_due()

    def _folders_if_due(self) -> None:
        now = time.monotonic()
        if now - self.last_poll < float(settings.IMAP_POLL_INTERVAL):
            return
        self.last_poll = now
        for stale in sync_folder_list_and_publish(self.account_id):
            from webmail import tasks

            tasks.send_sync(self.account_id, stale)

    def _idle(self, folder_id: int) -> None:
        folder = Folder.objects.filter(id=folder_id).first()
        if folder is None:
            return
        with account_session(self.account_id, idle=True) as session:
            if not session.capabilities.has("IDLE"):
                self.polling = True
                return
            # The sync runs on this connection, which has the folder open:
            # no second SELECT, and an idle account needs no command
            # connection at all. What changes between the sync and IDLE is
            # reported as soon as IDLE starts, so nothing slips through.
            session.open_folder(folder.name)
            sync_and_publish(self.account_id, folder_id, session)
            session.idle_start()
            started = time.monotonic()
            while not self.stop.is_set():
                news = session.idle_check(CHECK_EVERY)
                if news:
                    session.idle_done()
                    sync_and_publish(self.account_id, folder_id, session)
                    session.idle_start()
                    started = time.monotonic()
                    continue
                if self.target() != folder_id:
                    return
                if time.monotonic() - started > IDLE_RENEW:
                    session.idle_done()
                    session.idle_start()
                    started = time.monotonic()
                inbox = inbox_id(self.account_id)
                if time.monotonic() - self.last_poll >= float(
                    settings.IMAP_POLL_INTERVAL
                ):
                    if inbox is not None and inbox != folder_id:
                        sync_and_publish(self.account_id, inbox)
                    self._folders_if_due()
                close_old_connections()
