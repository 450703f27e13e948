"""The signed image proxy: who may use it, what it fetches, what it refuses."""

from __future__ import annotations

import ipaddress
import time

import pytest
from django.core import signing
from django.test import Client

from accounts.models import User
from devtools.ports import LOOPBACK
from tests.ui.conftest import PIXEL_PNG, ImageServer
from webmail.mail import proxy
from webmail.shared import partlinks

pytestmark = pytest.mark.django_db


@pytest.fixture
def loopback_allowed(settings):
    settings.IMAGE_PROXY_ALLOWED_HOSTS = [LOOPBACK]


def test_it_serves_a_remote_image_to_the_user_it_was_signed_for(
    alice: User, image_server: ImageServer, loopback_allowed: None
):
    url = image_server.add("/pixel.png", PIXEL_PNG)
    client = Client()
    client.force_login(alice)
    response = client.get(proxy.proxy_url(alice.pk, url), HTTP_REFERER="http://x/")
    assert response.status_code == 200
    assert response.content == PIXEL_PNG
    assert response["Content-Type"] == "image/png"
    assert "max-age=604800" in response["Cache-Control"]
    # The remote host's cookie does not reach the browser.
    assert "tracker" not in response.cookies
    assert "Set-Cookie" not in response
    # Nor do the browser's cookies or referrer reach the remote host.
    sent = {name.lower() for name in image_server.requests[-1]}
    assert "cookie" not in sent
    assert "referer" not in sent


def test_a_token_made_for_alice_does_not_verify_for_bob(
    alice: User, bob: User, image_server: ImageServer, loopback_allowed: None
):
    url = image_server.add("/pixel.png", PIXEL_PNG)
    token = proxy.sign(alice.pk, url)
    client = Client()
    client.force_login(bob)
    assert client.get(f"/mail/image/{bob.pk}/{token}").status_code == 404
    assert image_server.requests == []
    assert client.get(f"/mail/image/{alice.pk}/{token}").status_code == 200


def test_a_tampered_token_is_refused(alice: User):
    token = proxy.sign(alice.pk, "http://example.org/a.png")
    with pytest.raises(proxy.ProxyError):
        proxy.unsign(alice.pk, token[:-2] + "xx")


def test_an_unsigned_url_is_refused_without_fetching(
    alice: User, image_server: ImageServer, loopback_allowed: None
):
    url = image_server.add("/pixel.png", PIXEL_PNG)
    forged = proxy.sign(alice.pk, url).split(":", 1)[0] + ":x:y"
    assert Client().get(f"/mail/image/{alice.pk}/{forged}").status_code == 404
    assert image_server.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/a.png",
        "http://localhost/a.png",
        "http://10.1.2.3/a.png",
        "http://192.168.0.1/a.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/a.png",
        "http://[::ffff:127.0.0.1]/a.png",
        "http://0.0.0.0/a.png",
    ],
)
def test_it_refuses_internal_addresses_unless_the_admin_allows_them(url: str):
    with pytest.raises(proxy.ProxyError, match="refused address"):
        proxy.fetch(url)


def test_it_refuses_the_local_server_without_the_admin_setting(
    alice: User, image_server: ImageServer
):
    url = image_server.add("/pixel.png", PIXEL_PNG)
    client = Client()
    client.force_login(alice)
    assert client.get(proxy.proxy_url(alice.pk, url)).status_code == 404
    assert image_server.requests == []


@pytest.mark.parametrize(
    "url", ["ftp://example.org/a.png", "file:///etc/passwd", "data:image/png,xx"]
)
def test_it_fetches_only_http_and_https(url: str):
    with pytest.raises(proxy.ProxyError, match="only http and https"):
        proxy.fetch(url)


def test_it_checks_the_connected_peer_address(image_server: ImageServer):
    # The address the socket really reached is checked again, so a name
    # that resolves to a public address once and a private one later
    # cannot slip through.
    with pytest.raises(proxy.ProxyError, match="refused address"):
        proxy._connect(
            "images.example.org",
            ipaddress.ip_address(LOOPBACK),
            image_server.port,
            1.0,
        )


@pytest.mark.parametrize(
    "content_type", ["text/html", "image/svg+xml", "application/octet-stream", ""]
)
def test_it_passes_only_raster_images(
    image_server: ImageServer, loopback_allowed: None, content_type: str
):
    url = image_server.add("/thing", b"<svg onload=alert(1)>", content_type)
    with pytest.raises(proxy.ProxyError, match="not an image"):
        proxy.fetch(url)


def test_it_caps_the_size(image_server: ImageServer, loopback_allowed: None, settings):
    settings.IMAGE_PROXY_MAX_BYTES = 1000
    url = image_server.add("/big.png", b"x" * 5000)
    with pytest.raises(proxy.ProxyError, match="too large"):
        proxy.fetch(url)
    # Also when the server does not say how large the image is.
    big = image_server.add("/big2.png", b"x" * 200_000)
    settings.IMAGE_PROXY_MAX_BYTES = 100_000
    with pytest.raises(proxy.ProxyError, match="too large"):
        proxy.fetch(big)


def test_it_caps_the_time(image_server: ImageServer, loopback_allowed: None, settings):
    settings.IMAGE_PROXY_TIMEOUT = 1
    url = image_server.add("/slow.png", b"x" * 100, delay=0.2)
    started = time.monotonic()
    with pytest.raises(proxy.ProxyError):
        proxy.fetch(url)
    assert time.monotonic() - started < 3


def test_it_follows_redirects_and_checks_each_target(
    image_server: ImageServer, loopback_allowed: None, settings
):
    target = image_server.add("/pixel.png", PIXEL_PNG)
    start = image_server.add(
        "/moved", b"", "text/plain", status=302, headers={"Location": "/pixel.png"}
    )
    assert proxy.fetch(start).content == PIXEL_PNG
    assert target
    image_server.add(
        "/to-metadata",
        b"",
        "text/plain",
        status=302,
        headers={"Location": "http://169.254.169.254/latest/"},
    )
    with pytest.raises(proxy.ProxyError, match="refused address"):
        proxy.fetch(image_server.url("/to-metadata"))


def token_made_ago(user: User, url: str, seconds: int) -> str:
    """Return the token proxy.sign would have made for the user seconds ago."""

    class Earlier(signing.TimestampSigner):
        def timestamp(self) -> str:
            return signing.b62_encode(int(time.time()) - seconds)

    return Earlier(salt=f"webmail.proxy.user:{user.pk}").sign_object(url, compress=True)


def test_a_token_expires_after_the_part_links_limit(
    alice: User, image_server: ImageServer, loopback_allowed: None
):
    url = image_server.add("/pixel.png", PIXEL_PNG)
    client = Client()
    client.force_login(alice)
    # A week old, within the limit: served.
    week_old = token_made_ago(alice, url, 7 * 24 * 3600)
    assert client.get(f"/mail/image/{alice.pk}/{week_old}").content == PIXEL_PNG
    assert len(image_server.requests) == 1
    # Past the limit: refused, and the remote host is not asked.
    expired = token_made_ago(alice, url, partlinks.SIGNED_MAX_AGE + 60)
    assert client.get(f"/mail/image/{alice.pk}/{expired}").status_code == 404
    assert len(image_server.requests) == 1
