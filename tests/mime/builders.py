"""Build test messages whose bytes cannot be typed into an .eml file.

The ISO-2022-JP encoder here is deliberately independent of the decoder
under test: it works from cp932 bytes with the textbook Shift_JIS to JIS
arithmetic, one character at a time.
"""

from __future__ import annotations

import base64
import struct
from pathlib import Path

CORPUS = Path(__file__).parent / "corpus"


def corpus(name: str) -> bytes:
    """Return the bytes of a corpus file."""
    return (CORPUS / name).read_bytes()


def _sjis_to_jis(s1: int, s2: int) -> tuple[int, int]:
    s1 -= 0x40 if s1 >= 0xE0 else 0
    row = (s1 - 0x70) * 2
    if s2 >= 0x9F:
        return row, s2 - 0x7E
    return row - 1, s2 - (0x20 if s2 > 0x7F else 0x1F)


def jis(text: str) -> bytes:
    """Encode ``text`` as ISO-2022-JP the way Outlook does (CP50220-like).

    Two-byte characters use ESC $ B, half-width kana ESC ( I, and the text
    ends in ASCII.
    """
    out = bytearray()
    mode = b"\x1b(B"
    for ch in text:
        raw = ch.encode("cp932")
        if len(raw) == 2:
            want, data = b"\x1b$B", bytes(_sjis_to_jis(raw[0], raw[1]))
        elif raw[0] >= 0xA1:
            want, data = b"\x1b(I", bytes((raw[0] - 0x80,))
        else:
            want, data = b"\x1b(B", raw
        if want != mode:
            out += want
            mode = want
        out += data
    if mode != b"\x1b(B":
        out += b"\x1b(B"
    return bytes(out)


def b_word(charset: str, data: bytes) -> bytes:
    """Return one RFC 2047 B-encoded word."""
    return b"=?" + charset.encode() + b"?B?" + base64.b64encode(data) + b"?="


def message(headers: list[tuple[str, bytes]], body: bytes) -> bytes:
    """Assemble a message from header pairs and a body, CRLF line ends."""
    head = b"".join(name.encode() + b": " + value + b"\r\n" for name, value in headers)
    return head + b"\r\n" + body


def tnef(files: list[tuple[str, bytes]], body: str = "") -> bytes:
    """Build a minimal TNEF blob with a plain body and some files."""

    def attribute(level: int, attr: int, data: bytes) -> bytes:
        checksum = sum(data) & 0xFFFF
        return (
            struct.pack("<BII", level, attr, len(data))
            + data
            + struct.pack("<H", checksum)
        )

    out = struct.pack("<IH", 0x223E9F78, 0x0001)
    if body:
        out += attribute(1, 0x0002800C, body.encode("cp1252") + b"\x00")
    for name, data in files:
        out += attribute(2, 0x00069002, b"\x01\x00\x00\x00" + b"\xff" * 10)
        out += attribute(2, 0x00018010, name.encode("cp1252") + b"\x00")
        out += attribute(2, 0x0006800F, data)
    return out


def newsletter(size: int, encoding: str = "8bit") -> bytes:
    """A single-part HTML newsletter of about size octets, all on one line."""
    item = "<td><a href='https://news.example/i'>Item</a> of the week.</td>"
    html = "<table><tr><td>Top story: the start of it all.</td>"
    html += item * (size // len(item)) + "</tr></table>"
    body = html.encode()
    if encoding == "base64":
        body = base64.encodebytes(body).replace(b"\n", b"\r\n")
    return (
        b"From: News <news@example.org>\r\nSubject: Weekly news\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: " + encoding.encode() + b"\r\n\r\n" + body
    )
