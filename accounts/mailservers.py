"""Trying a user's mail-server settings, and saying exactly what failed.

IMAP is tried on implicit TLS (993) and then STARTTLS (143); SMTP on
implicit TLS (465) and then STARTTLS (587). A connection without TLS is
tried only for a host the admin allows it for. Every attempt reports one
of: name lookup, refused, timeout, TLS certificate, login, or success.

Views call this module; it is the only place outside the IMAP engine that
talks to mail servers. Every attempt resolves the host once, checks the
addresses (accounts.hosts) and connects to one of those, never to the name
resolved again, while TLS is verified against the name.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext as _

from accounts import certificates, hosts
from accounts.certificates import CertificateInfo
from webmail import imap

IMAPS_PORT, IMAP_PORT = 993, 143
# Failures that another port or another kind of TLS would not fix.
FINAL_PROBLEMS = ("login", "lookup", "certificate")
SMTPS_PORT, SUBMISSION_PORT = 465, 587
# Problems from the most telling to the least (ProbeResult.message).
TELLING = ("login", "certificate", "lookup", "other", "refused", "tls", "timeout", "")


@dataclass(frozen=True)
class Attempt:
    """One try: where, how, and what happened."""

    port: int
    security: str
    ok: bool
    # "", "lookup", "refused", "timeout", "certificate", "tls", "login", "other"
    problem: str
    message: str
    # The certificate that was not trusted, for a person to check.
    certificate: CertificateInfo | None = None


@dataclass
class ProbeResult:
    """The outcome of trying one server: the working settings, if any."""

    host: str
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return any(a.ok for a in self.attempts)

    @property
    def working(self) -> Attempt | None:
        return next((a for a in self.attempts if a.ok), None)

    @property
    def message(self) -> str:
        """The one line to show: success, or the most telling failure."""
        if self.working is not None:
            return self.working.message
        if not self.attempts:
            return _("Nothing was tried.")
        # The attempt that got furthest says what to fix: a login failure
        # means the server was fine; an untrusted certificate on STARTTLS
        # matters more than implicit TLS not being spoken on that port.
        return min(self.attempts, key=lambda a: TELLING.index(a.problem)).message


def _candidates(
    port: int | None, secure_port: int, starttls_port: int, host: str
) -> list[tuple[int, str]]:
    if port is None:
        tries = [(secure_port, "ssl"), (starttls_port, "starttls")]
    elif port == secure_port:
        tries = [(port, "ssl")]
    elif port == starttls_port:
        tries = [(port, "starttls")]
    else:
        tries = [(port, "ssl"), (port, "starttls")]
    if hosts.plaintext_allowed(host):
        tries.append((starttls_port if port is None else port, "none"))
    return tries


def _timeout() -> float:
    return float(settings.MAIL_CONNECT_TIMEOUT)


def host_passes(result: ProbeResult, port: int | None, security: str) -> bool:
    try:
        hosts.check_host(result.host)
    except hosts.HostNotFound as exc:
        result.attempts.append(
            Attempt(port or 0, security, False, "lookup", exc.message)
        )
        return False
    except hosts.HostError as exc:
        result.attempts.append(
            Attempt(port or 0, security, False, "other", exc.message)
        )
        return False
    return True


def _checked_addresses(
    host: str, port: int, security: str
) -> tuple[list[hosts.IPAddress], Attempt | None]:
    """The host's addresses to connect to, or the failed attempt saying why not."""
    try:
        return hosts.check_host(host, port), None
    except hosts.HostError as exc:
        problem = "lookup" if isinstance(exc, hosts.HostNotFound) else "other"
        return [], Attempt(port, security, False, problem, exc.message)


def _plaintext_refused(host: str, port: int, security: str) -> Attempt | None:
    if security != "none" or hosts.plaintext_allowed(host):
        return None
    return Attempt(
        port,
        security,
        False,
        "tls",
        _(
            "Connecting to %(host)s without TLS would expose the password; "
            "an admin must allow it for this server."
        )
        % {"host": host},
    )


def _signed_in(host: str, port: int, security: str) -> str:
    labels = {"ssl": "TLS", "starttls": "STARTTLS", "none": _("no encryption")}
    return _("Signed in to %(host)s on port %(port)d (%(security)s).") % {
        "host": host,
        "port": port,
        "security": labels[security],
    }


def _imap_problem(exc: imap.ImapError) -> str:
    if isinstance(exc, imap.AuthenticationFailed):
        return "login"
    if isinstance(exc, imap.TlsError):
        return "certificate" if "certificate" in exc.message else "tls"
    if isinstance(exc, imap.Timeout):
        return "timeout"
    if isinstance(exc, imap.ServerUnreachable):
        if "resolve" in exc.message:
            return "lookup"
        if "refused" in exc.message:
            return "refused"
    return "other"


def try_imap_once(
    host: str,
    port: int,
    security: str,
    username: str,
    password: str,
    fingerprint: str = "",
) -> Attempt:
    """Log in once with exactly these settings."""
    refused = _plaintext_refused(host, port, security)
    if refused is not None:
        return refused
    addresses, refused = _checked_addresses(host, port, security)
    if refused is not None:
        return refused
    try:
        session = imap.connect(
            host,
            port,
            security=security,  # type: ignore[arg-type]
            username=username,
            password=password,
            ca_file=settings.MAIL_CA_FILE,
            fingerprint_sha256=certificates.fingerprints_for(host, fingerprint),
            timeout=_timeout(),
            addresses=[str(address) for address in addresses],
        )
    except imap.ImapError as exc:
        problem = _imap_problem(exc)
        shown = None
        if problem == "certificate":
            shown = read_certificate(host, port, security, "imap")
        return Attempt(port, security, False, problem, exc.message, shown)
    session.logout()
    return Attempt(port, security, True, "", _signed_in(host, port, security))


def probe_imap(
    host: str, port: int | None, username: str, password: str, fingerprint: str = ""
) -> ProbeResult:
    """Try the IMAP server until one way in works, or every way failed."""
    host = hosts.normalise_host(host)
    result = ProbeResult(host)
    if not host_passes(result, port, "ssl"):
        return result
    return _try_in_turn(
        result,
        _candidates(port, IMAPS_PORT, IMAP_PORT, host),
        lambda p, security: try_imap_once(
            host, p, security, username, password, fingerprint
        ),
    )


def _try_in_turn(
    result: ProbeResult,
    tries: list[tuple[int, str]],
    attempt: Callable[[int, str], Attempt],
) -> ProbeResult:
    """Try each way in until one works or the rest cannot help.

    A wrong password or an untrusted certificate will be the same on the
    next port. A port that timed out is not tried again with the other
    kind of TLS: nothing spoke there, and each try would cost the user the
    whole timeout again.
    """
    silent: set[int] = set()
    for port, security in tries:
        if port in silent:
            continue
        outcome = attempt(port, security)
        result.attempts.append(outcome)
        if outcome.ok or outcome.problem in FINAL_PROBLEMS:
            break
        if outcome.problem == "timeout":
            silent.add(port)
    return result


class CertificateMismatch(ssl.SSLError):
    """The SMTP server's certificate is not one of those trusted for it."""

    def __init__(self, presented: str) -> None:
        super().__init__(presented)
        self.presented = presented


def _check_smtp_certificate(client: smtplib.SMTP, pinned: frozenset[str]) -> None:
    sock = client.sock
    der = (
        sock.getpeercert(binary_form=True) if isinstance(sock, ssl.SSLSocket) else None
    )
    presented = imap.fingerprint_of(der) if der else ""
    if presented not in pinned:
        raise CertificateMismatch(presented)


def _smtp_failure(exc: BaseException, host: str, port: int) -> tuple[str, str]:
    problem, message = _smtp_problem(exc)
    reason: object = exc
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = exc.verify_message or exc.reason or str(exc)
    elif isinstance(exc, ssl.SSLError):
        reason = exc.reason or exc
    return problem, message % {"host": host, "port": port, "reason": reason}


def _smtp_problem(exc: BaseException) -> tuple[str, str]:
    """The kind of failure, and what to say, with %(host)s, %(port)d, %(reason)s."""
    if isinstance(exc, CertificateMismatch):
        return "certificate", _(
            "The certificate of %(host)s is not the one trusted for it; "
            "it may have been replaced, and an operator must check it."
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "certificate", _(
            "The certificate of %(host)s is not trusted: %(reason)s."
        )
    if isinstance(exc, ssl.SSLError) and exc.reason == "WRONG_VERSION_NUMBER":
        return "tls", _(
            "%(host)s does not speak TLS at once on port %(port)d; "
            "it may expect STARTTLS there."
        )
    if isinstance(exc, ssl.SSLError):
        return "tls", _("Could not set up TLS with %(host)s: %(reason)s.")
    if isinstance(exc, socket.gaierror):
        return "lookup", _("Could not resolve %(host)s.")
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timeout", _("%(host)s (port %(port)d) did not answer in time.")
    if isinstance(exc, ConnectionRefusedError):
        return "refused", _("%(host)s refused the connection on port %(port)d.")
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return "login", _("%(host)s refused the username or password.")
    if isinstance(exc, smtplib.SMTPNotSupportedError) and "STARTTLS" in str(exc):
        return "tls", _("%(host)s does not offer STARTTLS on port %(port)d.")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return "login", _("%(host)s does not accept a sign-in on port %(port)d.")
    if isinstance(exc, smtplib.SMTPException | OSError):
        return "other", _("Could not talk to %(host)s on port %(port)d: %(reason)s.")
    return "other", _("Could not talk to %(host)s on port %(port)d.")


class PinnedSMTP(smtplib.SMTP):
    """An SMTP client that connects to checked addresses, not to the name.

    STARTTLS is still verified against the host name (smtplib's _host).
    """

    def __init__(
        self,
        host: str,
        port: int,
        addresses: Sequence[hosts.IPAddress],
        *,
        timeout: float,
    ) -> None:
        self._addresses = addresses
        super().__init__(host, port, timeout=timeout)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return hosts.connect_to(self._addresses, port, timeout)


class PinnedSMTPSSL(smtplib.SMTP_SSL):
    """PinnedSMTP on implicit TLS, verified against the host name."""

    def __init__(
        self,
        host: str,
        port: int,
        addresses: Sequence[hosts.IPAddress],
        *,
        timeout: float,
        context: ssl.SSLContext,
    ) -> None:
        self._addresses = addresses
        super().__init__(host, port, timeout=timeout, context=context)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        # host is the name the client was made with, not the address.
        raw = hosts.connect_to(self._addresses, port, timeout)
        return self.context.wrap_socket(raw, server_hostname=host)


def try_smtp_once(
    host: str, port: int, security: str, username: str, password: str
) -> Attempt:
    """Log in once to an SMTP server with exactly these settings."""
    refused = _plaintext_refused(host, port, security)
    if refused is not None:
        return refused
    addresses, refused = _checked_addresses(host, port, security)
    if refused is not None:
        return refused
    client: smtplib.SMTP | None = None
    try:
        client = open_smtp(host, port, security, addresses, _timeout())
        if username:
            client.login(username, password)
    except (OSError, smtplib.SMTPException) as exc:
        problem, message = _smtp_failure(exc, host, port)
        shown = None
        if problem == "certificate":
            shown = read_certificate(host, port, security, "smtp")
        return Attempt(port, security, False, problem, message, shown)
    finally:
        if client is not None:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()
    return Attempt(port, security, True, "", _signed_in(host, port, security))


def probe_smtp(
    host: str, port: int | None, username: str, password: str
) -> ProbeResult:
    """Try the SMTP server: 465 with TLS, then 587 with STARTTLS."""
    host = hosts.normalise_host(host)
    result = ProbeResult(host)
    if not host_passes(result, port, "ssl"):
        return result
    return _try_in_turn(
        result,
        _candidates(port, SMTPS_PORT, SUBMISSION_PORT, host),
        lambda p, security: try_smtp_once(host, p, security, username, password),
    )


def open_smtp(
    host: str,
    port: int,
    security: str,
    addresses: Sequence[hosts.IPAddress],
    timeout: float,
) -> smtplib.SMTP:
    """Connect to checked addresses of an SMTP server, TLS set up and verified.

    security "ssl" is TLS from the start (465), "starttls" upgrades the
    connection (587) and fails if the server does not offer it; "none"
    is for hosts the caller has checked with hosts.plaintext_allowed().
    The certificate is verified against the host name, with MAIL_CA_FILE,
    or must be one an operator trusts for the host (accounts.certificates).
    The caller logs in and closes the client.
    """
    pinned = frozenset(certificates.fingerprints_for(host))
    context = imap.tls_context(settings.MAIL_CA_FILE, sorted(pinned))
    client: smtplib.SMTP
    if security == "ssl":
        client = PinnedSMTPSSL(host, port, addresses, timeout=timeout, context=context)
    else:
        client = PinnedSMTP(host, port, addresses, timeout=timeout)
    try:
        if security == "starttls":
            client.starttls(context=context)
        if pinned and security != "none":
            _check_smtp_certificate(client, pinned)
        client.ehlo_or_helo_if_needed()
    except BaseException:
        client.close()
        raise
    return client


def read_certificate(
    host: str, port: int, security: str, protocol: str
) -> CertificateInfo | None:
    """The certificate a server presents, unverified; None if it cannot be read."""
    if security not in ("ssl", "starttls"):
        return None
    try:
        addresses = hosts.check_host(host, port)
        if protocol == "imap":
            der = imap.fetch_certificate(
                host,
                port,
                security=security,  # type: ignore[arg-type]
                timeout=_timeout(),
                addresses=[str(address) for address in addresses],
            )
        else:
            der = _smtp_certificate(host, port, security, addresses)
    except (hosts.HostError, imap.ImapError, OSError, smtplib.SMTPException):
        return None
    return certificates.describe(der, host, port, security, protocol)


def _smtp_certificate(
    host: str, port: int, security: str, addresses: Sequence[hosts.IPAddress]
) -> bytes:
    context = imap.unverified_context()
    client: smtplib.SMTP
    if security == "ssl":
        client = PinnedSMTPSSL(
            host, port, addresses, timeout=_timeout(), context=context
        )
    else:
        client = PinnedSMTP(host, port, addresses, timeout=_timeout())
    try:
        if security == "starttls":
            client.starttls(context=context)
        sock = client.sock
        der = (
            sock.getpeercert(binary_form=True)
            if isinstance(sock, ssl.SSLSocket)
            else None
        )
    finally:
        client.close()
    if not der:
        raise OSError(f"{host} presented no certificate.")
    return der
