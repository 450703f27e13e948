"""HTML a user wrote, made ready to send: images inside it become parts.

The editor keeps a pasted or dropped image in the markup as a ``data:``
URL. Here each one becomes an InlineImage (the same bytes twice become
one part), its ``src`` a ``cid:`` reference to it; then the markup goes
through the sanitizer's outgoing profile (webmail.mime.sanitize), which
drops scripts, event handlers, remote images and styles that break out.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from dataclasses import dataclass

from webmail.mime.compose import InlineImage
from webmail.mime.sanitize import sanitize_outgoing

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
_DATA_SRC = re.compile(
    r"""(?P<head><img\b[^>]*?\bsrc\s*=\s*)(?P<quote>["'])\s*"""
    r"""data:(?P<type>[a-z0-9.+-]+/[a-z0-9.+-]+)(?:;[^,"']*)?;base64,"""
    r"""(?P<data>[a-z0-9+/=\s]*)(?P=quote)""",
    re.IGNORECASE,
)
_WHITESPACE = re.compile(r"\s+")


class InlineTooLarge(ValueError):
    """The images inside the text add up to more than the limit."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"{size} > {limit}")
        self.size = size
        self.limit = limit


@dataclass(frozen=True)
class PreparedHtml:
    """Sanitized HTML and the images it refers to as cid: URLs."""

    html: str
    inline: tuple[InlineImage, ...]


def prepare_html(markup: str, domain: str, limit: int) -> PreparedHtml:
    """Turn the editor's HTML into what is sent; raise InlineTooLarge.

    limit is the most the images inside may add up to, in bytes.
    """
    found: dict[str, InlineImage] = {}
    total = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal total
        content_type = match["type"].lower()
        try:
            data = base64.b64decode(_WHITESPACE.sub("", match["data"]), validate=True)
        except (binascii.Error, ValueError):
            data = b""
        if content_type not in IMAGE_TYPES or not data:
            # The sanitizer drops an image with no source.
            return f"{match['head']}{match['quote']}{match['quote']}"
        digest = hashlib.sha256(data).hexdigest()
        if digest not in found:
            total += len(data)
            if total > limit:
                raise InlineTooLarge(total, limit)
            content_id = f"{secrets.token_hex(8)}@{domain or 'localhost'}"
            found[digest] = InlineImage(content_id, content_type, data)
        quote = match["quote"]
        return f"{match['head']}{quote}cid:{found[digest].content_id}{quote}"

    with_cids = _DATA_SRC.sub(replace, markup)
    return PreparedHtml(sanitize_outgoing(with_cids), tuple(found.values()))
