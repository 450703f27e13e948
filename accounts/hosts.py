"""The one check every user-typed mail host passes before anything connects.

A host that resolves to a loopback, private, link-local, reserved or
otherwise non-public address is refused, so that nobody can point the
workers at internal services, unless the admin lists the host (by name, by
address or by network) in settings.MAIL_ALLOWED_PRIVATE_HOSTS.

The IMAP engine calls check_host() before each new connection, and the
connection test calls it before its first attempt. The address is resolved
again by the connection itself; a name whose answer changes between the two
look-ups (DNS rebinding) is not caught here.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

from django.conf import settings

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
            f"Could not resolve {host}: there is no server by that name."
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


def check_host(host: str, port: int | None = None) -> list[IPAddress]:
    """Return the host's addresses if a connection to it is allowed.

    Raises HostNotFound when the name does not resolve and HostNotAllowed
    when any of its addresses is not public and not allowed by the admin.
    Every address must pass, since the connection may use any of them.
    """
    name = normalise_host(host)
    if not name:
        raise HostNotFound("Enter the server's name.")
    addresses = resolve(name, port)
    if not addresses:
        raise HostNotFound(f"Could not resolve {name}: it has no addresses.")
    allowed = [str(item) for item in settings.MAIL_ALLOWED_PRIVATE_HOSTS]
    for address in addresses:
        if not _is_public(address) and not _allowed(name, address, allowed):
            raise HostNotAllowed(
                f"{name} resolves to {address}, a private or local address. "
                "Mail servers on internal networks must be allowed by an admin."
            )
    return addresses


def plaintext_allowed(host: str) -> bool:
    """Whether the admin allows connections to this host without TLS."""
    name = normalise_host(host)
    allowed = {normalise_host(h) for h in settings.MAIL_ALLOWED_PLAINTEXT_HOSTS}
    return name in allowed
