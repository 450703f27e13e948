"""Read the files and plain-text body out of a TNEF (winmail.dat) blob.

Only the top-level TNEF attributes are read (attachment title and data, the
plain body); MAPI property blocks and compressed RTF are skipped. That is
enough to hand a reader the files Outlook wrapped up.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from webmail.mime.charsets import guess_decode

TNEF_SIGNATURE = 0x223E9F78
_ATT_BODY = 0x800C
_ATT_ATTACH_REND_DATA = 0x9002
_ATT_ATTACH_TITLE = 0x8010
_ATT_ATTACH_DATA = 0x800F
_MAX_FILES = 500


@dataclass(frozen=True)
class TnefFile:
    """One file found inside a TNEF blob."""

    name: str
    data: bytes


@dataclass(frozen=True)
class TnefContent:
    """What a TNEF blob holds that a reader can use."""

    body: str
    files: tuple[TnefFile, ...]


def is_tnef(data: bytes) -> bool:
    """Return whether ``data`` starts with the TNEF signature."""
    return len(data) >= 6 and struct.unpack_from("<I", data)[0] == TNEF_SIGNATURE


def read_tnef(data: bytes) -> TnefContent:
    """Parse ``data``; truncated or corrupt input yields what was readable."""
    if not is_tnef(data):
        return TnefContent("", ())
    pos = 6
    body = ""
    files: list[TnefFile] = []
    name: str | None = None
    content: bytes | None = None

    def flush() -> None:
        nonlocal name, content
        if (name is not None or content is not None) and len(files) < _MAX_FILES:
            files.append(TnefFile(name or "attachment.dat", content or b""))
        name, content = None, None

    while pos + 9 <= len(data):
        _level, attr, length = struct.unpack_from("<BII", data, pos)
        start = pos + 9
        end = start + length
        if end > len(data):
            break
        value = data[start:end]
        pos = end + 2  # two-byte checksum
        attr_id = attr & 0xFFFF
        if attr_id == _ATT_ATTACH_REND_DATA:
            flush()
        elif attr_id == _ATT_ATTACH_TITLE:
            name = _text(value)
        elif attr_id == _ATT_ATTACH_DATA:
            content = value
        elif attr_id == _ATT_BODY:
            body = _text(value)
    flush()
    return TnefContent(body, tuple(files))


def _text(value: bytes) -> str:
    return guess_decode(value.rstrip(b"\x00"))
