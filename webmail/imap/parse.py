"""Turning imapclient's parsed response data into the facade's types."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timezone
from typing import Any

from imapclient import imap_utf7
from imapclient.response_parser import (
    parse_fetch_response,
    parse_response,
)

from webmail.imap import fetchparse
from webmail.imap.types import FlagChange, Folder, UidMap
from webmail.imap.wire import ResponseItem

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


def parse_copyuid(code_data: bytes | None) -> UidMap:
    """Map source to destination UIDs from "[COPYUID v src dst]" data."""
    found = UidMap()
    parts = code_data.split() if code_data else []
    if len(parts) != 3:
        return found
    found.update(zip(parse_uid_set(parts[1]), parse_uid_set(parts[2]), strict=False))
    if parts[0].isdigit():
        found.uidvalidity = int(parts[0])
    return found


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
