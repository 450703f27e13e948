"""Raw MIME pieces: encoded headers, dates, parts and multiparts as bytes.

Messages are assembled from strings and bytes directly rather than through
email.message objects, which would cost far more per message than writing
the file does. Files use LF line endings, as Maildir files on disk do.
"""

from __future__ import annotations

import base64
import binascii
import time
from functools import lru_cache
from urllib.parse import quote

# (codec name, label in headers, characters per RFC 2047 encoded word)
CHARSETS = {
    "iso-2022-jp": ("iso2022_jp", "ISO-2022-JP", 8),
    "utf-8": ("utf-8", "UTF-8", 12),
    "shift_jis": ("shift_jis", "Shift_JIS", 10),
    "euc-jp": ("euc_jp", "EUC-JP", 10),
}

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip

# A part is its header lines (each ending in "\n") and its encoded body.
Part = tuple[str, bytes]


@lru_cache(maxsize=4096)
def encode_words(text: str, charset: str = "utf-8") -> str:
    """Return text as RFC 2047 B encoded words, folded; ASCII is left alone.

    Each encoded word holds whole characters and, for ISO-2022-JP, ends back
    in ASCII, which is how Japanese mail clients split long subjects.
    """
    if text.isascii():
        return text
    codec, label, step = CHARSETS[charset]
    words = []
    for start in range(0, len(text), step):
        piece = base64.b64encode(text[start : start + step].encode(codec)).decode()
        words.append(f"=?{label}?B?{piece}?=")
    return "\n ".join(words)


@lru_cache(maxsize=4096)
def format_address(name: str, address: str, charset: str = "utf-8") -> str:
    """Return a From/To value: an encoded or quoted display name and address."""
    if not name:
        return address
    if name.isascii():
        if any(c in name for c in ',.;:"()<>@[]'):
            escaped = name.replace("\\", "\\\\").replace('"', '\\"')
            return f'"{escaped}" <{address}>'
        return f"{name} <{address}>"
    return f"{encode_words(name, charset)} <{address}>"


def format_date(timestamp: int, offset_minutes: int) -> str:
    """Return an RFC 5322 date for timestamp as seen at the given UTC offset."""
    tm = time.gmtime(timestamp + offset_minutes * 60)
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return (
        f"{_WEEKDAYS[tm.tm_wday]}, {tm.tm_mday} {_MONTHS[tm.tm_mon - 1]} "
        f"{tm.tm_year} {tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} "
        f"{sign}{hours:02d}{minutes:02d}"
    )


def text_part(text: str, charset: str, encoding: str, subtype: str = "plain") -> Part:
    """Return a text part with text encoded in charset and then encoding."""
    if charset == "us-ascii":
        raw = text.encode("ascii")
        label = "us-ascii"
    else:
        codec, label, _ = CHARSETS[charset]
        raw = text.encode(codec)
    if encoding == "quoted-printable":
        body = binascii.b2a_qp(raw)
    elif encoding == "base64":
        body = base64.encodebytes(raw)
    else:
        body = raw
    if not body.endswith(b"\n"):
        body += b"\n"
    headers = (
        f"Content-Type: text/{subtype}; charset={label}\n"
        f"Content-Transfer-Encoding: {encoding}\n"
    )
    return headers, body


def filename_params(filename: str) -> tuple[str, str]:
    """Return (name=..., filename=...) parameters for an attachment.

    Non-ASCII names get RFC 2231 in Content-Disposition and an RFC 2047
    encoded name in Content-Type, which is what most clients send together.
    """
    if filename.isascii():
        return f'name="{filename}"', f'filename="{filename}"'
    encoded = encode_words(filename, "utf-8").replace("\n ", "")
    return f'name="{encoded}"', f"filename*=UTF-8''{quote(filename)}"


_base64_cache: dict[object, bytes] = {}


def cached_base64(key: object, data: bytes) -> bytes:
    """Return base64 of data in 76-column lines, remembered under key."""
    encoded = _base64_cache.get(key)
    if encoded is None:
        encoded = base64.encodebytes(data)
        _base64_cache[key] = encoded
    return encoded


def attachment_part(
    filename: str,
    content_type: str,
    encoded: bytes,
    *,
    inline_id: str | None = None,
) -> Part:
    """Return a base64 part; inline_id makes it an inline image with that ID."""
    name, file_param = filename_params(filename)
    disposition = "inline" if inline_id else "attachment"
    headers = (
        f"Content-Type: {content_type}; {name}\n"
        f"Content-Disposition: {disposition}; {file_param}\n"
        "Content-Transfer-Encoding: base64\n"
    )
    if inline_id:
        headers += f"Content-ID: <{inline_id}>\n"
    return headers, encoded


def message_part(raw: bytes, filename: str) -> Part:
    """Return a message/rfc822 part holding raw, as a forward-as-attachment."""
    name, file_param = filename_params(filename)
    headers = (
        f"Content-Type: message/rfc822; {name}\n"
        f"Content-Disposition: attachment; {file_param}\n"
    )
    return headers, raw if raw.endswith(b"\n") else raw + b"\n"


def multipart(subtype: str, boundary: str, parts: list[Part], params: str = "") -> Part:
    """Return a multipart of parts separated by boundary."""
    chunks = [b"This is a multi-part message in MIME format.\n"]
    delimiter = f"\n--{boundary}\n".encode()
    for headers, body in parts:
        chunks.append(delimiter)
        chunks.append(headers.encode())
        chunks.append(b"\n")
        # The newline before a delimiter belongs to the delimiter.
        chunks.append(body[:-1] if body.endswith(b"\n") else body)
    chunks.append(f"\n--{boundary}--\n".encode())
    extra = f"; {params}" if params else ""
    headers = f'Content-Type: multipart/{subtype}; boundary="{boundary}"{extra}\n'
    return headers, b"".join(chunks)


def encode_mutf7(name: str) -> str:
    """Return name in IMAP's modified UTF-7 (RFC 3501 section 5.1.3)."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            encoded = base64.b64encode(raw).decode().rstrip("=").replace("/", ",")
            out.append(f"&{encoded}-")
            pending.clear()

    for char in name:
        if " " <= char <= "~":
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)
