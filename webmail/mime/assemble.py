"""Adding files to a built message, written piece by piece into a file.

The email package holds a whole message in memory, and a 25 MB file as
base64 in a string is most of 70 MB. So the page builds the message
without its files (webmail.mime.compose), and the worker writes it out
here around them: its own headers at the top, a multipart/mixed whose
first part is the message's body as built (headers and bytes unchanged,
so an ISO-2022-JP message stays one), then each file, base64-encoded a
few kilobytes at a time as it is read.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import BinaryIO

from webmail.mime.compose import attachment_headers, message_headers

# 57 bytes make one 76-character base64 line; read whole lines at a time.
_LINE = 57
_READ = _LINE * 1024
# The headers that describe the body, which move into its part.
_BODY_HEADERS = (b"content-type", b"content-transfer-encoding")


@dataclass(frozen=True)
class FileSource:
    """A file to attach, opened only when it is written."""

    filename: str
    content_type: str
    open: Callable[[], AbstractContextManager[BinaryIO]]
    # A whole message forwarded as an attachment: written as it is.
    as_message: bool = False


def _fields(head: bytes) -> list[bytes]:
    """Header fields with their folded continuation lines, each CRLF-ended."""
    fields: list[bytes] = []
    for line in head.split(b"\r\n"):
        if not line:
            continue
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += line + b"\r\n"
        else:
            fields.append(line + b"\r\n")
    return fields


def _name(field: bytes) -> bytes:
    return field.partition(b":")[0].strip().lower()


def _boundary(body: bytes) -> bytes:
    while True:
        # "=_" cannot start a line of quoted-printable or base64.
        boundary = b"=_" + secrets.token_hex(16).encode()
        if boundary not in body:
            return boundary


def encode_base64(source: BinaryIO, out: BinaryIO) -> int:
    """Write source as base64 lines of 76 characters with CRLF; return its size."""
    size = 0
    carry = b""
    while True:
        chunk = source.read(_READ)
        if not chunk:
            break
        size += len(chunk)
        data = carry + chunk
        whole = len(data) - len(data) % _LINE
        carry = data[whole:]
        if whole:
            out.write(base64.encodebytes(data[:whole]).replace(b"\n", b"\r\n"))
    if carry:
        out.write(base64.encodebytes(carry).replace(b"\n", b"\r\n"))
    return size


def write_message(raw: bytes, files: Sequence[FileSource], out: BinaryIO) -> None:
    """Write raw (a built message, CRLF) with files attached to out.

    With no files, raw is written as it is.
    """
    if not files:
        out.write(raw)
        return
    head, _, body = raw.partition(b"\r\n\r\n")
    fields = _fields(head)
    top = [f for f in fields if _name(f) not in (*_BODY_HEADERS, b"mime-version")]
    inner = [f for f in fields if _name(f) in _BODY_HEADERS]
    if not inner:
        inner = [b"Content-Type: text/plain; charset=us-ascii\r\n"]
    boundary = _boundary(body)
    out.writelines(top)
    out.write(b"MIME-Version: 1.0\r\n")
    out.write(b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\r\n\r\n')
    out.write(b"--" + boundary + b"\r\n")
    out.writelines(inner)
    out.write(b"\r\n")
    out.write(body)
    if not body.endswith(b"\r\n"):
        out.write(b"\r\n")
    for file in files:
        out.write(b"--" + boundary + b"\r\n")
        if file.as_message:
            out.write(message_headers(file.filename))
            with file.open() as source:
                _copy_lines(source, out)
            continue
        out.write(attachment_headers(file.filename, file.content_type))
        with file.open() as source:
            encode_base64(source, out)
    out.write(b"--" + boundary + b"--\r\n")


def _copy_lines(source: BinaryIO, out: BinaryIO, block: int = 64 * 1024) -> None:
    """Copy a stored message, ending it with a line break before the boundary."""
    last = b""
    while data := source.read(block):
        out.write(data)
        last = data
    if not last.endswith(b"\r\n"):
        out.write(b"\r\n")


def dot_stuffed(source: BinaryIO, block: int = 64 * 1024) -> Iterable[bytes]:
    """The message as SMTP DATA carries it, in blocks: lines starting with "."
    get another, and the end is CRLF "." CRLF."""
    buffer = bytearray()
    last = b"\r\n"
    for line in source:
        if line.startswith(b"."):
            buffer += b"."
        buffer += line
        last = line
        if len(buffer) >= block:
            yield bytes(buffer)
            buffer.clear()
    if not last.endswith(b"\r\n"):
        buffer += b"\r\n"
    buffer += b".\r\n"
    yield bytes(buffer)
