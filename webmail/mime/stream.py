"""Undo a transfer encoding piece by piece, for parts too big to hold whole.

A chunk boundary may fall anywhere: inside a base64 quantum, between "="
and its hex digits, or in a line break. Each decoder keeps the bytes it
cannot decode yet and returns the rest, so joining what feed() and
flush() return gives what decoding the whole part at once gives.
"""

from __future__ import annotations

import binascii
import re
from typing import Protocol

# A quoted-printable line is at most 76 characters; a longer run without
# a line break is decoded anyway, so a hostile part cannot grow the buffer.
_MAX_PENDING_LINE = 64 * 1024
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")


class Decoder(Protocol):
    """Turns encoded chunks into decoded ones."""

    def feed(self, data: bytes) -> bytes: ...

    def flush(self) -> bytes: ...


class Identity:
    """7bit, 8bit, binary and encodings nobody knows: bytes pass unchanged."""

    def feed(self, data: bytes) -> bytes:
        return data

    def flush(self) -> bytes:
        return b""


class Base64Decoder:
    """base64, ignoring line breaks, junk characters and bad padding."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, data: bytes) -> bytes:
        # Padding is dropped with the junk and added back at the end, as
        # the whole-part decoder in webmail.mime.entity does.
        data = self._pending + _NOT_BASE64.sub(b"", data)
        whole = len(data) - len(data) % 4
        self._pending = data[whole:]
        return binascii.a2b_base64(data[:whole]) if whole else b""

    def flush(self) -> bytes:
        rest, self._pending = self._pending, b""
        if len(rest) % 4 == 1:
            rest = rest[:-1]  # a lone trailing sextet carries no byte
        if not rest:
            return b""
        return binascii.a2b_base64(rest + b"=" * (-len(rest) % 4))


class QuotedPrintableDecoder:
    """quoted-printable, decoded a whole line at a time."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, data: bytes) -> bytes:
        data = self._pending + data
        end = data.rfind(b"\n") + 1
        if not end and len(data) > _MAX_PENDING_LINE:
            # Keep back an "=" escape that the chunk boundary cut short.
            end = len(data)
            escape = data.find(b"=", end - 2)
            if escape != -1:
                end = escape
        self._pending = data[end:]
        return binascii.a2b_qp(data[:end]) if end > 0 else b""

    def flush(self) -> bytes:
        rest, self._pending = self._pending, b""
        return binascii.a2b_qp(rest) if rest else b""


def decoder_for(encoding: str | None) -> Decoder:
    """Return a decoder for a Content-Transfer-Encoding value."""
    name = (encoding or "").strip().lower()
    if name == "base64":
        return Base64Decoder()
    if name == "quoted-printable":
        return QuotedPrintableDecoder()
    return Identity()
