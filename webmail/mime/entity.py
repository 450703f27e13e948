"""Low-level MIME entity handling on raw bytes: headers, bodies, boundaries.

The stdlib parser recurses per nesting level and repairs broken structure
in ways that are hard to steer, so the tree walk in ``parse`` works on
bytes with these small, forgiving helpers instead.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from webmail.mime.headers import ContentHeader, parse_content_header

_HEADER_LINE = re.compile(rb"^[!-9;-~]+[ \t]*:")
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")


@dataclass(frozen=True)
class RawHeaders:
    """Header fields in order, names lowercased, values as raw bytes."""

    fields: tuple[tuple[str, bytes], ...]

    def get(self, name: str) -> bytes | None:
        """Return the first value of ``name`` (lowercase), or None."""
        for key, value in self.fields:
            if key == name:
                return value
        return None

    def get_all(self, name: str) -> list[bytes]:
        """Return every value of ``name`` (lowercase)."""
        return [value for key, value in self.fields if key == name]


def split_entity(data: bytes) -> tuple[RawHeaders, bytes]:
    """Split an entity into its headers and body, tolerating bad input."""
    if data.startswith((b"\r\n", b"\n")):
        return RawHeaders(()), data[2 if data.startswith(b"\r\n") else 1 :]
    match = _BLANK_LINE.search(data)
    if match:
        head, body = data[: match.start()], data[match.end() :]
    else:
        head, body = data, b""
    fields: list[tuple[str, bytes]] = []
    lines = head.split(b"\n")
    for index, line in enumerate(lines):
        if line[:1] in (b" ", b"\t") and fields:
            key, value = fields[-1]
            fields[-1] = (key, value + b"\n" + line)
            continue
        if _HEADER_LINE.match(line):
            raw_name, _, value = line.partition(b":")
            key = raw_name.strip().decode("ascii").lower()
            fields.append((key, value.strip(b" \t\r")))
            continue
        if index == 0 and line.startswith(b"From "):
            continue  # mbox separator
        # Not a header: the rest is body text that lost its blank line.
        rest = b"\n".join(lines[index:])
        body = rest + (b"\n\n" + body if match else b"")
        break
    return RawHeaders(tuple(fields)), body


def content_type(headers: RawHeaders, default: str = "text/plain") -> ContentHeader:
    """Return the Content-Type, with a default for missing or broken ones."""
    parsed = parse_content_header(headers.get("content-type"))
    if "/" not in parsed.value:
        return ContentHeader(default, parsed.params)
    return parsed


def decode_transfer(headers: RawHeaders, body: bytes) -> bytes:
    """Undo Content-Transfer-Encoding; unknown encodings pass through."""
    raw = headers.get("content-transfer-encoding") or b""
    encoding = raw.decode("ascii", "replace").strip().lower()
    if encoding == "base64":
        return decode_base64(body)
    if encoding == "quoted-printable":
        return binascii.a2b_qp(body)
    if encoding in ("x-uuencode", "uuencode", "x-uue"):
        return decode_uuencode(body)
    return body


def decode_base64(body: bytes) -> bytes:
    """Decode base64 ignoring junk characters and bad padding."""
    try:
        return binascii.a2b_base64(body)
    except binascii.Error:
        pass
    cleaned = re.sub(rb"[^A-Za-z0-9+/]", b"", body)
    if len(cleaned) % 4 == 1:
        cleaned = cleaned[:-1]  # a lone trailing sextet carries no byte
    cleaned += b"=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned)
    except (binascii.Error, ValueError):
        return b""


def decoded_size(headers: RawHeaders, body: bytes) -> int:
    """Estimate the decoded size of a body without decoding large base64."""
    raw = headers.get("content-transfer-encoding") or b""
    if raw.strip().lower() == b"base64":
        return len(body.translate(None, b" \t\r\n=")) * 3 // 4
    return len(decode_transfer(headers, body))


def decode_uuencode(body: bytes) -> bytes:
    """Decode a uuencoded body (the begin/end lines are skipped)."""
    out = bytearray()
    for line in body.splitlines():
        if line.startswith((b"begin ", b"end")) or not line.strip():
            continue
        try:
            out += binascii.a2b_uu(line)
        except binascii.Error:
            continue
    return bytes(out)


def find_boundary(body: bytes) -> bytes | None:
    """Guess the boundary of a multipart whose header lost it."""
    match = re.search(rb"(?m)^--([0-9A-Za-z'()+_,./:=?-]{1,70})[ \t]*\r?$", body)
    return match.group(1) if match else None


@dataclass(frozen=True)
class Multipart:
    """The parts of a multipart body and what went wrong splitting it."""

    parts: tuple[bytes, ...]
    closed: bool


def split_multipart(body: bytes, boundary: bytes, limit: int) -> Multipart | None:
    """Split a multipart body at ``boundary``; None if it never occurs.

    A missing close delimiter leaves the last part running to the end; what
    follows the close delimiter (the epilogue) is no part. At most ``limit``
    parts are returned.
    """
    # A close delimiter need only begin its line (RFC 2046 5.1.1): a list
    # server appending its footer to a message without a final line break
    # glues the footer to it. A delimiter between parts must fill its line,
    # so that a boundary that begins a nested part's longer one is no match.
    delimiter = re.compile(
        rb"(?m)^--" + re.escape(boundary) + rb"(?:(--)|[ \t]*\r?$)",
    )
    parts: list[bytes] = []
    start: int | None = None
    closed = False
    for match in delimiter.finditer(body):
        if start is not None:
            end = match.start()
            # The line break before a delimiter belongs to the delimiter.
            if body[end - 2 : end] == b"\r\n":
                end -= 2
            elif body[end - 1 : end] == b"\n":
                end -= 1
            parts.append(body[start:end])
            if len(parts) >= limit:
                return Multipart(tuple(parts), True)
        if match.group(1):
            closed = True
            start = None
            break
        start = match.end()
        if body[start : start + 2] == b"\r\n":
            start += 2
        elif body[start : start + 1] == b"\n":
            start += 1
    if start is None and not parts and not closed:
        return None
    if start is not None:
        parts.append(body[start:])
    return Multipart(tuple(parts), closed)
