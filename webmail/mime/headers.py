"""Header decoding: RFC 2047 words, raw 8-bit, RFC 2231 parameters, dates.

Everything here takes raw header bytes (as they came off the wire, folding
included) and returns text, so a mailer's mistakes can be repaired before
anything is decoded.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import getaddresses, parsedate_tz

from webmail.mime.charsets import decode_text, guess_decode, normalize_charset

_ENCODED_WORD = re.compile(
    rb"=\?([^?\s]{1,75})\?([bBqQ])\?([^?]*?)\?=",
)
_FOLD = re.compile(rb"\r?\n(?=[ \t])")
_LINE_END = re.compile(rb"\r?\n")
_QP_HEX = re.compile(rb"=([0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class Address:
    """One mailbox from an address header."""

    name: str
    address: str

    def display(self) -> str:
        """Return the name if there is one, else the address."""
        return self.name or self.address


_PRINTABLE = re.compile(rb"[\x20-\x7e]*")


def unfold(raw: bytes) -> bytes:
    """Remove header folding (RFC 5322 section 2.2.3) and stray line ends."""
    return _LINE_END.sub(b"", _FOLD.sub(b"", raw)).strip()


def _decode_b(text: bytes) -> bytes:
    text = re.sub(rb"[^A-Za-z0-9+/]", b"", text)
    text += b"=" * (-len(text) % 4)
    try:
        return base64.b64decode(text)
    except (binascii.Error, ValueError):
        # One char too many (len % 4 == 1) cannot decode; drop it.
        try:
            return base64.b64decode(text.rstrip(b"=")[:-1] + b"==")
        except (binascii.Error, ValueError):
            return b""


def _decode_q(text: bytes) -> bytes:
    text = text.replace(b"_", b" ")
    return _QP_HEX.sub(lambda m: bytes((int(m.group(1), 16),)), text)


def decode_header(raw: bytes | str | None) -> str:
    """Decode a header value to display text.

    Adjacent encoded words with the same charset are joined as bytes before
    decoding, so a character split across two words survives. Whitespace
    between encoded words is dropped; raw 8-bit text is decoded as UTF-8 or
    a Japanese guess. Malformed words are left as they are.
    """
    if raw is None:
        return ""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    if b"=?" not in raw and _PRINTABLE.fullmatch(raw):
        # Most values are plain printable ASCII: nothing to unfold or decode
        # (a sync decodes a few hundred thousand of them).
        return raw.strip(b" ").decode("ascii")
    raw = unfold(raw)
    # (charset or None for plain text, bytes)
    segments: list[tuple[str | None, bytes]] = []
    pos = 0
    for match in _ENCODED_WORD.finditer(raw):
        between = raw[pos : match.start()]
        previous_is_word = bool(segments) and segments[-1][0] is not None
        if between and not (previous_is_word and not between.strip()):
            segments.append((None, between))
        charset = match.group(1).decode("ascii", "replace")
        charset = charset.split("*", 1)[0].lower()
        payload = match.group(3)
        if match.group(2) in (b"B", b"b"):
            data = _decode_b(payload)
        else:
            data = _decode_q(payload)
        if segments and segments[-1][0] == charset:
            segments[-1] = (charset, segments[-1][1] + data)
        else:
            segments.append((charset, data))
        pos = match.end()
    if pos < len(raw):
        segments.append((None, raw[pos:]))
    out: list[str] = []
    for charset, data in segments:
        if charset is None:
            out.append(guess_decode(data))
        else:
            out.append(decode_text(data, charset))
    return _clean_controls("".join(out))


_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clean_controls(text: str) -> str:
    text = text.replace("\r", " ").replace("\n", " ").replace("\t", " ")
    return _CONTROLS.sub("", text)


def parse_addresses(raws: list[bytes]) -> tuple[Address, ...]:
    """Parse address headers into (name, address) pairs with decoded names."""
    values = [unfold(raw).decode("utf-8", "surrogateescape") for raw in raws]
    result: list[Address] = []
    for name, address in getaddresses(values):
        if not name and not address:
            continue
        display = decode_header(name.encode("utf-8", "surrogateescape"))
        addr = decode_header(address.encode("utf-8", "surrogateescape"))
        if display == addr:
            display = ""
        result.append(Address(display.strip(), addr.strip()))
    return tuple(result)


_DATE_COMMENT = re.compile(r"\([^)]*\)")
_DATE_JUNK = re.compile(r"[^0-9A-Za-z:+\-,. ]")


def parse_date(raw: bytes | str | None) -> datetime | None:
    """Parse a Date header into an aware datetime; None if unreadable."""
    if raw is None:
        return None
    if isinstance(raw, bytes):
        raw = unfold(raw).decode("ascii", "replace")
    text = _DATE_JUNK.sub(" ", _DATE_COMMENT.sub(" ", raw)).strip()
    for candidate in (text, _drop_trailing_words(text)):
        parsed = _parse_date_text(candidate)
        if parsed is not None:
            return parsed
    return _parse_iso_date(text)


def _drop_trailing_words(text: str) -> str:
    # "Mon, 3 Jun 2024 10:00:00 +0900 JST garbage" -> keep through the zone.
    match = re.search(r"\d{1,2}:\d{2}(?::\d{2})?\s*[+-]?\d{0,4}", text)
    return text[: match.end()] if match else text


# Zone names that parsedate_tz does not know but Asian mailers write.
_ZONES = {"JST": "+0900", "KST": "+0900", "HKT": "+0800", "SGT": "+0800"}
_ZONE_NAME = re.compile(r"\b(" + "|".join(_ZONES) + r")\b")


def _parse_date_text(text: str) -> datetime | None:
    text = _ZONE_NAME.sub(lambda m: _ZONES[m.group(1)], text)
    try:
        fields = parsedate_tz(text)
    except (ValueError, IndexError, TypeError):
        return None
    if fields is None:
        return None
    year, month, day, hour, minute, second = fields[:6]
    offset = fields[9] or 0
    if not 1 <= month <= 12 or not 1900 <= year <= 9999:
        return None
    if abs(offset) > 18 * 3600:
        offset = 0
    try:
        return datetime(
            year,
            month,
            day,
            min(hour, 23),
            min(minute, 59),
            min(second, 59),
            tzinfo=timezone(timedelta(seconds=offset)),
        )
    except (ValueError, OverflowError):
        return None


def _parse_iso_date(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


# Content-Type / Content-Disposition parameters.

_PARAM_TOKEN = re.compile(
    rb'\s*([^\s=;"]+)\s*=\s*("(?:[^"\\]|\\.)*"?|[^;]*)\s*(?:;|$)', re.DOTALL
)
_SECTION = re.compile(r"^(.*?)\*(\d+)(\*?)$")


@dataclass(frozen=True)
class ContentHeader:
    """A parsed Content-Type or Content-Disposition value."""

    value: str
    params: dict[str, str]

    def get(self, name: str, default: str = "") -> str:
        """Return parameter ``name`` (lowercase), or ``default``."""
        return self.params.get(name, default)


def parse_content_header(raw: bytes | None) -> ContentHeader:
    """Parse ``value; name=value; ...`` with RFC 2231 and RFC 2047 repairs."""
    if not raw:
        return ContentHeader("", {})
    raw = unfold(raw)
    main, _, rest = raw.partition(b";")
    value = main.decode("ascii", "replace").strip().strip('"').lower()
    # name -> {section -> (encoded, raw bytes)}; name -> plain value.
    sections: dict[str, dict[int, tuple[bool, bytes]]] = {}
    plain: dict[str, bytes] = {}
    for match in _PARAM_TOKEN.finditer(rest):
        name = match.group(1).decode("ascii", "replace").lower()
        data = match.group(2).strip()
        if data.startswith(b'"'):
            data = re.sub(rb"\\(.)", rb"\1", data[1:].removesuffix(b'"'))
        section = _SECTION.match(name)
        if section:
            base, number, star = section.groups()
            sections.setdefault(base, {})[int(number)] = (star == "*", data)
        elif name.endswith("*"):
            sections.setdefault(name[:-1], {})[0] = (True, data)
        else:
            plain.setdefault(name, data)
    params: dict[str, str] = {}
    for name, data in plain.items():
        params[name] = decode_header(data)
    for name, parts in sections.items():
        params[name] = _join_rfc2231(parts)
    return ContentHeader(value, params)


def _join_rfc2231(parts: dict[int, tuple[bool, bytes]]) -> str:
    charset = ""
    joined = b""
    for index in sorted(parts):
        encoded, data = parts[index]
        if encoded:
            if index == sorted(parts)[0] and data.count(b"'") >= 2:
                head, _, data = data.partition(b"'")
                _, _, data = data.partition(b"'")
                charset = head.decode("ascii", "replace")
            data = _percent_decode(data)
        joined += data
    if not charset:
        return decode_header(joined)
    if not normalize_charset(charset):
        return guess_decode(joined)
    return decode_text(joined, charset)


def _percent_decode(data: bytes) -> bytes:
    return re.sub(rb"%([0-9A-Fa-f]{2})", lambda m: bytes((int(m.group(1), 16),)), data)
