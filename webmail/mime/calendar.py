"""The facts of a calendar invitation (iCalendar, RFC 5545) that a reader wants.

An invitation is data to read, never to act on: icalendar only parses it
(nothing in it is fetched, run or added to a calendar), and what is kept
is plain text and ISO dates, which the worker caches as JSON. A file that
cannot be read yields an invitation marked broken, for the reader to say so.

No Django here.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

import icalendar

from webmail.mime.charsets import decode_text

# Invitations are a few kilobytes; a larger "invitation" is not parsed.
MAX_INVITATION = 256 * 1024
# Long enough for any real title, place or name.
MAX_FIELD = 300


@dataclass(frozen=True)
class Invitation:
    """One event: start and end as ISO dates ("2026-12-10") for a whole day,
    ISO date-times otherwise (with an offset unless the time is "floating",
    local wherever the reader is)."""

    summary: str = ""
    start: str = ""
    end: str = ""
    location: str = ""
    organizer_name: str = ""
    organizer_address: str = ""
    # REQUEST (an invitation), CANCEL, REPLY, PUBLISH, ...
    method: str = ""
    broken: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_invitation(data: bytes, charset: str | None = None) -> Invitation:
    """Return the first event of an iCalendar file; never raises."""
    if len(data) > MAX_INVITATION:
        return Invitation(broken=True)
    try:
        calendar = icalendar.Calendar.from_ical(decode_text(data, charset or "utf-8"))
        events = list(calendar.walk("VEVENT"))
        if not events:
            return Invitation(broken=True)
        return _invitation(events[0], _text(calendar.get("METHOD")).upper())
    except Exception:  # Hostile or broken input: the reader is told.
        return Invitation(broken=True)


def _invitation(event: Any, method: str) -> Invitation:
    start = _when(event, "DTSTART")
    if not start:
        return Invitation(broken=True)
    organizer = event.get("ORGANIZER")
    address = _text(organizer)
    if address.lower().startswith("mailto:"):
        address = address[len("mailto:") :]
    return Invitation(
        summary=_text(event.get("SUMMARY")),
        start=start,
        end=_when(event, "DTEND"),
        location=_text(event.get("LOCATION")),
        organizer_name=_text(organizer.params.get("CN")) if organizer else "",
        organizer_address=address,
        method=method,
    )


def _when(event: Any, name: str) -> str:
    prop = event.get(name)
    if prop is None:
        return ""
    value = prop.dt
    if isinstance(value, datetime | date):
        return value.isoformat()
    return ""


def _text(value: object) -> str:
    if value is None:
        return ""
    text = " ".join(str(value).split())
    return text[:MAX_FIELD]


def calendar_summary(data: bytes, charset: str | None) -> str:
    """Return a few readable lines about an invitation, for a message with no
    other text."""
    text = decode_text(data, charset or "utf-8")
    text = re.sub(r"\r?\n[ \t]", "", text)  # iCalendar line folding
    wanted = {"SUMMARY": "Event", "DTSTART": "Starts", "LOCATION": "Where"}
    lines: list[str] = []
    for line in text.splitlines():
        name, _, value = line.partition(":")
        key = name.split(";", 1)[0].upper()
        if key in wanted and value:
            value = value.replace("\\n", " ").replace("\\,", ",").replace("\\;", ";")
            lines.append(f"{wanted.pop(key)}: {value.strip()}")
    return "\n".join(lines) if lines else "Calendar invitation"
