"""Push in the worker: IDLE on the watched folder, and INBOX, while someone looks.

While a page of the account is open (events.watched_folder() is not None),
the worker that owns the account keeps the account's IDLE connection on the
folder being viewed (INBOX by default), syncs the folder when the server
reports news, and publishes what changed. The sync runs on that connection,
which has the folder open, and so does the folder list every
IMAP_POLL_INTERVAL seconds: an account that is only watched needs no
command connection.

INBOX, when it is not the viewed folder, is watched within the same one
IDLE connection where the server offers NOTIFY: it reports INBOX changes
on that connection (as STATUS responses, even during IDLE). A server that
pushes without NOTIFY (Cyrus) gets a second IDLE connection, on INBOX
(webmail.engine.inboxidle). Elsewhere INBOX
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

from django.conf import settings

from webmail.engine.watch import Watch
from webmail.shared import events

logger = logging.getLogger(__name__)

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
    each time its watch retries (after 2, 4, 8... and at most 60 seconds;
    one that refuses connections is tried every 2 seconds, which costs
    next to nothing); the others go on serving the other accounts.
    """
    return max(1, int(settings.IMAP_PUSH_THREADS))


def stop_all(timeout: float = 5.0) -> None:
    """Stop watching every account of this process (worker shutdown)."""
    global _hub
    with _lock:
        hub, _hub = _hub, None
    if hub is not None:
        hub.stop(timeout)


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
        self._fds: dict[int, list[int]] = {}
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
            fds = self._fds[watch.account_id] = []
            for session in watch.idling():
                try:
                    fd = session.fileno()
                    self._selector.register(fd, selectors.EVENT_READ, watch)
                    fds.append(fd)
                except (OSError, ValueError, KeyError):
                    watch.wake_at = 0.0  # the handler finds out what broke

    def _dispatch(self, watch: Watch) -> None:
        del self._waiting[watch.account_id]
        for fd in self._fds.pop(watch.account_id, []):
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
