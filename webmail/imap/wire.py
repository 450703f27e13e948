"""Bytes on the wire: reading responses, writing commands, COMPRESS=DEFLATE.

imapclient (through imaplib) keeps untagged responses in a dict by name,
which loses their order, mixes unsolicited answers into later commands and
cannot run SELECT with QRESYNC, ESEARCH or partial fetches. After login the
session therefore drives the socket through this module, while imapclient
still does the connecting, TLS and the parsing of response data.
"""

from __future__ import annotations

import contextlib
import re
import select
import socket
import ssl
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

from webmail.imap.errors import ConnectionLost, Timeout

# A response line longer than this is not a sane server; literals (message
# data) are read separately and are not bound by it.
MAX_LINE = 1024 * 1024
_LITERAL_AT_END = re.compile(rb"~?\{(\d+)\}$")
_RESP_CODE = re.compile(rb"^\[([A-Za-z0-9.-]+)(?: ([^\]]*))?\]\s?")
_ATOM_SAFE = re.compile(rb"^[A-Za-z0-9!#$&'+,\-./:;<=>?@^_`|~*%\\\[\]]+$")

ResponseItem = bytes | tuple[bytes, bytes]
"""A response line, or a (line ending in {n}, literal) pair, as imaplib
hands them to imapclient's parsers."""


class Literal(bytes):
    """An argument that must be sent as an IMAP literal."""


class FileLiteral(Literal):
    """A literal read from a file as it is sent, so that it is never whole
    in memory (a message with large attachments APPENDed)."""

    file: BinaryIO
    size: int

    @classmethod
    def of(cls, file: BinaryIO) -> FileLiteral:
        """The file's content from its start as a literal."""
        literal = cls(b"")
        literal.file = file
        literal.size = file.seek(0, 2)
        file.seek(0)
        return literal

    def send_to(self, transport: Transport) -> None:
        """Write the file's bytes to transport, a block at a time."""
        self.file.seek(0)
        left = self.size
        while left > 0:
            block = self.file.read(min(left, 256 * 1024))
            if not block:
                raise OSError("The file to send became shorter.")
            transport.send(block)
            left -= len(block)


class Raw(bytes):
    """An argument sent verbatim (atoms, parenthesised lists, sets)."""


def quoted(value: str | bytes) -> bytes:
    """Return value as a quoted string, or a Literal when quoting cannot work."""
    data = value.encode() if isinstance(value, str) else value
    if any(b > 0x7E for b in data) or b"\r" in data or b"\n" in data or b"\0" in data:
        return Literal(data)
    return b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def astring(value: str | bytes) -> bytes:
    """Return value as an atom when safe, else quoted (or a literal)."""
    data = value.encode() if isinstance(value, str) else value
    if data and _ATOM_SAFE.match(data) and not data.startswith(b"\\"):
        return Raw(data)
    return quoted(data)


@dataclass
class Response:
    """A completed command: its tagged status and every untagged response."""

    status: str
    code: str | None
    code_data: bytes | None
    text: str
    untagged: list[list[ResponseItem]]


def split_code(text: bytes) -> tuple[str | None, bytes | None, str]:
    """Split "[CODE data] text" into its parts."""
    match = _RESP_CODE.match(text)
    if not match:
        return None, None, text.decode(errors="replace")
    rest = text[match.end() :].decode(errors="replace")
    return match.group(1).decode().upper(), match.group(2), rest


class Transport:
    """A buffered, optionally compressed, connection to the server.

    Not thread safe; one ImapSession owns one Transport.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buffer = bytearray()
        self._inflate: zlib._Decompress | None = None
        self._deflate: zlib._Compress | None = None
        self.closed = False

    # Low level --------------------------------------------------------

    def send(self, data: bytes) -> None:
        """Write data, compressing it when COMPRESS is on."""
        if self._deflate is not None:
            data = self._deflate.compress(data) + self._deflate.flush(zlib.Z_SYNC_FLUSH)
        try:
            self.sock.sendall(data)
        except TimeoutError as exc:
            self.closed = True
            raise Timeout("The mail server did not accept data in time.") from exc
        except OSError as exc:
            self.closed = True
            raise ConnectionLost(
                f"Lost the connection to the mail server: {exc}"
            ) from exc

    def _fill(self) -> None:
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError as exc:
            self.closed = True
            raise Timeout("The mail server did not answer in time.") from exc
        except OSError as exc:
            self.closed = True
            raise ConnectionLost(
                f"Lost the connection to the mail server: {exc}"
            ) from exc
        if not chunk:
            self.closed = True
            raise ConnectionLost("The mail server closed the connection.")
        if self._inflate is not None:
            chunk = self._inflate.decompress(chunk)
        self._buffer += chunk

    def readline(self) -> bytes:
        """Return the next line without its CRLF."""
        start = 0
        while True:
            end = self._buffer.find(b"\r\n", start)
            if end >= 0:
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 2]
                return line
            if len(self._buffer) > MAX_LINE:
                self.closed = True
                raise ConnectionLost("The mail server sent an overlong line.")
            start = max(0, len(self._buffer) - 1)
            self._fill()

    def read_exact(self, size: int) -> bytes:
        """Return exactly size bytes."""
        while len(self._buffer) < size:
            self._fill()
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def wait_readable(self, timeout: float | None) -> bool:
        """Wait until a response can be read; False after timeout seconds."""
        if self._buffer:
            return True
        if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
            return True
        readable, _, _ = select.select([self.sock], [], [], timeout)
        return bool(readable)

    def start_compression(self) -> None:
        """Switch both directions to raw DEFLATE (RFC 4978)."""
        self._deflate = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
        inflate = zlib.decompressobj(-15)
        # Bytes already read arrived before the switch and stay as they are.
        self._inflate = inflate

    @property
    def compressed(self) -> bool:
        """Return whether COMPRESS=DEFLATE is active."""
        return self._deflate is not None

    def close(self) -> None:
        """Close the socket; further use raises ConnectionLost."""
        self.closed = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()

    # Responses --------------------------------------------------------

    def read_response(self) -> list[ResponseItem]:
        """Read one response with its literals, in imaplib's item format."""
        items: list[ResponseItem] = []
        line = self.readline()
        while True:
            # Searched from the last "{" only: a summary line is long.
            brace = line.rfind(b"{")
            match = (
                _LITERAL_AT_END.search(line, max(0, brace - 1)) if brace >= 0 else None
            )
            if not match:
                items.append(line)
                return items
            literal = self.read_exact(int(match.group(1)))
            items.append((line, literal))
            line = self.readline()


class Channel:
    """Tagged commands over a Transport, collecting their responses in order.

    Untagged responses that arrive while a command runs are returned with
    it; the caller decides which are answers and which are news.
    """

    def __init__(self, transport: Transport, *, literal_plus: bool) -> None:
        self.transport = transport
        self.literal_plus = literal_plus
        self._tag_number = 0
        # True between sending a command and reading its tagged reply: a
        # connection abandoned in that state cannot be reused.
        self.busy = False

    def next_tag(self) -> bytes:
        """Return a fresh command tag."""
        self._tag_number += 1
        return b"W%d" % self._tag_number

    def send_command(self, tag: bytes, args: list[bytes]) -> list[list[ResponseItem]]:
        """Send "tag args..." and return untagged responses read on the way.

        Synchronising literals make the server answer "+" first; anything
        untagged before that is kept. A tagged answer instead of "+" ends
        the command early and is raised as _EarlyEnd.
        """
        self.busy = True
        early: list[list[ResponseItem]] = []
        line = tag
        for arg in args:
            if isinstance(arg, Literal):
                size = arg.size if isinstance(arg, FileLiteral) else len(arg)
                marker = b"{%d+}" % size if self.literal_plus else b"{%d}" % size
                self.transport.send(line + b" " + marker + b"\r\n")
                if not self.literal_plus:
                    early.extend(self._wait_continuation(tag))
                if isinstance(arg, FileLiteral):
                    arg.send_to(self.transport)
                else:
                    self.transport.send(bytes(arg))
                line = b""
            else:
                line += b" " + arg
        self.transport.send(line + b"\r\n")
        return early

    def _wait_continuation(self, tag: bytes) -> list[list[ResponseItem]]:
        seen: list[list[ResponseItem]] = []
        while True:
            response = self.transport.read_response()
            first = response[0] if isinstance(response[0], bytes) else response[0][0]
            if first.startswith(b"+"):
                return seen
            if first.startswith(tag + b" "):
                raise _EarlyEnd(self._finish(first, seen))
            seen.append(response)

    def read_until_tagged(
        self, tag: bytes, untagged: list[list[ResponseItem]] | None = None
    ) -> Response:
        """Read responses until the tagged one for tag."""
        collected = untagged if untagged is not None else []
        prefix = tag + b" "
        while True:
            response = self.transport.read_response()
            first = response[0] if isinstance(response[0], bytes) else response[0][0]
            if first.startswith(prefix) and len(response) == 1:
                return self._finish(first, collected)
            if first.startswith(b"+"):
                continue
            collected.append(response)

    def read_until_all_tagged(
        self, tags: Sequence[bytes], untagged: list[list[ResponseItem]]
    ) -> list[Response]:
        """Read until each of tags has its tagged reply, in whatever order.

        A server may run pipelined commands side by side and finish them in
        any order; every untagged response goes to untagged.
        """
        due = {tag + b" ": tag for tag in tags}
        done: dict[bytes, Response] = {}
        while due:
            response = self.transport.read_response()
            first = response[0] if isinstance(response[0], bytes) else response[0][0]
            prefix = first[: first.find(b" ") + 1]
            if prefix in due and len(response) == 1:
                done[due.pop(prefix)] = self._finish(first, untagged)
                self.busy = bool(due)
            elif not first.startswith(b"+"):
                untagged.append(response)
        return [done[tag] for tag in tags]

    def _finish(self, line: bytes, collected: list[list[ResponseItem]]) -> Response:
        self.busy = False
        _, _, rest = line.partition(b" ")
        status, _, text = rest.partition(b" ")
        code, code_data, message = split_code(text)
        return Response(
            status=status.decode(errors="replace").upper(),
            code=code,
            code_data=code_data,
            text=message,
            untagged=collected,
        )

    def run(self, *args: bytes) -> Response:
        """Send a command and read until its tagged answer."""
        tag = self.next_tag()
        try:
            early = self.send_command(tag, list(args))
        except _EarlyEnd as end:
            return end.response
        return self.read_until_tagged(tag, early)


class _EarlyEnd(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.text)
        self.response = response
