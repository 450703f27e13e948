"""An in-process SMTP server (aiosmtpd) that keeps every message it receives."""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from devtools.ports import LOOPBACK, free_port


@dataclass(frozen=True)
class ReceivedMessage:
    """One message as the server got it: envelope and raw bytes."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes


# Recipients whose local part starts with this are refused (550), as a
# server refuses an address it does not know.
REFUSED_PREFIX = "refused-"


class _RecordingHandler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(
        self,
        smtp: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address.lower().startswith(REFUSED_PREFIX):
            return f"550 5.1.1 <{address}>: Recipient address rejected"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(
        self, smtp: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.original_content or b""
        message = ReceivedMessage(
            mail_from=envelope.mail_from or "",
            rcpt_tos=tuple(envelope.rcpt_tos),
            data=bytes(content),
        )
        self.server._record(message)
        return "250 Message accepted for delivery"


class SmtpServer:
    """An SMTP server on a free loopback port, recording messages in memory.

    The server runs in its own thread; ``messages`` may be read from any
    thread.
    """

    host = LOOPBACK

    def __init__(
        self,
        port: int | None = None,
        *,
        tls_context: ssl.SSLContext | None = None,
        login: tuple[str, str] | None = None,
    ) -> None:
        """tls_context: offer STARTTLS and require it; login: require AUTH."""
        self.port = port if port is not None else free_port()
        self.tls_context = tls_context
        self.login = login
        self._lock = threading.Lock()
        self._messages: list[ReceivedMessage] = []
        self._controller: Any = None

    @property
    def messages(self) -> list[ReceivedMessage]:
        """A copy of the messages received so far, oldest first."""
        with self._lock:
            return list(self._messages)

    def clear(self) -> None:
        """Forget every message received so far."""
        with self._lock:
            self._messages.clear()

    def _record(self, message: ReceivedMessage) -> None:
        with self._lock:
            self._messages.append(message)

    def start(self) -> None:
        """Start listening."""
        if self._controller is not None:
            return
        options: dict[str, Any] = {}
        if self.tls_context is not None:
            options.update(tls_context=self.tls_context, require_starttls=True)
        if self.login is not None:
            options.update(authenticator=self._authenticate, auth_required=True)
        controller = Controller(
            _RecordingHandler(self),
            hostname=self.host,
            port=self.port,
            # Keep the bytes exactly as sent; tests compare raw messages.
            decode_data=False,
            ready_timeout=10.0,
            **options,
        )
        controller.start()
        self._controller = controller

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and self.login == (
            data.login.decode(),
            data.password.decode(),
        )
        return AuthResult(success=ok, handled=False)

    def stop(self) -> None:
        """Stop listening; recorded messages are kept."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<SmtpServer {self.host}:{self.port}>"


def start_smtp_server(
    port: int | None = None,
    *,
    tls_context: ssl.SSLContext | None = None,
    login: tuple[str, str] | None = None,
) -> SmtpServer:
    """Start an SMTP server on a free loopback port and return it."""
    server = SmtpServer(port, tls_context=tls_context, login=login)
    server.start()
    return server
