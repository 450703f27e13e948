"""Fixtures for the mailbox pages: users, a served app, a remote image host."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from accounts.models import MailAccount, User
from devtools.ports import LOOPBACK, free_port, wait_for_ports

PASSWORD = "correct horse battery staple 1"
# The smallest valid PNG: one transparent pixel.
PIXEL_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082"
)


def make_user(name: str) -> User:
    user = User.objects.create_user(
        username=name, email=f"{name}@example.org", password=PASSWORD
    )
    account = MailAccount(
        user=user,
        email=f"{name}@example.org",
        imap_host="imap.example.org",
        imap_username=f"{name}@example.org",
    )
    account.imap_password = f"mail-secret-of-{name}"
    account.save()
    return user


@pytest.fixture(autouse=True)
def _quick_body_timeout(settings) -> None:
    # No test here waits on a worker that is not running.
    settings.BODY_FETCH_TIMEOUT = 2


@pytest.fixture
def alice(db: None) -> User:
    return make_user("alice")


@pytest.fixture
def bob(db: None) -> User:
    return make_user("bob")


@dataclass
class ImageServer:
    """A real HTTP server on 127.0.0.1 that serves what a test sets up."""

    port: int
    # path -> (status, headers, body, delay in seconds before the body)
    routes: dict[str, tuple[int, dict[str, str], bytes, float]] = field(
        default_factory=dict
    )
    requests: list[dict[str, str]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://{LOOPBACK}:{self.port}{path}"

    def add(
        self,
        path: str,
        body: bytes,
        content_type: str = "image/png",
        status: int = 200,
        delay: float = 0.0,
        headers: dict[str, str] | None = None,
    ) -> str:
        self.routes[path] = (
            status,
            {"Content-Type": content_type, **(headers or {})},
            body,
            delay,
        )
        return self.url(path)


def _handler(server: ImageServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server.requests.append(dict(self.headers.items()))
            status, headers, body, delay = server.routes.get(
                self.path, (404, {"Content-Type": "text/plain"}, b"missing", 0.0)
            )
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Set-Cookie", "tracker=1; Path=/")
            self.end_headers()
            if delay:
                # Trickle the body so that only a total deadline stops it.
                for byte in body:
                    time.sleep(delay)
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
            else:
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def image_server() -> Iterator[ImageServer]:
    """A remote image host, on loopback (the proxy refuses it unless allowed)."""
    server = ImageServer(port=free_port())
    httpd = ThreadingHTTPServer((LOOPBACK, server.port), _handler(server))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def live_app(transactional_db: None, settings) -> Iterator[str]:
    """The app served by uvicorn on a free port, for the browser tests.

    The server runs in a thread of the test process, so it sees the test
    database (a file: tests/settings.py) and the suite's Redis.
    """
    import uvicorn

    from webmail.asgi import make_application

    # Static files straight from static/ (no collectstatic in tests).
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    port = free_port()
    app = make_application()
    config = uvicorn.Config(
        app, host=LOOPBACK, port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    if not wait_for_ports([port], timeout=15):
        pytest.fail("uvicorn did not start")
    try:
        yield f"http://{LOOPBACK}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.close()
