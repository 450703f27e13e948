"""Opening a logged-in ImapSession: sockets, TLS, certificate pinning, login.

Certificates are verified against the system trust store (plus ca_file)
unless the caller pins exact certificates by their SHA-256 fingerprints,
which an admin does for a server with a self-signed certificate (after
reading it with fetch_certificate). Whether a
plain-text connection is acceptable is a policy decision made by the
caller; it is allowed here only when asked for by name. So is which
addresses may be reached: a caller that has checked the host's addresses
passes them, and the connection goes to one of those (never to the name
resolved again) while TLS is still verified against the host name.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import imaplib
import os
import socket
import ssl
from collections.abc import Sequence
from typing import Literal

from imapclient import IMAPClient
from imapclient.exceptions import CapabilityError, IMAPClientError, LoginError
from imapclient.imap4 import IMAP4WithTimeout
from imapclient.tls import IMAP4_TLS
from imapclient.tls import wrap_socket as tls_wrap

from webmail.imap.errors import (
    AuthenticationFailed,
    ConnectionLost,
    ImapError,
    ServerUnreachable,
    Timeout,
    TlsError,
)
from webmail.imap.session import ImapSession

Security = Literal["ssl", "starttls", "none"]
DEFAULT_TIMEOUT = 30.0


def normalise_fingerprint(value: str) -> str:
    """Return a SHA-256 fingerprint as 64 lowercase hex digits.

    Accepts the usual spellings: upper or lower case, with or without
    colons or spaces, with a "sha256:" prefix.
    """
    cleaned = value.strip().lower()
    cleaned = cleaned.removeprefix("sha256:").removeprefix("sha256 ")
    cleaned = "".join(c for c in cleaned if c not in ": ")
    if len(cleaned) != 64 or any(c not in "0123456789abcdef" for c in cleaned):
        raise ValueError(f"Not a SHA-256 fingerprint: {value!r}")
    return cleaned


Fingerprints = str | Sequence[str] | None


def pinned_fingerprints(value: Fingerprints) -> frozenset[str]:
    """The normalised fingerprints of one or several pinned certificates."""
    if not value:
        return frozenset()
    values = [value] if isinstance(value, str) else value
    return frozenset(normalise_fingerprint(v) for v in values)


def tls_context(
    ca_file: str | None = None, fingerprint_sha256: Fingerprints = None
) -> ssl.SSLContext:
    """Return the TLS context to use for a mail server.

    With a pinned fingerprint the chain and host name are not checked here:
    the exact certificate is compared after the handshake instead.

    Contexts are shared by every connection with the same settings: each
    holds the parsed system trust store, about a megabyte, which a worker
    watching many accounts must not pay per connection. A changed CA file
    (same path, new modification time) gets a new context.
    """
    stamp = None
    if ca_file and not fingerprint_sha256:
        with contextlib.suppress(OSError):
            stamp = os.stat(ca_file).st_mtime_ns
    return _shared_context(ca_file, bool(fingerprint_sha256), stamp)


def unverified_context() -> ssl.SSLContext:
    """A context that takes any certificate: to read one, or to pin one."""
    return _shared_context(None, True, None)


@functools.lru_cache(maxsize=32)
def _shared_context(
    ca_file: str | None, pinned: bool, _stamp: int | None
) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if pinned:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _connect_any(
    addresses: Sequence[str], port: int, timeout: float | None
) -> socket.socket:
    """A TCP connection to the first of the given addresses that answers."""
    failure: OSError = OSError("There is no address to connect to.")
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout=timeout)
        except OSError as exc:
            failure = exc
    raise failure


class _PinnedIMAP4(IMAP4WithTimeout):  # type: ignore[misc]
    def __init__(
        self, host: str, port: int, timeout: float | None, addresses: Sequence[str]
    ) -> None:
        self._addresses = addresses
        super().__init__(host, port, timeout)

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        return _connect_any(self._addresses, self.port, timeout or self._timeout)


class _PinnedIMAP4TLS(IMAP4_TLS):  # type: ignore[misc]
    def __init__(
        self,
        host: str,
        port: int,
        context: ssl.SSLContext,
        timeout: float | None,
        addresses: Sequence[str],
    ) -> None:
        self._addresses = addresses
        super().__init__(host, port, context, timeout)

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        raw = _connect_any(self._addresses, self.port, timeout or self._timeout)
        # The certificate is checked against the name, not the address.
        sock: socket.socket = tls_wrap(raw, self.ssl_context, self.host)
        return sock


class _PinnedClient(IMAPClient):  # type: ignore[misc]
    """An IMAPClient that connects to given addresses instead of the name.

    STARTTLS needs nothing here: imaplib verifies it against self.host.
    """

    def __init__(self, host: str, addresses: Sequence[str], **options: object):
        self._addresses = addresses
        super().__init__(host, **options)

    def _create_IMAP4(self) -> imaplib.IMAP4:
        timeout = getattr(self._timeout, "connect", None)
        if self.ssl:
            return _PinnedIMAP4TLS(
                self.host, self.port, self.ssl_context, timeout, self._addresses
            )
        return _PinnedIMAP4(self.host, self.port, timeout, self._addresses)


def _check_fingerprint(client: IMAPClient, host: str, expected: frozenset[str]) -> None:
    actual = fingerprint_of(_peer_certificate(client, host))
    if not any(hmac.compare_digest(actual, one) for one in expected):
        raise TlsError(
            f"The certificate of {host} does not match the trusted fingerprint "
            f"(it presents {actual}). It may have been replaced; an admin must "
            "check it."
        )


def _peer_certificate(client: IMAPClient, host: str) -> bytes:
    sock = client.socket()
    der = (
        sock.getpeercert(binary_form=True) if isinstance(sock, ssl.SSLSocket) else None
    )
    if not der:
        raise TlsError(f"{host} presented no certificate.")
    return bytes(der)


def fingerprint_of(der: bytes) -> str:
    """The SHA-256 fingerprint of a certificate, as 64 lowercase hex digits."""
    return hashlib.sha256(der).hexdigest()


def fetch_certificate(
    host: str,
    port: int,
    *,
    security: Security,
    timeout: float = DEFAULT_TIMEOUT,
    addresses: Sequence[str] = (),
) -> bytes:
    """Return the certificate a server presents (DER), without trusting it.

    Nothing is sent after TLS is set up: this only lets an admin see the
    certificate that failed verification, and decide whether to pin it.
    Raises ImapError subclasses only.
    """
    if security not in ("ssl", "starttls"):
        raise ValueError("Only a TLS connection has a certificate.")
    context = unverified_context()
    client: IMAPClient | None = None
    try:
        client = _new_client(host, port, security, context, timeout, addresses)
        if security == "starttls":
            _starttls(client, host, context)
        return _peer_certificate(client, host)
    except (OSError, IMAPClientError) as exc:
        raise _map_os_error(exc, host, port, timeout) from exc
    finally:
        _discard(client)


def _map_os_error(
    exc: BaseException, host: str, port: int, timeout: float
) -> ImapError:
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = exc.verify_message or exc.reason or str(exc)
        return TlsError(f"The certificate of {host} is not trusted: {reason}.")
    if isinstance(exc, ssl.SSLError) and exc.reason == "WRONG_VERSION_NUMBER":
        # What OpenSSL says when the server's first bytes are not TLS: an
        # IMAP greeting, on a port that expects STARTTLS.
        return TlsError(
            f"{host} does not speak TLS at once on port {port}; "
            "it may expect STARTTLS there."
        )
    if isinstance(exc, ssl.SSLError):
        return TlsError(f"Could not set up TLS with {host}: {exc.reason or exc}.")
    if isinstance(exc, socket.gaierror):
        return ServerUnreachable(f"Could not resolve {host}.")
    if isinstance(exc, TimeoutError):
        return Timeout(f"{host} (port {port}) did not answer within {timeout:g} s.")
    if isinstance(exc, ConnectionRefusedError):
        return ServerUnreachable(f"{host} refused the connection on port {port}.")
    if isinstance(exc, OSError):
        return ServerUnreachable(f"Could not reach {host} on port {port}: {exc}.")
    return ConnectionLost(f"Lost the connection to {host}: {exc}.")


def connect(
    host: str,
    port: int,
    *,
    security: Security,
    username: str,
    password: str,
    ca_file: str | None = None,
    fingerprint_sha256: Fingerprints = None,
    timeout: float = DEFAULT_TIMEOUT,
    compress: bool = False,
    addresses: Sequence[str] = (),
) -> ImapSession:
    """Connect, secure, log in and return a ready ImapSession.

    security is "ssl" (implicit TLS, port 993), "starttls" (port 143, then
    STARTTLS before anything else) or "none" (no encryption: only when the
    caller's policy allows it). compress asks for COMPRESS=DEFLATE where
    offered. addresses, when given, are where the connection goes (in
    turn, until one answers) instead of what host resolves to now. Raises
    ImapError subclasses only.
    """
    if security not in ("ssl", "starttls", "none"):
        raise ValueError(f"Unknown security {security!r}")
    if security == "none" and fingerprint_sha256:
        raise ValueError("A certificate fingerprint needs a TLS connection.")
    pinned = pinned_fingerprints(fingerprint_sha256)
    context = tls_context(ca_file, sorted(pinned))
    client: IMAPClient | None = None
    try:
        client = _new_client(host, port, security, context, timeout, addresses)
        if security == "starttls":
            _starttls(client, host, context)
        if pinned:
            _check_fingerprint(client, host, pinned)
        try:
            client.login(username, password)
        except LoginError as exc:
            message = str(exc)
            if "[UNAVAILABLE]" in message:
                raise ServerUnreachable(
                    f"{host} cannot log anyone in right now."
                ) from exc
            if "LOGINDISABLED" in message.upper() or "plaintext" in message.lower():
                raise AuthenticationFailed(
                    f"{host} does not accept passwords over an unencrypted connection."
                ) from exc
            raise AuthenticationFailed(
                f"{host} refused the username or password."
            ) from exc
        names = frozenset(c.decode().upper() for c in client.capabilities())
        session = ImapSession(
            _take_socket(client), host=host, capabilities=names, timeout=timeout
        )
    except ImapError:
        _discard(client)
        raise
    except (OSError, IMAPClientError) as exc:
        _discard(client)
        raise _map_os_error(exc, host, port, timeout) from exc
    session.setup(compress=compress)
    return session


def _new_client(
    host: str,
    port: int,
    security: Security,
    context: ssl.SSLContext,
    timeout: float,
    addresses: Sequence[str],
) -> IMAPClient:
    """Connect (TLS at once for "ssl"), to the given addresses if any."""
    options = {
        "port": port,
        "ssl": security == "ssl",
        "ssl_context": context,
        "timeout": timeout,
    }
    if addresses:
        client = _PinnedClient(host, addresses, **options)
    else:
        client = IMAPClient(host, **options)
    # imapclient turns on imaplib's protocol trace (sent to a DEBUG
    # logger), which would record the LOGIN line with the password.
    client._imap.debug = 0
    return client


def _starttls(client: IMAPClient, host: str, context: ssl.SSLContext) -> None:
    try:
        client.starttls(context)
    except CapabilityError as exc:
        raise TlsError(f"{host} does not offer STARTTLS.") from exc


def _take_socket(client: IMAPClient) -> socket.socket:
    """Return the logged-in socket; imapclient's objects are not used again.

    The session reads and writes the socket itself from here on, so
    imaplib's read buffer (8 KiB, allocated when it connected) is closed:
    a worker watching many accounts would keep one per connection. The
    server has answered every command sent so far and sends nothing
    unasked before a folder is selected, so the buffer holds nothing.
    """
    sock: socket.socket = client.socket()
    client._imap.file.close()
    return sock


def _discard(client: IMAPClient | None) -> None:
    if client is None:
        return
    with contextlib.suppress(OSError, IMAPClientError):
        client.shutdown()
