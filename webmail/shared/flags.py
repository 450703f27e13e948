"""IMAP flags and the Message fields that mirror them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# IMAP flag (lowercased) -> Message field.
FIELDS = {
    "\\seen": "seen",
    "\\flagged": "flagged",
    "\\answered": "answered",
    "$forwarded": "forwarded",
    "\\draft": "draft",
    "\\deleted": "deleted",
}
# Message field -> the flag's usual spelling.
FLAG_OF = {
    "seen": "\\Seen",
    "flagged": "\\Flagged",
    "answered": "\\Answered",
    "forwarded": "$Forwarded",
    "draft": "\\Draft",
    "deleted": "\\Deleted",
}
# Session flags the server sets on its own; never stored or sent.
IGNORED = {"\\recent"}


def fields_from_flags(flags: Iterable[str]) -> dict[str, Any]:
    """Return Message field values for a message with these flags."""
    values: dict[str, Any] = dict.fromkeys(FIELDS.values(), False)
    keywords = []
    for flag in flags:
        lowered = flag.lower()
        if lowered in FIELDS:
            values[FIELDS[lowered]] = True
        elif lowered not in IGNORED:
            keywords.append(flag)
    values["keywords"] = sorted(keywords)
    return values


def flags_of(message: Any) -> list[str]:
    """Return the flags a cached message has."""
    flags = [flag for field, flag in FLAG_OF.items() if getattr(message, field)]
    return flags + list(message.keywords)


def apply_flags(
    message: Any, add: Iterable[str] = (), remove: Iterable[str] = ()
) -> None:
    """Change a cached message's fields as +FLAGS/-FLAGS would."""
    keywords = set(message.keywords)
    for flag, present in [(f, True) for f in add] + [(f, False) for f in remove]:
        lowered = flag.lower()
        if lowered in FIELDS:
            setattr(message, FIELDS[lowered], present)
        elif present:
            keywords.add(flag)
        else:
            keywords = {k for k in keywords if k.lower() != lowered}
    message.keywords = sorted(keywords)
