"""A thread-safe pool of logged-in sessions, capped per mail account.

Servers limit connections per user (Dovecot: 10 per user and IP), so each
account gets at most ``max_command`` command connections plus one IDLE
connection, however many threads ask. A thread that finds them all busy
waits, and gives up with PoolExhausted (retryable) after ``wait_timeout``.

    with pool.session(account_key, settings_provider) as session:
        session.select("INBOX")

A session is lent to one thread at a time. One that broke (or was left in
the middle of a command) is discarded when it comes back, and a fresh one
is opened on next use; one that sat unused for ``check_after`` seconds is
checked with NOOP before it is lent. reap() closes connections unused for
``max_idle`` seconds (call it periodically); close_all() logs out every
connection (worker shutdown).

settings_provider is called only when a connection must be opened, so the
pool never keeps passwords. on_open, if given, is called with the account
key each time a new connection has logged in (the server can be reached).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field

from webmail.imap.connect import DEFAULT_TIMEOUT, Security, connect
from webmail.imap.errors import ImapError, PoolExhausted
from webmail.imap.parse import encode_folder_name
from webmail.imap.session import ImapSession

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConnectSettings:
    """Everything connect() needs for one mail account."""

    host: str
    port: int
    security: Security
    username: str
    password: str = field(repr=False)
    ca_file: str | None = None
    # Pinned certificates: the only ones accepted (then without the CA check).
    fingerprint_sha256: tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    compress: bool = False
    # The addresses the host was checked to have; empty to resolve the name.
    addresses: tuple[str, ...] = ()


SettingsProvider = Callable[[], ConnectSettings]
Opener = Callable[[ConnectSettings], ImapSession]


def open_session(settings: ConnectSettings) -> ImapSession:
    """Open a session with connect() from settings."""
    return connect(
        settings.host,
        settings.port,
        security=settings.security,
        username=settings.username,
        password=settings.password,
        ca_file=settings.ca_file,
        fingerprint_sha256=settings.fingerprint_sha256,
        timeout=settings.timeout,
        compress=settings.compress,
        addresses=settings.addresses,
    )


@dataclass
class _Idle:
    session: ImapSession
    since: float


@dataclass
class _Slots:
    """Connections of one kind (command or IDLE) of one account."""

    cap: int
    open: int = 0  # lent, idle, or being opened
    idle: list[_Idle] = field(default_factory=list)


def _pick(entries: list[_Idle], folder: str | None) -> int:
    """Return the index of the connection to lend: one in folder, else the last."""
    if folder is not None:
        wanted = encode_folder_name(folder)
        for index in range(len(entries) - 1, -1, -1):
            if entries[index].session.selected == wanted:
                return index
    return len(entries) - 1


class ConnectionPool:
    """Per-account capped pools of ImapSession. Thread safe."""

    def __init__(
        self,
        *,
        max_command: int = 2,
        max_idle_connections: int = 1,
        wait_timeout: float = 30.0,
        check_after: float = 30.0,
        max_idle: float = 300.0,
        opener: Opener = open_session,
        on_open: Callable[[Hashable], None] | None = None,
    ) -> None:
        if max_command < 1 or max_idle_connections < 0:
            raise ValueError("The pool needs at least one command connection.")
        self.max_command = max_command
        self.max_idle_connections = max_idle_connections
        self.wait_timeout = wait_timeout
        self.check_after = check_after
        self.max_idle = max_idle
        self._opener = opener
        self._on_open = on_open
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._slots: dict[tuple[Hashable, bool], _Slots] = {}
        self._closed = False

    def _slots_for(self, key: tuple[Hashable, bool]) -> _Slots:
        slots = self._slots.get(key)
        if slots is None:
            cap = self.max_idle_connections if key[1] else self.max_command
            slots = self._slots[key] = _Slots(cap=cap)
        return slots

    @contextlib.contextmanager
    def session(
        self,
        account_key: Hashable,
        settings: SettingsProvider,
        *,
        idle: bool = False,
        folder: str | None = None,
    ) -> Iterator[ImapSession]:
        """Lend a logged-in session of the account to the calling thread.

        idle=True lends the account's IDLE connection instead of a command
        connection. folder names the folder the caller will work in: a
        connection that has it selected already is preferred, since
        selecting a large folder again is slow.
        """
        key = (account_key, idle)
        session = self._acquire(key, settings, folder)
        try:
            yield session
        except ImapError as exc:
            if exc.retryable:
                # Timeouts and lost connections leave the session unusable.
                session.close()
            raise
        finally:
            self._release(key, session)

    def _acquire(
        self,
        key: tuple[Hashable, bool],
        settings: SettingsProvider,
        folder: str | None = None,
    ) -> ImapSession:
        deadline = time.monotonic() + self.wait_timeout
        entry: _Idle | None = None
        with self._changed:
            while True:
                if self._closed:
                    raise PoolExhausted("The mail connection pool is shut down.")
                slots = self._slots_for(key)
                if slots.cap == 0:
                    raise PoolExhausted("No IDLE connection is allowed.")
                if slots.idle:
                    entry = slots.idle.pop(_pick(slots.idle, folder))
                    break
                if slots.open < slots.cap:
                    slots.open += 1
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise PoolExhausted(
                        "All connections to the mail server are busy; "
                        "try again in a moment."
                    )
                self._changed.wait(left)
        # The slot is ours: network I/O happens outside the lock.
        try:
            if entry is not None:
                if time.monotonic() - entry.since < self.check_after:
                    if entry.session.usable:
                        return entry.session
                elif self._healthy(entry.session):
                    return entry.session
                logger.info("Replacing a dropped IMAP connection of %r", key[0])
                entry.session.close()
            session = self._opener(settings())
        except BaseException:
            with self._changed:
                self._slots_for(key).open -= 1
                self._changed.notify()
            raise
        if self._on_open is not None:
            try:
                self._on_open(key[0])
            except Exception:
                logger.exception("The on_open hook failed for %r", key[0])
        return session

    @staticmethod
    def _healthy(session: ImapSession) -> bool:
        if not session.usable:
            return False
        try:
            session.noop()
        except ImapError:
            return False
        return True

    def _release(self, key: tuple[Hashable, bool], session: ImapSession) -> None:
        if session.idling:
            try:
                session.idle_done()
            except ImapError:
                session.close()
        keep = session.usable and not self._closed
        with self._changed:
            slots = self._slots_for(key)
            if keep:
                slots.idle.append(_Idle(session, time.monotonic()))
            else:
                slots.open -= 1
            self._changed.notify()
        if not keep:
            session.logout()

    def _take(
        self, predicate: Callable[[tuple[Hashable, bool], _Idle], bool]
    ) -> list[ImapSession]:
        taken: list[ImapSession] = []
        with self._changed:
            for key, slots in list(self._slots.items()):
                keep = [e for e in slots.idle if not predicate(key, e)]
                for entry in slots.idle:
                    if predicate(key, entry):
                        taken.append(entry.session)
                        slots.open -= 1
                slots.idle = keep
                if slots.open == 0:
                    del self._slots[key]
            self._changed.notify_all()
        return taken

    def reap(self) -> int:
        """Log out connections unused for max_idle seconds; return how many."""
        cutoff = time.monotonic() - self.max_idle
        taken = self._take(lambda _key, entry: entry.since < cutoff)
        for session in taken:
            session.logout()
        return len(taken)

    def discard(self, account_key: Hashable) -> None:
        """Log out the account's unused connections (its settings changed).

        Lent connections are kept until they come back.
        """
        for session in self._take(lambda key, _entry: key[0] == account_key):
            session.logout()

    def close_all(self) -> None:
        """Log out every unused connection and refuse new loans.

        Connections lent at this moment are logged out when they return.
        """
        with self._changed:
            self._closed = True
        for session in self._take(lambda _key, _entry: True):
            session.logout()

    def open_count(self, account_key: Hashable, *, idle: bool = False) -> int:
        """Return how many connections of the account exist (lent or not)."""
        with self._lock:
            slots = self._slots.get((account_key, idle))
            return slots.open if slots else 0
