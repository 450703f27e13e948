"""Push in the worker: IDLE on the watched folder, and INBOX, while someone looks.

While a page of the account is open (events.watched_folder() is not None),
one thread of the worker that owns the account keeps the account's IDLE
connection on the folder being viewed (INBOX by default), syncs the folder
when the server reports news, and publishes what changed.

INBOX, when it is not the viewed folder, is watched within the same one
IDLE connection: where the server offers NOTIFY, it reports INBOX changes
on that connection (as STATUS responses, even during IDLE). Elsewhere INBOX
gets a STATUS every IMAP_INBOX_CHECK seconds over a command connection,
and a sync only when its counts moved; without CONDSTORE the counts cannot
show every flag change, so INBOX is also synced every IMAP_POLL_INTERVAL.
Servers without IDLE get the viewed folder checked the same way. The
folder list is read every IMAP_POLL_INTERVAL seconds.

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
from webmail.imap import ImapError, ImapSession, encode_folder_name
from webmail.imap.types import FolderStatus, IdleEvent, NotificationsLost
from webmail.models import Folder
from webmail.outbox import record_account_error
from webmail.sync import (
    SyncResult,
    backfill_folder,
    sync_folder,
    sync_folder_list,
    sync_folder_on,
)
from webmail.workers import account_session, with_session

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
    from webmail import tasks

    if result is not None and result.more:
        tasks.send_backfill(account_id, folder_id)
    if result is not None and result.new:
        # New mail is what gets opened next: its bodies are made ready
        # (fetched, parsed, sanitized, cached) now, newest first, so that
        # opening one is a cache hit. One task a message, so that a user's
        # own request never waits behind the whole batch.
        count = int(settings.BODY_PREFETCH)
        for uid in reversed(result.new[-count:] if count > 0 else []):
            tasks.send_prefetch(account_id, folder_id, uid)
    return result


def sync_folder_list_and_publish(account_id: int, *, counts: bool = True) -> list[int]:
    """Sync the folder list; publish if it changed; return stale folder ids."""
    listed = sync_folder_list(account_id, counts=counts)
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


class FolderCheck:
    """Tells from STATUS counts whether a folder changed since last seen."""

    def __init__(self) -> None:
        self.known: dict[str, int] | None = None
        self.next_check = 0.0
        self.last_sync = 0.0

    def moved(self, status: FolderStatus) -> bool:
        """Take in new counts (NOTIFY sends only those that changed)."""
        merged = {**(self.known or {}), **status.counts()}
        changed = self.known is None or merged != self.known
        self.known = merged
        return changed

    @property
    def sees_flags(self) -> bool:
        """Whether the counts show every flag change (HIGHESTMODSEQ)."""
        return self.known is not None and "HIGHESTMODSEQ" in self.known


class Watcher(threading.Thread):
    """Keeps an account's IDLE connection while its pages are open."""

    def __init__(self, account_id: int) -> None:
        super().__init__(name=f"watch-{account_id}", daemon=True)
        self.account_id = account_id
        self.stop = threading.Event()
        self.polling = False
        self.last_poll = 0.0
        self.checks: dict[int, FolderCheck] = {}

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
        # Asked every second of IDLE: INBOX's id is looked up once, since an
        # INBOX can be neither deleted nor renamed away.
        if not watched and self._inbox is None:
            self._inbox = inbox_id(self.account_id)
            if self._inbox is None:
                sync_folder_list_and_publish(self.account_id)
                self._inbox = inbox_id(self.account_id)
        folder_id = watched or self._inbox
        self._last_target = folder_id
        return folder_id

    _last_target: int | None = None
    _inbox: int | None = None

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
                        self.stop.wait(self._poll_pause())
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

    @staticmethod
    def _poll_pause() -> float:
        every = min(settings.IMAP_INBOX_CHECK, settings.IMAP_POLL_INTERVAL)
        return max(0.5, float(every))

    def _poll_once(self, folder_id: int) -> None:
        self._check_if_due(folder_id)
        inbox = inbox_id(self.account_id)
        if inbox is not None and inbox != folder_id:
            self._check_if_due(inbox)
        self._folders_if_due()

    def _check(self, folder_id: int) -> FolderCheck:
        return self.checks.setdefault(folder_id, FolderCheck())

    def _check_if_due(self, folder_id: int) -> None:
        """Sync a folder if a STATUS shows it changed (or a full sync is due)."""
        check = self._check(folder_id)
        now = time.monotonic()
        if now < check.next_check:
            return
        check.next_check = now + float(settings.IMAP_INBOX_CHECK)
        name = Folder.objects.filter(id=folder_id).values_list("name", flat=True)
        folder = name.first()
        if folder is None:
            return
        status = with_session(self.account_id, lambda s: s.poll_status(folder))
        moved = check.moved(status)
        stale = now - check.last_sync >= float(settings.IMAP_POLL_INTERVAL)
        if moved or (stale and not check.sees_flags):
            self._sync(folder_id, check)

    def _folder_news(self, folder_id: int, status: FolderStatus) -> None:
        """Sync a folder NOTIFY reported on, unless its counts are as known."""
        check = self._check(folder_id)
        if check.moved(status):
            self._sync(folder_id, check)

    def _sync(self, folder_id: int, check: FolderCheck) -> None:
        check.last_sync = time.monotonic()
        try:
            sync_and_publish(self.account_id, folder_id)
        except ImapError:
            check.known = None  # so the next counts sync it again
            raise

    def _folders_if_due(self) -> None:
        now = time.monotonic()
        if now - self.last_poll < float(settings.IMAP_POLL_INTERVAL):
            return
        self.last_poll = now
        for stale in sync_folder_list_and_publish(self.account_id):
            from webmail import tasks

            tasks.send_sync(self.account_id, stale)

    def _sort(
        self, news: list[IdleEvent], inbox: tuple[int, str] | None
    ) -> tuple[bool, bool]:
        """Act on INBOX counts; return (news of the viewed folder, news lost)."""
        viewed = lost = False
        for event in news:
            if isinstance(event, FolderStatus):
                if inbox is not None and event.folder == inbox[1]:
                    self._folder_news(inbox[0], event)
            elif isinstance(event, NotificationsLost):
                lost = True
            else:
                viewed = True
        return viewed, lost

    def _idle(self, folder_id: int) -> None:
        folder = Folder.objects.filter(id=folder_id).first()
        if folder is None:
            self._inbox = None  # dropped from the cache: look it up again
            self.stop.wait(1.0)
            return
        inbox_row = (
            Folder.objects.filter(account_id=self.account_id, name__iexact="INBOX")
            .exclude(id=folder_id)
            .values_list("id", "name")
            .first()
        )
        inbox = (inbox_row[0], encode_folder_name(inbox_row[1])) if inbox_row else None
        with account_session(self.account_id, idle=True) as session:
            if not session.capabilities.has("IDLE"):
                self.polling = True
                return
            # The sync runs on this connection, which has the folder open:
            # no second SELECT, and an idle account needs no command
            # connection at all. What changes between the sync and IDLE is
            # reported as soon as IDLE starts, so nothing slips through.
            session.open_folder(folder.name)
            notify = session.capabilities.has("NOTIFY")
            if notify:
                # Set again on every start: it is cheap, and its STATUS
                # answer covers whatever happened while nobody watched.
                names = [inbox_row[1]] if inbox_row else []
                self._sort(list(session.notify_changes(names)), inbox)
            sync_and_publish(self.account_id, folder_id, session)
            session.idle_start()
            started = time.monotonic()
            while not self.stop.is_set():
                viewed, lost = self._sort(session.idle_check(CHECK_EVERY), inbox)
                if lost:
                    # Start over: NOTIFY SET again and a sync of both.
                    self.checks.clear()
                    return
                if viewed:
                    self._sort(session.idle_done(), inbox)
                    sync_and_publish(self.account_id, folder_id, session)
                    session.idle_start()
                    started = time.monotonic()
                    continue
                if self.target() != folder_id:
                    return
                if time.monotonic() - started > IDLE_RENEW:
                    self._sort(session.idle_done(), inbox)
                    session.idle_start()
                    started = time.monotonic()
                if inbox is not None and not notify:
                    self._check_if_due(inbox[0])
                self._folders_if_due()
                close_old_connections()
