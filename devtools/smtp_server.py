"""An in-process SMTP server (aiosmtpd) that keeps every message it receives."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from devtools.ports import LOOPBACK, free_port


@dataclass(frozen=True)
class ReceivedMessage:
    """One message as the server got it: envelope and raw bytes."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes


class _RecordingHandler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

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

    def __init__(self, port: int | None = None) -> None:
        self.port = port if port is not None else free_port()
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
        controller = Controller(
            _RecordingHandler(self),
            hostname=self.host,
            port=self.port,
            # Keep the bytes exactly as sent; tests compare raw messages.
            decode_data=False,
            ready_timeout=10.0,
        )
        controller.start()
        self._controller = controller

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


def start_smtp_server(port: int | None = None) -> SmtpServer:
    """Start an SMTP server on a free loopback port and return it."""
    server = SmtpServer(port)
    server.start()
    return server
