"""The signed image proxy: remote images in mail, fetched by the server.

A message's remote images reach the browser only through this proxy, once
the user allows them, so the sender learns neither the reader's address nor
when the mail was read. Each proxied URL names a user and carries a
signature made with that user's salt: only URLs the webmail wrote into that
user's mail verify, so nobody can use the proxy as an open relay. The
signature is the credential, not the session: the images load from inside
the sandboxed message frame, whose opaque origin makes the browser leave
the (SameSite) session cookie out. Like the links of inline parts, a
signature expires (partlinks.SIGNED_MAX_AGE), so a URL copied out of a
page does not fetch through the proxy for ever.

The fetch refuses anything but http and https, and any host that resolves
to a loopback, private, link-local or otherwise non-public address unless an
admin lists it in settings.IMAGE_PROXY_ALLOWED_HOSTS (the check is
accounts.hosts', with the proxy's own allow-list). The connection goes to
the address that was checked (never resolved a second time), and the peer
address of the connected socket is checked again, so a name whose answer
changes between look-ups (DNS rebinding) cannot reach an internal service.
Only image/* answers pass (SVG excepted, as it can carry scripts), within a
size and a time limit; no cookies or referrer are sent.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from django.conf import settings
from django.core import signing
from django.urls import reverse

from accounts import hosts
from accounts.hosts import IPAddress
from webmail.shared.partlinks import SIGNED_MAX_AGE

MAX_REDIRECTS = 3
CHUNK = 64 * 1024
# Image types a browser renders without running anything; SVG is left out.
ALLOWED_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/pjpeg",
        "image/gif",
        "image/webp",
        "image/avif",
        "image/bmp",
        "image/x-icon",
        "image/vnd.microsoft.icon",
    }
)
USER_AGENT = "Mozilla/5.0 (compatible; webmail-image-proxy)"


class ProxyError(Exception):
    """An image that will not be fetched or passed on."""


@dataclass(frozen=True)
class Image:
    """A fetched image: its bytes and its content type."""

    content: bytes
    content_type: str


def _salt(user_id: int) -> str:
    return f"webmail.proxy.user:{user_id}"


def sign(user_id: int, url: str) -> str:
    """Return the token that lets this user fetch this URL through the proxy."""
    return signing.dumps(url, salt=_salt(user_id), compress=True)


def unsign(user_id: int, token: str) -> str:
    """Return the URL in a token signed for this user; ProxyError otherwise.

    A token older than SIGNED_MAX_AGE no longer verifies.
    """
    try:
        url = signing.loads(token, salt=_salt(user_id), max_age=SIGNED_MAX_AGE)
    except signing.BadSignature as exc:
        raise ProxyError("bad signature") from exc
    if not isinstance(url, str):
        raise ProxyError("bad token")
    return url


def proxy_url(user_id: int, url: str) -> str:
    """Return the site path that serves the image at url to this user."""
    return reverse("image_proxy", args=[user_id, sign(user_id, url)])


def url_rewriter(user_id: int) -> Callable[[str], str]:
    """Return a function mapping a remote URL to its proxy path for the user."""

    def rewrite(url: str) -> str:
        return proxy_url(user_id, url)

    return rewrite


def allowed_address(host: str, address: IPAddress) -> bool:
    """Whether the proxy may connect to this address for this host name."""
    return hosts.address_allowed(host, address, settings.IMAGE_PROXY_ALLOWED_HOSTS)


def _checked_addresses(host: str, port: int) -> list[IPAddress]:
    """The host's addresses, if the proxy may connect to every one of them."""
    try:
        return hosts.check_host(host, port, settings.IMAGE_PROXY_ALLOWED_HOSTS)
    except hosts.HostNotAllowed as exc:
        raise ProxyError(f"{host} resolves to a refused address") from exc
    except hosts.HostError as exc:
        raise ProxyError(f"cannot resolve {host}") from exc


def _connect(host: str, address: IPAddress, port: int, timeout: float) -> socket.socket:
    sock = socket.create_connection((str(address), port), timeout=timeout)
    try:
        peer = ipaddress.ip_address(str(sock.getpeername()[0]).split("%", 1)[0])
        if not allowed_address(host, peer):
            raise ProxyError(f"{host} connected to a refused address")
    except BaseException:
        sock.close()
        raise
    return sock


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to one checked address, whatever DNS says later."""

    def __init__(self, host: str, port: int, address: IPAddress, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.address = address
        self.limit = timeout

    def connect(self) -> None:
        self.sock = _connect(self.host, self.address, self.port, self.limit)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to one checked address, verified for the host name."""

    def __init__(self, host: str, port: int, address: IPAddress, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.address = address
        self.limit = timeout
        self.tls = ssl.create_default_context()

    def connect(self) -> None:
        raw = _connect(self.host, self.address, self.port, self.limit)
        self.sock = self.tls.wrap_socket(raw, server_hostname=self.host)


def _open(url: str, timeout: float) -> http.client.HTTPResponse:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ProxyError("only http and https images are fetched")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise ProxyError("no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise ProxyError("bad port") from exc
    addresses = _checked_addresses(host, port)
    connection_class = (
        _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    )
    connection = connection_class(host, port, addresses[0], timeout)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    try:
        connection.request(
            "GET",
            target,
            headers={"User-Agent": USER_AGENT, "Accept": "image/*"},
        )
        return connection.getresponse()
    except (OSError, http.client.HTTPException) as exc:
        connection.close()
        raise ProxyError(f"cannot fetch from {host}") from exc


def fetch(url: str) -> Image:
    """Fetch an image for the proxy; ProxyError for anything it refuses."""
    max_bytes = int(settings.IMAGE_PROXY_MAX_BYTES)
    limit = float(settings.IMAGE_PROXY_TIMEOUT)
    deadline = time.monotonic() + limit
    for _ in range(MAX_REDIRECTS + 1):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ProxyError("took too long")
        response = _open(url, remaining)
        try:
            if response.status in (301, 302, 303, 307, 308):
                location = response.getheader("Location")
                if not location:
                    raise ProxyError("redirect without a location")
                url = urljoin(url, location)
                continue
            if response.status != 200:
                raise ProxyError(f"status {response.status}")
            content_type = (
                (response.getheader("Content-Type") or "")
                .split(";", 1)[0]
                .strip()
                .lower()
            )
            if content_type not in ALLOWED_TYPES:
                raise ProxyError(f"not an image: {content_type or 'no type'}")
            declared = response.getheader("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise ProxyError("image too large")
            body = bytearray()
            while True:
                if time.monotonic() > deadline:
                    raise ProxyError("took too long")
                try:
                    # read1 returns after one receive, so the deadline is
                    # checked even against a server that trickles bytes.
                    chunk = response.read1(CHUNK)
                except (OSError, http.client.HTTPException) as exc:
                    raise ProxyError("read failed") from exc
                if not chunk:
                    break
                body.extend(chunk)
                if len(body) > max_bytes:
                    raise ProxyError("image too large")
            return Image(bytes(body), content_type)
        finally:
            response.close()
    raise ProxyError("too many redirects")
