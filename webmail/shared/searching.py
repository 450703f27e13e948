"""A search as the page asks it and the worker runs it, and the codes of its answer.

The page parses a SearchQuery from GET parameters (webmail.mail.search)
and sends it to the account's worker as plain values (to_json); the worker
runs it on the server (webmail.engine.search) and answers with the hits,
and with notes and errors as codes that the page words in the user's
language.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

FIELDS = {
    "text": "TEXT",
    "from": "FROM",
    "to": "TO",
    "subject": "SUBJECT",
    "body": "BODY",
}

_WORD = re.compile(r'"([^"]+)"|(\S+)')

# Notes and errors travel from the worker as codes; the web translates them.
NOTE_CACHE_ONLY = "cache-only"

# The server could not search the text (or missed some): the worker looked
# through the messages itself.
NOTE_INCOMPLETE = "incomplete"

ERROR_UNREACHABLE = "unreachable"

ERROR_FAILED = "failed"


@dataclass(frozen=True)
class SearchQuery:
    """What the user asked for; folder_id None means every folder."""

    text: str = ""
    field: str = "text"
    folder_id: int | None = None
    since: date | None = None
    until: date | None = None
    unread: bool = False
    flagged: bool = False
    attachment: bool = False

    @property
    def empty(self) -> bool:
        """Return whether nothing at all was asked for."""
        return not (
            self.text
            or self.since
            or self.until
            or self.unread
            or self.flagged
            or self.attachment
        )

    def params(self) -> dict[str, str]:
        """Return the GET parameters of this search (for links and forms)."""
        values = {
            "q": self.text,
            "field": self.field if self.field != "text" else "",
            "folder": str(self.folder_id) if self.folder_id else "all",
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
            "unread": "1" if self.unread else "",
            "flagged": "1" if self.flagged else "",
            "attachment": "1" if self.attachment else "",
        }
        return {key: value for key, value in values.items() if value}

    def to_json(self) -> dict[str, Any]:
        """Return the query as plain values, for a task."""
        values = asdict(self)
        values["since"] = self.since.isoformat() if self.since else None
        values["until"] = self.until.isoformat() if self.until else None
        return values

    @classmethod
    def from_json(cls, values: Mapping[str, Any]) -> SearchQuery:
        since, until = values.get("since"), values.get("until")
        return cls(
            text=str(values.get("text", "")),
            field=str(values.get("field", "text")),
            folder_id=values.get("folder_id"),
            since=date.fromisoformat(since) if since else None,
            until=date.fromisoformat(until) if until else None,
            unread=bool(values.get("unread")),
            flagged=bool(values.get("flagged")),
            attachment=bool(values.get("attachment")),
        )


def words(text: str) -> list[str]:
    """Split typed text into words; "quoted words" stay together."""
    return [quoted or bare for quoted, bare in _WORD.findall(text)]
