"""Errors raised by the IMAP facade.

Every error carries a message fit to show a user (what went wrong, with
which server) and says whether retrying later can help: tasks retry the
retryable ones with backoff and report the others.
"""

from __future__ import annotations


class ImapError(Exception):
    """Base class of every error the IMAP facade raises."""

    retryable: bool = False

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        if retryable is not None:
            self.retryable = retryable

    def __str__(self) -> str:
        return self.message


class AuthenticationFailed(ImapError):
    """The server refused the username or password."""

    retryable = False


class ServerUnreachable(ImapError):
    """The host name did not resolve, or the connection was refused."""

    retryable = True


class TlsError(ImapError):
    """The certificate was invalid, or did not match the pinned fingerprint."""

    retryable = False


class Timeout(ImapError):
    """The server did not answer in time."""

    retryable = True


class ConnectionLost(ImapError):
    """The connection broke, or the server said BYE."""

    retryable = True


class OverQuota(ImapError):
    """The mailbox is full."""

    retryable = False


class FolderMissing(ImapError):
    """The folder does not exist (NONEXISTENT, TRYCREATE)."""

    retryable = False


class MessageMissing(ImapError):
    """The message is gone: another client deleted or moved it."""

    retryable = False


class CommandFailed(ImapError):
    """The server answered NO or BAD, or lacks a needed extension."""

    retryable = False


class CharsetRefused(CommandFailed):
    """The server refused a search in the asked charset (BADCHARSET, NO, BAD)."""

    retryable = False


class UnknownEncoding(CommandFailed):
    """The server cannot decode a part's transfer encoding (UNKNOWN-CTE)."""

    retryable = False


class PoolExhausted(ImapError):
    """Every allowed connection of the account stayed busy too long."""

    retryable = True
