"""The worker's IMAP connections: one pool per process, lent per account.

Only worker processes (and tests) open IMAP connections. Credentials are
read from the MailAccount each time a connection must be opened, so a
changed password takes effect on the next connection and the pool keeps no
secrets. At the worker's shutdown every connection is logged out
(webmail.engine.tasks).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import AbstractContextManager
from typing import TypeVar

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from accounts.certificates import fingerprints_for
from accounts.hosts import HostError, check_host, plaintext_allowed
from accounts.models import MailAccount
from webmail import door
from webmail.imap import (
    ConnectionLost,
    ConnectionPool,
    ConnectSettings,
    ImapError,
    ImapSession,
    Security,
)
from webmail.models import AccountState, OperationState, PendingOperation
from webmail.shared import events

logger = logging.getLogger(__name__)
T = TypeVar("T")

_pool: ConnectionPool | None = None
_pool_lock = threading.Lock()


class AccountUnusable(ImapError):
    """The account's settings cannot be used (refused host, no account)."""

    retryable = False


def get_pool() -> ConnectionPool:
    """Return this process's connection pool, creating it on first use."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ConnectionPool(
                max_command=settings.IMAP_COMMAND_CONNECTIONS,
                max_idle_connections=settings.IMAP_IDLE_CONNECTIONS,
                max_idle=settings.IMAP_IDLE_TIMEOUT,
                wait_timeout=float(settings.IMAP_POOL_WAIT),
                on_open=_reached,
            )
        return _pool


def _reached(account_key: Hashable) -> None:
    """A new connection of the account logged in: what waited for it goes now.

    The account's recorded error (server unreachable, password refused)
    no longer holds, and the pages stop saying it; operations whose push
    was put off until the server came back are pushed at once rather
    than after their backoff.
    """
    account_id = int(str(account_key))
    now = timezone.now()
    try:
        state = AccountState.objects.filter(account_id=account_id).exclude(error="")
        cleared = state.exists() and state.update(
            error="", error_kind="", error_at=None
        )
        postponed = PendingOperation.objects.filter(
            account_id=account_id,
            state=OperationState.PENDING,
            next_attempt_at__gt=now,
        )
        resumed = postponed.exists() and postponed.update(next_attempt_at=now)
    except DatabaseError:
        logger.exception("Could not resume the work of account %s", account_id)
        return
    if resumed:
        logger.info("Account %s reached again: pushing its outbox now", account_id)
        door.push_changes(account_id)
    if cleared:
        owner = (
            MailAccount.objects.filter(id=account_id)
            .values_list("user_id", flat=True)
            .first()
        )
        if owner is not None:
            events.publish(owner, {"type": "status", "account": account_id})


def close_pool() -> None:
    """Log out every connection of this process and forget the pool."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.close_all()


def connect_settings(account_id: int) -> ConnectSettings:
    """Return what connect() needs for an account, read fresh from the database.

    The host passes the same checks as when the user saved it: no private
    addresses unless allowed, no plain text unless allowed. The connection
    goes to the addresses checked here, not to the name resolved again.
    """
    try:
        account = MailAccount.objects.get(id=account_id)
    except MailAccount.DoesNotExist:
        raise AccountUnusable("The mail account no longer exists.") from None
    try:
        addresses = check_host(account.imap_host, account.imap_port)
    except HostError as exc:
        raise AccountUnusable(exc.message) from None
    security: Security = account.imap_security  # type: ignore[assignment]
    if security == "none" and not plaintext_allowed(account.imap_host):
        raise AccountUnusable(
            f"{account.imap_host} may not be used without TLS; an admin must allow it."
        )
    return ConnectSettings(
        host=account.imap_host,
        port=account.imap_port,
        security=security,
        username=account.imap_username,
        password=account.imap_password,
        ca_file=settings.MAIL_CA_FILE,
        fingerprint_sha256=fingerprints_for(account.imap_host, account.tls_fingerprint),
        timeout=float(settings.MAIL_CONNECT_TIMEOUT),
        addresses=tuple(str(address) for address in addresses),
    )


@contextlib.contextmanager
def account_session(
    account_id: int, *, idle: bool = False, folder: str | None = None
) -> Iterator[ImapSession]:
    """Lend a logged-in session of the account from this process's pool.

    folder: the folder the work is about; a connection that has it
    selected already is lent if there is one.
    """
    with get_pool().session(
        account_id, lambda: connect_settings(account_id), idle=idle, folder=folder
    ) as session:
        yield session


def with_session(
    account_id: int, work: Callable[[ImapSession], T], folder: str | None = None
) -> T:
    """Run work on a session, once more on a fresh one if the link broke.

    A pooled connection may have been cut while it sat unused (a server
    restart); the first command then fails, and a new connection is the
    cure. A second failure is the caller's to handle.
    """
    try:
        with account_session(account_id, folder=folder) as session:
            return work(session)
    except ConnectionLost:
        logger.info("Retrying on a new connection for account %s", account_id)
    with account_session(account_id, folder=folder) as session:
        return work(session)


class HeldSession:
    """One of the account's IDLE connections, held across a watch's steps.

    Borrowed from the pool on first use and kept (between steps, while it
    idles) until release(); a watch may hold as many as the pool's IDLE
    cap allows. folder: the folder it is for, so the pool lends the
    connection that has it open already.
    """

    def __init__(self, account_id: int, folder: str | None = None) -> None:
        self.account_id = account_id
        self.folder = folder
        self.session: ImapSession | None = None
        self._lease: AbstractContextManager[ImapSession] | None = None

    def get(self) -> ImapSession:
        """Return the held session, borrowing one if none is held."""
        if self.session is None:
            lease = account_session(self.account_id, idle=True, folder=self.folder)
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
