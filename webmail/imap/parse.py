"""Turning imapclient's parsed response data into the facade's types."""

from __future__ import annotations

import functools
import logging
import re
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

from imapclient import imap_utf7
from imapclient.datetime_util import parse_to_datetime
from imapclient.response_parser import (
    _convert_ENVELOPE,
    _convert_INTERNALDATE,
    parse_fetch_response,
    parse_response,
)
from imapclient.response_types import BodyData
from imapclient.response_types import Envelope as ImapEnvelope

from webmail.imap import fetchparse
from webmail.imap.types import Address, BodyPart, Envelope, FlagChange, Folder
from webmail.imap.wire import ResponseItem
from webmail.mime.charsets import decode_text
from webmail.mime.headers import decode_header

logger = logging.getLogger(__name__)

_UNTAGGED = re.compile(rb"^\* (?:(\d+) )?([A-Za-z-]+)(?: (.*))?$", re.DOTALL)


# Generic helpers ------------------------------------------------------


def text(value: Any) -> str:
    """Return an atom or string from a parsed response as str."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def flags(values: Iterable[Any]) -> tuple[str, ...]:
    """Return flags as str, in the server's spelling, without \\Recent.

    \\Recent belongs to one session, not to the message, and would make
    two clients' views of the same message differ.
    """
    return tuple(text(v) for v in values if text(v).lower() != "\\recent")


def aware(value: Any) -> datetime | None:
    """Return a datetime with a standard fixed-offset timezone, or None.

    None too for an offset of a day or more ("+2400"), which no zone has:
    the message is then dated by its arrival instead.
    """
    if not isinstance(value, datetime):
        return None
    try:
        offset = value.utcoffset()
        if offset is None:
            return value.replace(tzinfo=UTC)
        return value.replace(tzinfo=timezone(offset))
    except ValueError:
        return None


def classify(
    response: list[ResponseItem],
) -> tuple[str, int | None, list[ResponseItem]]:
    """Split an untagged response into (KIND, number, the data after KIND).

    The data keeps imaplib's item format, so imapclient's parsers take it.
    """
    first = response[0]
    line = first if isinstance(first, bytes) else first[0]
    match = _UNTAGGED.match(line)
    if not match:
        return "", None, response
    number = int(match.group(1)) if match.group(1) else None
    kind = match.group(2).decode().upper()
    rest = match.group(3) or b""
    head: ResponseItem = rest if isinstance(first, bytes) else (rest, first[1])
    return kind, number, [head, *response[1:]]


def parse(items: list[ResponseItem]) -> tuple[Any, ...]:
    """Parse response data into nested tuples of atoms."""
    if items == [b""]:
        return ()
    return tuple(parse_response(list(items)))


def parse_fetch(number: int, items: list[ResponseItem]) -> dict[bytes, Any]:
    """Parse the data of one "* n FETCH (...)" response.

    fetchparse reads it faster (bench/fetchparse.py); what it does not read (or
    whatever fails in it) goes to imapclient's parser, whose answer or error
    stands, so both give the same result.
    """
    try:
        return fetchparse.parse_fetch(number, items)
    except Exception as exc:
        # The type only: the exception's text may quote private mail.
        logger.debug("FETCH %d left to imapclient (%s)", number, type(exc).__name__)
    head = items[0]
    prefix = b"%d " % number
    first: ResponseItem = (
        prefix + head if isinstance(head, bytes) else (prefix + head[0], head[1])
    )
    parsed = parse_fetch_response(
        [first, *items[1:]],
        normalise_times=False,
        uid_is_key=False,
    )
    return dict(parsed.get(number, {}))


def flag_change(number: int, data: dict[bytes, Any]) -> FlagChange | None:
    """Return the flag change a FETCH response carries, if it has FLAGS."""
    if b"FLAGS" not in data:
        return None
    modseq = data.get(b"MODSEQ")
    return FlagChange(
        uid=data.get(b"UID"),
        flags=flags(data[b"FLAGS"]),
        modseq=int(modseq[0]) if modseq else None,
        seq=number,
    )


# Sequence sets --------------------------------------------------------


def parse_uid_set(data: bytes | str) -> list[int]:
    """Expand "1:3,7" into [1, 2, 3, 7] (no "*": servers never send it)."""
    raw = data.decode() if isinstance(data, bytes) else data
    uids: list[int] = []
    for piece in raw.split(","):
        if not piece:
            continue
        low, _, high = piece.partition(":")
        if high:
            a, b = sorted((int(low), int(high)))
            uids.extend(range(a, b + 1))
        else:
            uids.append(int(low))
    return uids


def format_uid_set(uids: Iterable[int]) -> bytes:
    """Compress UIDs into a sequence set: [1, 2, 3, 7] gives b"1:3,7"."""
    ordered = sorted(set(uids))
    if not ordered:
        raise ValueError("An empty set of UIDs cannot be sent to the server.")
    pieces: list[str] = []
    start = prev = ordered[0]
    for uid in ordered[1:]:
        if uid == prev + 1:
            prev = uid
            continue
        pieces.append(f"{start}:{prev}" if prev != start else str(start))
        start = prev = uid
    pieces.append(f"{start}:{prev}" if prev != start else str(start))
    return ",".join(pieces).encode()


def parse_copyuid(code_data: bytes | None) -> dict[int, int]:
    """Map source to destination UIDs from "[COPYUID v src dst]" data."""
    if not code_data:
        return {}
    parts = code_data.split()
    if len(parts) != 3:
        return {}
    return dict(zip(parse_uid_set(parts[1]), parse_uid_set(parts[2]), strict=False))


# Folder names ---------------------------------------------------------


def decode_folder_name(name: str) -> str:
    """Decode a modified UTF-7 folder name; leave a malformed one as is."""
    try:
        return str(imap_utf7.decode(name.encode("ascii")))
    except (UnicodeError, ValueError):
        return name


def encode_folder_name(name: str) -> str:
    """Return a folder name as the server spells it.

    A name with non-ASCII characters is taken as decoded and encoded to
    modified UTF-7; an ASCII name is taken as already spelled for the
    server (so names from LIST pass through unchanged).
    """
    if name.isascii():
        return name
    return str(imap_utf7.encode(name).decode("ascii"))


def folder_name_from_parts(parts: Sequence[str], delimiter: str | None) -> str:
    """Build the server spelling of a folder from decoded path parts."""
    encoded = [str(imap_utf7.encode(part).decode("ascii")) for part in parts]
    if delimiter is None:
        if len(encoded) != 1:
            raise ValueError("This server has no folder hierarchy.")
        return encoded[0]
    return delimiter.join(encoded)


def parse_list(items: list[ResponseItem]) -> tuple[tuple[str, ...], str | None, str]:
    """Return (flags, delimiter, raw name) of a LIST response's data."""
    parsed = parse(items)
    raw_flags, delimiter, name = parsed[0], parsed[1], parsed[2]
    return flags(raw_flags), (text(delimiter) if delimiter else None), text(name)


SPECIAL_USE = {
    "\\all",
    "\\archive",
    "\\drafts",
    "\\flagged",
    "\\junk",
    "\\sent",
    "\\trash",
    "\\important",
}


def make_folder(
    name: str,
    folder_flags: tuple[str, ...],
    delimiter: str | None,
    subscribed: bool,
    status: dict[str, int] | None,
) -> Folder:
    """Build a Folder from LIST (and STATUS) data."""
    raw_parts = name.split(delimiter) if delimiter else [name]
    parts = [decode_folder_name(p) for p in raw_parts]
    special = next((f for f in folder_flags if f.lower() in SPECIAL_USE), None)
    if name.upper() == "INBOX":
        parts = ["INBOX"]
    status = status or {}
    return Folder(
        name=name,
        display_name=parts[-1],
        delimiter=delimiter,
        parent_parts=tuple(parts[:-1]),
        special_use=special,
        flags=folder_flags,
        subscribed=subscribed,
        messages=status.get("MESSAGES"),
        unseen=status.get("UNSEEN"),
        uidnext=status.get("UIDNEXT"),
        uidvalidity=status.get("UIDVALIDITY"),
        highestmodseq=status.get("HIGHESTMODSEQ"),
    )


def parse_status(items: list[ResponseItem]) -> tuple[str, dict[str, int]]:
    """Return (raw name, {"MESSAGES": n, ...}) of a STATUS response's data."""
    parsed = parse(items)
    name, values = text(parsed[0]), parsed[1]
    pairs = {
        text(values[i]).upper(): int(values[i + 1]) for i in range(0, len(values), 2)
    }
    return name, pairs


# Envelopes ------------------------------------------------------------


def decode_header_text(value: bytes | None) -> str:
    """Decode a header value that may hold RFC 2047 encoded words.

    The MIME package's decoder does it as for a whole message: words split
    inside a character, Japanese charsets with the NEC and IBM extensions,
    raw 8-bit text.
    """
    if not value:
        return ""
    return decode_header(value)


def _bytes_to_str(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _addresses(values: Any) -> tuple[Address, ...]:
    if not values:
        return ()
    out: list[Address] = []
    for addr in values:
        address = _address(addr.name, addr.mailbox, addr.host)
        if address is not None:
            out.append(address)
    return tuple(out)


# Most mail comes from and goes to the same few people: each is decoded
# once, not once a message.
@functools.lru_cache(maxsize=4096)
def _address(name: Any, mailbox: Any, host: Any) -> Address | None:
    # Group syntax: a start marker has no host, the end marker nothing.
    if host is None:
        return None
    mailbox_text = _bytes_to_str(mailbox or b"")
    host_text = _bytes_to_str(host or b"")
    address = f"{mailbox_text}@{host_text}" if host_text else mailbox_text
    return (decode_header_text(name), address)


def _msgid(value: bytes | None) -> str | None:
    if not value:
        return None
    return _bytes_to_str(value).strip() or None


def envelope(value: Any) -> Envelope:
    """Convert imapclient's Envelope into ours, decoded to text."""
    date = aware(value.date)
    return Envelope(
        date=date,
        subject=decode_header_text(value.subject),
        from_=_addresses(value.from_),
        sender=_addresses(value.sender),
        reply_to=_addresses(value.reply_to),
        to=_addresses(value.to),
        cc=_addresses(value.cc),
        bcc=_addresses(value.bcc),
        in_reply_to=_msgid(value.in_reply_to),
        message_id=_msgid(value.message_id),
    )


# Summaries ------------------------------------------------------------
#
# A folder's first sync reads thousands of summaries, and building
# imapclient's objects for ENVELOPE and INTERNALDATE, then ours from them,
# took about a fifth of the time. summary_fetch leaves those two as read,
# and the functions below turn them straight into what envelope() and
# aware() give; what they cannot read goes the usual way.

_AS_READ = frozenset({b"ENVELOPE", b"INTERNALDATE"})
_MONTHS = b"Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
_TIME_ZONE = rb"([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{2})([0-9]{2})"
# Date headers as RFC 5322 writes them, and INTERNALDATE as RFC 3501 does;
# other spellings go to imapclient's reader (email.utils.parsedate_tz).
_DATE_HEADER = re.compile(
    rb"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?([0-9]{1,2}) ("
    + b"|".join(_MONTHS)
    + rb") ([1-9][0-9]{3}) "
    + _TIME_ZONE
)
_INTERNALDATE = re.compile(
    rb" ?([0-9]{1,2})-(" + b"|".join(_MONTHS) + rb")-([1-9][0-9]{3}) " + _TIME_ZONE
)


def summary_fetch(number: int, items: list[ResponseItem]) -> dict[bytes, Any]:
    """Like parse_fetch, but ENVELOPE and INTERNALDATE may be left as read.

    Convert them with envelope_of() and internaldate_of(), which take
    either form.
    """
    try:
        return fetchparse.parse_fetch(number, items, as_read=_AS_READ)
    except Exception:
        return parse_fetch(number, items)


def envelope_of(value: Any) -> Envelope:
    """Return what envelope() gives for an ENVELOPE as read or as imapclient's."""
    if isinstance(value, ImapEnvelope):
        return envelope(value)
    try:
        return _envelope_as_read(value)
    except Exception:
        # Malformed: imapclient's conversion takes it, or fails, as it did.
        return envelope(_convert_ENVELOPE(value, False))


def _envelope_as_read(value: Any) -> Envelope:
    # The same steps as imapclient's _convert_ENVELOPE and envelope() above.
    date = _header_date(value[0]) if value[0] else None
    subject, in_reply_to, message_id = value[1], value[8], value[9]
    lists = [_addresses_as_read(addresses) for addresses in value[2:8]]
    return Envelope(
        date=date,
        subject=decode_header_text(subject),
        from_=lists[0],
        sender=lists[1],
        reply_to=lists[2],
        to=lists[3],
        cc=lists[4],
        bcc=lists[5],
        in_reply_to=_msgid(in_reply_to),
        message_id=_msgid(message_id),
    )


def _addresses_as_read(values: Any) -> tuple[Address, ...]:
    if not values:
        return ()
    out: list[Address] = []
    for addr in values:
        if not addr:
            continue
        name, _route, mailbox, host = addr
        address = _address(name, mailbox, host)
        if address is not None:
            out.append(address)
    return tuple(out)


def internaldate_of(value: Any) -> datetime | None:
    """Return what aware() gives for an INTERNALDATE as read or as imapclient's."""
    if value is None or isinstance(value, datetime):
        return aware(value)
    return _well_formed_date(value, _INTERNALDATE) or aware(
        _convert_INTERNALDATE(value, False)
    )


def _header_date(value: Any) -> datetime | None:
    """Return the ENVELOPE date as imapclient's reading and aware() give it."""
    found = _well_formed_date(value, _DATE_HEADER)
    if found is not None:
        return found
    try:
        read = parse_to_datetime(value, normalise=False)
    except ValueError:
        return None
    return aware(read)


def _well_formed_date(value: Any, pattern: re.Pattern[bytes]) -> datetime | None:
    """Return the date a value spelled as pattern says, None for any other."""
    match = pattern.fullmatch(value) if isinstance(value, bytes) else None
    if match is None:
        return None
    day, month, year, hour, minute, second, sign, hours, minutes = match.groups()
    zone = _zone(sign, hours, minutes)
    if zone is None:
        return None
    try:
        return datetime(
            int(year),
            _MONTH_NUMBERS[month],
            int(day),
            int(hour),
            int(minute),
            int(second),
            tzinfo=zone,
        )
    except ValueError:
        return None  # no such day or time: imapclient's reading says so


_MONTH_NUMBERS = {name: number for number, name in enumerate(_MONTHS, start=1)}


# A mailbox's dates carry a handful of offsets: each zone is made once.
@functools.lru_cache(maxsize=256)
def _zone(sign: bytes, hours: bytes, minutes: bytes) -> timezone | None:
    offset = int(hours) * 3600 + int(minutes) * 60
    if offset >= 86400:
        return None  # no zone has it (see aware())
    return timezone(timedelta(seconds=-offset if sign == b"-" else offset))


_MSGID = re.compile(r"<[^<>\s]+>")


def references(header_block: bytes | None) -> tuple[str, ...]:
    """Return the message ids of a fetched "References:" header block."""
    if not header_block:
        return ()
    raw = _bytes_to_str(header_block)
    return tuple(_MSGID.findall(raw))


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
            charset = _bytes_to_str(declared) or "utf-8"
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
