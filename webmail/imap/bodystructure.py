"""BODYSTRUCTURE responses as trees of BodyPart, with their parameters decoded."""

from __future__ import annotations

import functools
import logging
import re
import urllib.parse
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from imapclient.response_types import BodyData

from webmail.imap.envelopes import bytes_to_str, decode_header_text
from webmail.imap.parse import text
from webmail.imap.types import BodyPart
from webmail.mime.charsets import decode_text

logger = logging.getLogger(__name__)


# BODYSTRUCTURE --------------------------------------------------------


def _params(value: Any) -> Mapping[str, str]:
    """Return MIME parameters, with RFC 2231 continuations joined."""
    if not isinstance(value, tuple):
        return {}
    try:
        return _decoded_params(value)
    except TypeError:  # a list inside: not the parser's, so not cached
        return _decoded_params.__wrapped__(value)


# Parameter lists repeat from message to message (("charset" "UTF-8")): a
# folder's first sync decodes each distinct one once. Callers only read it.
@functools.lru_cache(maxsize=1024)
def _decoded_params(value: tuple[Any, ...]) -> Mapping[str, str]:
    plain: dict[str, str] = {}
    extended: dict[str, list[tuple[int, bool, bytes]]] = {}
    for i in range(0, len(value) - 1, 2):
        key, val = text(value[i]).lower(), value[i + 1]
        data = val if isinstance(val, bytes) else text(val).encode()
        # Only a name with "*" can be a piece of an RFC 2231 value.
        match = _EXTENDED.fullmatch(key) if "*" in key else None
        if match and (match.group(2) is not None or match.group(3)):
            index = int(match.group(2) or 0)
            extended.setdefault(match.group(1), []).append(
                (index, bool(match.group(3)), data)
            )
        else:
            plain[key] = decode_header_text(data)
    for key, pieces in extended.items():
        plain[key] = _join_rfc2231(sorted(pieces))
    return MappingProxyType(plain)


_EXTENDED = re.compile(r"([^*]+)(?:\*(\d+))?(\*)?")


def _join_rfc2231(pieces: list[tuple[int, bool, bytes]]) -> str:
    charset = "utf-8"
    buffer = bytearray()
    for position, (_, encoded, data) in enumerate(pieces):
        if not encoded:
            buffer += data
            continue
        value = data
        if position == 0 and value.count(b"'") >= 2:
            declared, _language, value = value.split(b"'", 2)
            charset = bytes_to_str(declared) or "utf-8"
        buffer += urllib.parse.unquote_to_bytes(value)
    return decode_text(bytes(buffer), charset)


def _child_section(parent: str, index: int) -> str:
    return f"{parent}.{index}" if parent else str(index)


def bodystructure(value: Any, section: str = "") -> BodyPart:
    """Simplify a BODYSTRUCTURE into a tree of BodyPart with section numbers."""
    if isinstance(value[0], list):
        children = tuple(
            bodystructure(part, _child_section(section, i))
            for i, part in enumerate(value[0], start=1)
        )
        subtype = text(value[1]).lower()
        disposition = value[3] if len(value) > 3 else None
        return BodyPart(
            section=section,
            content_type=f"multipart/{subtype}",
            disposition=_disposition(disposition)[0],
            parts=children,
        )
    return _single_part(value, section or "1")


def safe_bodystructure(value: Any) -> BodyPart:
    """Like bodystructure(), but a malformed one becomes a single part.

    One broken message must not hide a whole page of the message list.
    """
    try:
        return bodystructure(value)
    except (IndexError, TypeError, ValueError, AttributeError):
        return BodyPart(section="1", content_type="application/octet-stream")


def _disposition(value: Any) -> tuple[str | None, Mapping[str, str]]:
    if not isinstance(value, tuple) or not value:
        return None, {}
    return text(value[0]).lower(), _params(value[1] if len(value) > 1 else None)


def _single_part(value: Any, section: str) -> BodyPart:
    main, sub = text(value[0]).lower(), text(value[1]).lower()
    params = _params(value[2])
    content_type = f"{main}/{sub}"
    extension_at = 7
    children: tuple[BodyPart, ...] = ()
    if main == "text":
        extension_at = 8
    elif content_type in ("message/rfc822", "message/global") and len(value) > 8:
        extension_at = 10
        inner = value[8]
        inner_data = BodyData.create(inner) if isinstance(inner, tuple) else inner
        inner_part = bodystructure(inner_data, section)
        if inner_part.is_multipart:
            children = inner_part.parts
        else:
            children = (_renumber(inner_part, f"{section}.1"),)
    disposition: str | None = None
    disp_params: Mapping[str, str] = {}
    if len(value) > extension_at + 1:
        disposition, disp_params = _disposition(value[extension_at + 1])
    filename = disp_params.get("filename") or params.get("name") or None
    size = value[6] if isinstance(value[6], int) else 0
    return BodyPart(
        section=section,
        content_type=content_type,
        charset=params.get("charset"),
        encoding=text(value[5]).lower() or None,
        size=size,
        filename=filename,
        disposition=disposition,
        content_id=text(value[3]) or None,
        parts=children,
    )


def _renumber(part: BodyPart, section: str) -> BodyPart:
    return BodyPart(
        section=section,
        content_type=part.content_type,
        charset=part.charset,
        encoding=part.encoding,
        size=part.size,
        filename=part.filename,
        disposition=part.disposition,
        content_id=part.content_id,
        parts=part.parts,
    )


# The part a preview is read from ---------------------------------------

# Single parts whose text a reader sees (webmail.mime.parse shows the same).
_READABLE = frozenset(
    {
        "text/plain",
        "text/html",
        "text/enriched",
        "text/rfc822-headers",
        "message/delivery-status",
        "message/global-delivery-status",
        "message/disposition-notification",
    }
)


def preview_part(part: BodyPart) -> BodyPart | None:
    """Return the part whose text starts what a reader sees, None if no text.

    The same choice as webmail.mime.parse makes: of an alternative the
    plain text if there is one (else the HTML), of a related or signed
    part its first part, of a mixed one the first part with text shown;
    never an attachment, an attached message or an encrypted part.
    """
    if not part.is_multipart:
        if part.content_type in _READABLE and not part.is_attachment:
            return part
        return None
    subtype = part.content_type.partition("/")[2]
    if subtype == "encrypted" or not part.parts:
        return None
    if subtype in ("related", "signed"):
        return preview_part(part.parts[0])
    found = [p for p in map(preview_part, part.parts) if p is not None]
    if subtype == "alternative":
        plain = [p for p in found if p.content_type != "text/html"]
        found = plain or found
        return found[-1] if found else None
    return found[0] if found else None
