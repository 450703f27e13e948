"""One-line previews of a message for the message list.

``preview_text`` reads a parsed message; ``preview_of_start`` reads only the
first octets of its first text part, as a partial FETCH brings them (still
transfer-encoded, perhaps cut inside a character, a tag or a word), and
gives the same line when those octets hold enough text.
"""

from __future__ import annotations

import binascii
import codecs
import re

from webmail.mime.charsets import decode_text, normalize_charset
from webmail.mime.entity import decode_base64
from webmail.mime.parse import META_CHARSET, ParsedMessage
from webmail.mime.text import html_to_text

PREVIEW_LENGTH = 200
_SPACE = re.compile(r"\s+")
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/=]")
# The end of quoted-printable cut inside an escape ("=", "=E").
_OPEN_ESCAPE = re.compile(rb"=[0-9A-Fa-f]?\Z")
# A character reference cut short ("&nbs", "&#12").
_OPEN_REFERENCE = re.compile(r"&#?[A-Za-z0-9]*\Z")
# Python's decoder of ISO-2022-JP stops at half-width kana; this one knows it.
_CUT_CODEC = {"iso2022_jp": "iso2022_jp_ext"}


def preview_text(message: ParsedMessage, limit: int = PREVIEW_LENGTH) -> str:
    """Return the start of the message's text, whitespace collapsed.

    Quoted lines (replies' "> ...") are skipped: the new text is what a
    reader wants to see in a list.
    """
    if message.text is not None:
        text = message.text
    elif message.html is not None:
        text = html_to_text(message.html)
    else:
        return ""
    return _shorten(_flatten(text), limit)


def _flatten(text: str) -> str:
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(">")]
    return _SPACE.sub(" ", " ".join(lines)).strip()


def _shorten(flat: str, limit: int) -> str:
    if len(flat) <= limit:
        return flat
    cut = flat[:limit]
    if " " in cut[limit // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip() + "\u2026"


def preview_of_start(
    data: bytes,
    *,
    content_type: str,
    charset: str | None,
    encoding: str | None,
    whole: bool,
    limit: int = PREVIEW_LENGTH,
) -> str | None:
    """Return preview_text's line for a text part known by its first octets.

    data is the start of the part as stored (whole: the part entire);
    content_type, charset and encoding are the part's, from its
    BODYSTRUCTURE. None when the octets hold too little text to tell the
    line (an HTML head, a long quote): fetch more and ask again.
    """
    raw = _undo_transfer_encoding(data, (encoding or "").lower(), whole)
    is_html = content_type == "text/html"
    if is_html and not charset:
        meta = META_CHARSET.search(raw[:4096])
        charset = meta.group(1).decode("ascii") if meta else None
    if not whole:
        raw = _whole_characters(raw, normalize_charset(charset))
    text = decode_text(raw, charset)
    if not whole:
        text = text.rstrip("\ufffd")
    if is_html:
        text = html_to_text(text if whole else _whole_markup(text))
    # The start of the text gives the start of the line; only a line longer
    # than limit shows none of what follows.
    flat = _flatten(text)
    if not whole and len(flat) <= limit:
        return None
    return _shorten(flat, limit)


def _undo_transfer_encoding(data: bytes, encoding: str, whole: bool) -> bytes:
    """Decode base64 or quoted-printable, only as far as whole units go."""
    if encoding == "base64":
        letters = _NOT_BASE64.sub(b"", data)
        if not whole:
            letters = letters[: len(letters) // 4 * 4]
        return decode_base64(letters)
    if encoding == "quoted-printable":
        if not whole:
            # A soft line break ("=" at a line's end) joins lines: cut
            # after the last line end, or else before an escape cut short.
            end = data.rfind(b"\n")
            data = data[: end + 1] if end >= 0 else _OPEN_ESCAPE.sub(b"", data)
        return binascii.a2b_qp(data)
    return data


def _whole_characters(raw: bytes, codec: str) -> bytes:
    """Leave out the bytes of a character (or escape sequence) cut short.

    Python's incremental decoder of the charset keeps such bytes back;
    without a known charset, UTF-8's rules are the best guess.
    """
    name = _CUT_CODEC.get(codec, codec) or "utf-8"
    try:
        decoder = codecs.getincrementaldecoder(name)(errors="replace")
    except LookupError:
        return raw
    decoder.decode(raw, final=False)
    pending = decoder.getstate()[0]
    return raw[: len(raw) - len(pending)] if pending else raw


def _whole_markup(markup: str) -> str:
    """Leave out a tag, comment or character reference cut short."""
    comment = markup.rfind("<!--")
    if comment > markup.rfind("-->"):
        markup = markup[:comment]
    tag = markup.rfind("<")
    if tag > markup.rfind(">"):
        markup = markup[:tag]
    return _OPEN_REFERENCE.sub("", markup)
