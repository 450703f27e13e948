"""The one check every user-typed mail host passes before anything connects.

A host that resolves to a loopback, private, link-local, reserved or
otherwise non-public address is refused, so that nobody can point the
workers at internal services, unless the admin lists the host (by name, by
address or by network) in settings.MAIL_ALLOWED_PRIVATE_HOSTS.

Every connection is made to an address this check returned, never to the
name resolved a second time: the IMAP engine (webmail.engine.connections) and the
connection test (accounts.mailservers, IMAP and SMTP) pass check_host()'s
addresses to the code that opens the socket (imap.connect(), connect_to()),
and the image proxy pins its connection likewise, with its own allow-list.
A name whose answer changes between look-ups (DNS rebinding) therefore
cannot lead to an internal service. TLS is still verified against the
host name.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.utils.translation import gettext as _

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class HostError(Exception):
    """A mail host that cannot be used; the message is fit for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class HostNotFound(HostError):
    """The name did not resolve."""


class HostNotAllowed(HostError):
    """The name resolves to an address the admin has not allowed."""


def _is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return _is_public(address.ipv4_mapped)
    return address.is_global and not address.is_multicast


def _allowed(host: str, address: IPAddress, allowed: Iterable[str]) -> bool:
    for entry in allowed:
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry == host:
            return True
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            continue
        if address.version == network.version and address in network:
            return True
    return False


def resolve(host: str, port: int | None = None) -> list[IPAddress]:
    """Return the addresses a host name resolves to, without duplicates."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise HostNotFound(
            _("Could not resolve %(host)s: there is no server by that name.")
            % {"host": host}
        ) from exc
    addresses: list[IPAddress] = []
    for info in infos:
        # The zone of a scoped IPv6 address ("fe80::1%eth0") is dropped.
        text = str(info[4][0]).split("%", 1)[0]
        address = ipaddress.ip_address(text)
        if address not in addresses:
            addresses.append(address)
    return addresses


def normalise_host(host: str) -> str:
    """Return the host as typed, trimmed and lowercased, without brackets."""
    host = host.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host


def address_allowed(
    host: str, address: IPAddress, allowed: Iterable[object] | None = None
) -> bool:
    """Whether a connection for this host name may go to this address.

    allowed is the admin's list of private hosts, names or networks;
    settings.MAIL_ALLOWED_PRIVATE_HOSTS unless another list is given.
    """
    if allowed is None:
        allowed = settings.MAIL_ALLOWED_PRIVATE_HOSTS
    entries = [str(item) for item in allowed]
    return _is_public(address) or _allowed(normalise_host(host), address, entries)


def check_host(
    host: str, port: int | None = None, allowed: Iterable[object] | None = None
) -> list[IPAddress]:
    """Return the host's addresses if a connection to it is allowed.

    Raises HostNotFound when the name does not resolve and HostNotAllowed
    when any of its addresses is not public and not in allowed (by default
    the admin's MAIL_ALLOWED_PRIVATE_HOSTS). Every address must pass, since
    the connection may use any of them. Connect to the returned addresses,
    not to the name.
    """
    name = normalise_host(host)
    if not name:
        raise HostNotFound(_("Enter the server's name."))
    addresses = resolve(name, port)
    if not addresses:
        raise HostNotFound(
            _("Could not resolve %(host)s: it has no addresses.") % {"host": name}
        )
    entries = list(settings.MAIL_ALLOWED_PRIVATE_HOSTS if allowed is None else allowed)
    for address in addresses:
        if not address_allowed(name, address, entries):
            raise HostNotAllowed(
                _(
                    "%(host)s resolves to %(address)s, a private or local address. "
                    "Mail servers on internal networks must be allowed by an admin."
                )
                % {"host": name, "address": address}
            )
    return addresses


def connect_to(
    addresses: Sequence[IPAddress | str], port: int, timeout: float
) -> socket.socket:
    """Open a TCP connection to the first of these addresses that answers."""
    if not addresses:
        raise HostNotFound(_("There is no address to connect to."))
    failure: OSError | None = None
    for address in addresses:
        try:
            return socket.create_connection((str(address), port), timeout=timeout)
        except OSError as exc:
            failure = exc
    assert failure is not None
    raise failure


def plaintext_allowed(host: str) -> bool:
    """Whether the admin allows connections to this host without TLS."""
    name = normalise_host(host)
    allowed = {normalise_host(h) for h in settings.MAIL_ALLOWED_PLAINTEXT_HOSTS}
    return name in allowed
