"""Push in the worker: IDLE on the watched folder, and INBOX, while someone looks.

While a page of the account is open (events.watched_folder() is not None),
the worker that owns the account keeps the account's IDLE connection on the
folder being viewed (INBOX by default), syncs the folder when the server
reports news, and publishes what changed. The sync runs on that connection,
which has the folder open, and so does the folder list every
IMAP_POLL_INTERVAL seconds: an account that is only watched needs no
command connection.

INBOX, when it is not the viewed folder, is watched within the same one
IDLE connection: where the server offers NOTIFY, it reports INBOX changes
on that connection (as STATUS responses, even during IDLE). Elsewhere INBOX
gets a STATUS every IMAP_INBOX_CHECK seconds over a command connection,
and a sync only when its counts moved; without CONDSTORE the counts cannot
show every flag change, so INBOX is also synced every IMAP_POLL_INTERVAL.
Servers without IDLE get the viewed folder checked the same way, over the
connection that would have been the IDLE one.

One thread of the worker (the hub) waits on the IDLE connections of every
watched account at once, and looks every second whether each account is
still watched, and on which folder. When a connection reports news, or
something is due (restarting IDLE, the folder list, a STATUS check), a few
handler threads do the work (IMAP_PUSH_THREADS). A thread per account
cost far more memory than the account's connection: each kept its own
database connection and malloc arena, about 500 KiB an account in all
(bench/worker_memory.py), where one watched account now costs tens of KiB.

IDLE is restarted well before the 30 minutes after which servers may drop
it. Watches end on their own a little after the last page closes.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import selectors
import socket
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager

from django.conf import settings
from django.db import DatabaseError, close_old_connections

from accounts.models import MailAccount
from webmail import events
from webmail.imap import ImapError, ImapSession, encode_folder_name
from webmail.imap.types import FolderStatus, IdleEvent, NotificationsLost
from webmail.models import Folder
from webmail.outbox import record_account_error
from webmail.sync import (
    SyncResult,
    apply_folder_list,
    backfill_folder,
    flag_news_known,
    record_usage,
    sync_folder,
    sync_folder_list,
    sync_folder_on,
)
from webmail.workers import account_session, with_session

logger = logging.getLogger(__name__)

IDLE_RENEW = 25 * 60.0
CHECK_EVERY = 1.0

_hub: Hub | None = None
_lock = threading.Lock()


def ensure_watching(account_id: int) -> bool:
    """Start watching the account unless it is watched; return if started."""
    global _hub
    with _lock:
        if _hub is None:
            _hub = Hub(push_threads())
        return _hub.add(account_id)


def push_threads() -> int:
    """Return how many handler threads the hub may run.

    A server that does not answer holds one for up to MAIL_CONNECT_TIMEOUT
    each time its watch retries (after 2, 4, 8... and at most 60 seconds);
    the others go on serving the other accounts.
    """
    return max(1, int(settings.IMAP_PUSH_THREADS))


def stop_all(timeout: float = 5.0) -> None:
    """Stop watching every account of this process (worker shutdown)."""
    global _hub
    with _lock:
        hub, _hub = _hub, None
    if hub is not None:
        hub.stop(timeout)


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


class Watch:
    """One watched account: its IDLE connection, what it shows, what is due.

    The hub owns a Watch while its connection idles; a handler thread owns
    it while step() runs. Never both.
    """

    def __init__(self, account_id: int) -> None:
        self.account_id = account_id
        # The watching key's value acted on (0: INBOX), the folder that is
        # IDLEd on, and INBOX as (id, server name) when it is another one.
        self.watched: int | None = None
        self.folder_id: int | None = None
        self.inbox: tuple[int, str] | None = None
        self.notify = False
        self.polling = False
        self.session: ImapSession | None = None
        self._lease: AbstractContextManager[ImapSession] | None = None
        self.started = 0.0
        self.last_poll = 0.0
        self.checks: dict[int, FolderCheck] = {}
        self.failures = 0
        # When step() must run even if the server says nothing.
        self.wake_at = 0.0
        # IDLE (with NOTIFY) must be set up afresh: news was lost.
        self.restart = False
        # Set when ensure_watching() asks again; a watch that found nobody
        # watching and ended is then kept.
        self.wanted = False
        self.done = False
        self._inbox_id: int | None = None

    # The connection -------------------------------------------------------

    def _borrow(self) -> ImapSession:
        if self.session is None:
            lease = account_session(self.account_id, idle=True)
            self.session = lease.__enter__()
            self._lease = lease
        return self.session

    def release(self, error: BaseException | None = None) -> None:
        """Give the connection back to the pool (which closes a broken one)."""
        lease, self._lease, self.session = self._lease, None, None
        if lease is None:
            return
        try:
            if error is None:
                lease.__exit__(None, None, None)
            else:
                lease.__exit__(type(error), error, error.__traceback__)
        except Exception:
            logger.exception(
                "Could not give back the connection of %s", self.account_id
            )

    # What the hub calls -----------------------------------------------------

    def step(self) -> None:
        """Do what is due; leave the connection in IDLE, or given back."""
        close_old_connections()
        try:
            self.wanted = False
            watched = self._watched()
            if watched is None:
                self.release()
                self.done = True
            elif self.polling:
                self._poll(watched)
            elif (
                self.session is None
                or self.restart
                or watched != self.watched
                or not self.session.idling
            ):
                self._begin(watched)
            else:
                self._attend()
            self.failures = 0
        except ImapError as exc:
            logger.info("Watch of %s: %s", self.account_id, exc)
            with contextlib.suppress(DatabaseError):
                record_account_error(self.account_id, exc)
            self._failed(exc)
        except Exception as exc:
            logger.exception("Watch of account %s failed", self.account_id)
            self._failed(exc)
        finally:
            close_old_connections()

    def _failed(self, exc: BaseException) -> None:
        self.release(exc)
        self.failures += 1
        self.wake_at = time.monotonic() + min(60.0, 2.0**self.failures)

    def _watched(self) -> int | None:
        try:
            return events.watched_folder(self.account_id)
        except Exception:  # Redis away: keep going, it comes back
            logger.warning("Cannot read the watching key", exc_info=True)
            return self.watched

    def _folder_of(self, watched: int) -> int | None:
        """Return the id of the folder to watch (INBOX for 0)."""
        if watched:
            return watched
        # INBOX's id is looked up once, since an INBOX can be neither
        # deleted nor renamed away.
        if self._inbox_id is None:
            self._inbox_id = inbox_id(self.account_id)
            if self._inbox_id is None:
                self._list_folders(self._quiet())
                self._inbox_id = inbox_id(self.account_id)
        return self._inbox_id

    # IDLE -------------------------------------------------------------------

    def _quiet(self) -> ImapSession:
        """Return the connection out of IDLE, ready for commands."""
        session = self._borrow()
        if session.idling:
            self._sort(session.idle_done())
        return session

    def _begin(self, watched: int) -> None:
        """Open the watched folder on the connection, sync it and start IDLE."""
        self.watched = watched
        session = self._quiet()
        if not session.capabilities.has("IDLE"):
            self.polling = True
            self._poll(watched)
            return
        folder_id = self._folder_of(watched)
        folder = Folder.objects.filter(id=folder_id).first() if folder_id else None
        if folder is None:
            self._inbox_id = None  # dropped from the cache: look it up again
            self.release()
            self.wake_at = time.monotonic() + 1.0
            return
        inbox_row = (
            Folder.objects.filter(account_id=self.account_id, name__iexact="INBOX")
            .exclude(id=folder.id)
            .values_list("id", "name")
            .first()
        )
        self.inbox = (
            (inbox_row[0], encode_folder_name(inbox_row[1])) if inbox_row else None
        )
        session.open_folder(folder.name)
        self.folder_id = folder.id
        self.notify = session.capabilities.has("NOTIFY")
        if self.notify:
            # Set again on every start: it is cheap, and its STATUS answer
            # covers whatever happened while nobody watched.
            names = [inbox_row[1]] if inbox_row else []
            self._sort(list(session.notify_changes(names)))
        if self._list_due():
            self._list_folders(session)
        # What changes between the sync and IDLE is reported as soon as
        # IDLE starts, so nothing slips through.
        sync_and_publish(self.account_id, folder.id, session)
        self.restart = False
        self._idle_start(session)
        self._attend()

    def _idle_start(self, session: ImapSession) -> None:
        session.idle_start()
        self.started = time.monotonic()

    def _attend(self) -> None:
        """Act on the news the connection holds and on what is due; IDLE again."""
        session = self._borrow()
        while True:
            news, lost = self._sort(session.idle_check(0))
            now = time.monotonic()
            listing = self._list_due(now)
            if not (news or lost or listing or now - self.started > IDLE_RENEW):
                break
            more, also_lost = self._sort(session.idle_done())
            if lost or also_lost:
                # Start over: NOTIFY SET again and a sync of both.
                self.checks.clear()
                self.restart = True
                self.wake_at = 0.0
                return
            if listing:
                self._list_folders(session)
            # The folder list's answer may have carried news of the viewed
            # folder, which that command does not report: sync after it too.
            # The webmail's own changes come back as news the cache has.
            news += more
            if listing or news:
                assert self.folder_id is not None
                if listing or not flag_news_known(self.folder_id, news):
                    sync_and_publish(self.account_id, self.folder_id, session)
            self._idle_start(session)
        due = [self.started + IDLE_RENEW, self._list_at()]
        if self.inbox is not None and not self.notify:
            check = self._check_if_due(self.inbox[0])
            due.append(check.next_check)
        self.wake_at = min(due)

    def _sort(self, news: list[IdleEvent]) -> tuple[list[IdleEvent], bool]:
        """Act on INBOX counts; return (news of the viewed folder, news lost)."""
        viewed: list[IdleEvent] = []
        lost = False
        inbox = self.inbox
        for event in news:
            if isinstance(event, FolderStatus):
                if inbox is not None and event.folder == inbox[1]:
                    self._folder_news(inbox[0], event)
            elif isinstance(event, NotificationsLost):
                lost = True
            else:
                viewed.append(event)
        return viewed, lost

    # Folder checks ----------------------------------------------------------

    def _poll(self, watched: int) -> None:
        """Check the watched folder and INBOX by STATUS (servers without IDLE)."""
        self.watched = watched
        session = self._quiet()
        folder_id = self._folder_of(watched)
        now = time.monotonic()
        if folder_id is None:
            self.wake_at = now + 1.0
            return
        self._check_if_due(folder_id, session)
        inbox = inbox_id(self.account_id)
        if inbox is not None and inbox != folder_id:
            self._check_if_due(inbox, session)
        if self._list_due():
            self._list_folders(session)
        every = min(settings.IMAP_INBOX_CHECK, settings.IMAP_POLL_INTERVAL)
        self.wake_at = now + max(0.5, float(every))

    def _check(self, folder_id: int) -> FolderCheck:
        return self.checks.setdefault(folder_id, FolderCheck())

    def _check_if_due(
        self, folder_id: int, session: ImapSession | None = None
    ) -> FolderCheck:
        """Sync a folder if a STATUS shows it changed (or a full sync is due).

        Without a session the STATUS and the sync use a command connection.
        """
        check = self._check(folder_id)
        now = time.monotonic()
        if now < check.next_check:
            return check
        check.next_check = now + float(settings.IMAP_INBOX_CHECK)
        name = Folder.objects.filter(id=folder_id).values_list("name", flat=True)
        folder = name.first()
        if folder is None:
            return check
        if session is None:
            status = with_session(self.account_id, lambda s: s.poll_status(folder))
        else:
            status = session.poll_status(folder)
        moved = check.moved(status)
        stale = now - check.last_sync >= float(settings.IMAP_POLL_INTERVAL)
        if moved or (stale and not check.sees_flags):
            self._sync(folder_id, check, session)
        return check

    def _folder_news(self, folder_id: int, status: FolderStatus) -> None:
        """Sync a folder NOTIFY reported on, unless its counts are as known."""
        check = self._check(folder_id)
        if check.moved(status):
            self._sync(folder_id, check)

    def _sync(
        self, folder_id: int, check: FolderCheck, session: ImapSession | None = None
    ) -> None:
        check.last_sync = time.monotonic()
        try:
            sync_and_publish(self.account_id, folder_id, session)
        except ImapError:
            check.known = None  # so the next counts sync it again
            raise

    # The folder list ----------------------------------------------------------

    def _list_at(self) -> float:
        return self.last_poll + float(settings.IMAP_POLL_INTERVAL)

    def _list_due(self, now: float | None = None) -> bool:
        return (time.monotonic() if now is None else now) >= self._list_at()

    def _list_folders(self, session: ImapSession) -> None:
        """sync.sync_folder_list on this connection (out of IDLE); publish."""
        listed = session.list_folders()
        quota = session.get_quota()
        names = sorted(session.capabilities.names)
        result = apply_folder_list(self.account_id, listed, names)
        record_usage(self.account_id, quota)
        self.last_poll = time.monotonic()
        if result.changed:
            user_id = user_id_of(self.account_id)
            if user_id is not None:
                events.publish(user_id, {"type": "folders", "account": self.account_id})
        from webmail import tasks

        for stale in result.stale:
            tasks.send_sync(self.account_id, stale)


class Hub:
    """Waits on every watched account's IDLE connection from one thread.

    Watches go to a small pool of handler threads when they have news or
    something is due, and come back when their connection idles again.
    """

    def __init__(self, threads: int) -> None:
        self._watches: dict[int, Watch] = {}  # every watch, under _lock
        self._lock = threading.Lock()
        # The hub thread's own: watches it waits on, and their sockets.
        self._waiting: dict[int, Watch] = {}
        self._fds: dict[int, int] = {}
        self._returned: queue.SimpleQueue[Watch] = queue.SimpleQueue()
        self._running: dict[Watch, Future[None]] = {}
        self._selector = selectors.DefaultSelector()
        self._wake_up, self._waker = socket.socketpair()
        self._wake_up.setblocking(False)
        self._waker.setblocking(False)
        self._selector.register(self._wake_up, selectors.EVENT_READ, None)
        self._handlers = ThreadPoolExecutor(threads, thread_name_prefix="push")
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="push-hub", daemon=True)
        self._thread.start()

    def add(self, account_id: int) -> bool:
        """Watch the account unless it is watched already; return if added."""
        with self._lock:
            watch = self._watches.get(account_id)
            if watch is not None:
                watch.wanted = True
                return False
            watch = self._watches[account_id] = Watch(account_id)
        self._give_back(watch)
        return True

    def stop(self, timeout: float) -> None:
        """Stop the hub; give every connection back to the pool."""
        deadline = time.monotonic() + timeout
        self._stopping.set()
        self._wake()
        self._thread.join(timeout)
        self._handlers.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            watches = list(self._watches.values())
            running = dict(self._running)
        for watch in watches:
            future = running.get(watch)
            if future is None or future.cancelled():
                watch.release()
            else:  # its handler gives it back when done
                with contextlib.suppress(Exception):
                    future.result(max(0.0, deadline - time.monotonic()))
        self._selector.close()
        self._wake_up.close()
        self._waker.close()

    # Handler threads ----------------------------------------------------------

    def _give_back(self, watch: Watch) -> None:
        self._returned.put(watch)
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._waker.send(b"w")

    def _work(self, watch: Watch) -> None:
        try:
            if not self._stopping.is_set():
                watch.step()
            if self._stopping.is_set():
                watch.release()
        finally:
            # Always back to the hub: a watch lost here would keep its
            # account from being watched again until the worker restarts.
            with self._lock:
                self._running.pop(watch, None)
            self._give_back(watch)

    # The hub thread -----------------------------------------------------------

    def _run(self) -> None:
        next_check = 0.0
        while not self._stopping.is_set():
            try:
                self._take_back()
                now = time.monotonic()
                if now >= next_check:
                    next_check = now + CHECK_EVERY
                    self._check_targets()
                wake = min([next_check, *(w.wake_at for w in self._waiting.values())])
                for key, _ in self._selector.select(max(0.0, wake - now)):
                    if key.data is None:
                        self._drain_wake_up()
                    elif key.data.account_id in self._waiting:
                        self._dispatch(key.data)
                now = time.monotonic()
                for watch in list(self._waiting.values()):
                    if watch.wake_at <= now:
                        self._dispatch(watch)
            except Exception:
                logger.exception("The push hub failed; it goes on")
                self._stopping.wait(1.0)

    def _drain_wake_up(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while self._wake_up.recv(4096):
                pass

    def _take_back(self) -> None:
        while True:
            try:
                watch = self._returned.get_nowait()
            except queue.Empty:
                return
            if watch.done:
                with self._lock:
                    if not watch.wanted:
                        self._watches.pop(watch.account_id, None)
                        continue
                    watch.done = False  # asked for again while it ended
                    watch.wake_at = 0.0
            self._waiting[watch.account_id] = watch
            session = watch.session
            if session is not None and session.idling:
                try:
                    fd = session.fileno()
                    self._selector.register(fd, selectors.EVENT_READ, watch)
                    self._fds[watch.account_id] = fd
                except (OSError, ValueError):
                    watch.wake_at = 0.0  # the handler finds out what broke

    def _dispatch(self, watch: Watch) -> None:
        del self._waiting[watch.account_id]
        fd = self._fds.pop(watch.account_id, None)
        if fd is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(fd)
        with self._lock:
            try:
                self._running[watch] = self._handlers.submit(self._work, watch)
            except RuntimeError:  # shut down
                return

    def _check_targets(self) -> None:
        """Hand over watches whose page closed or moved to another folder."""
        ids = list(self._waiting)
        if not ids:
            return
        try:
            keys = [events.watching_key(account_id) for account_id in ids]
            values = events.redis_client().mget(keys)
        except Exception:  # Redis away: keep going, it comes back
            logger.warning("Cannot read the watching keys", exc_info=True)
            return
        for account_id, value in zip(ids, values, strict=True):
            watch = self._waiting[account_id]
            target = events.watched_value(value)
            if target is None or (target != watch.watched and not watch.failures):
                self._dispatch(watch)
