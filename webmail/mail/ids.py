"""Ids and UIDs read from a request: ASCII digits within range, or a clear 400.

Every id a page reads from a form or a query string goes through here.
Python's int() takes full-width digits and " 7", str.isdigit() takes
"²", and a number past 64 bits reaches the database, where SQLite
raises OverflowError (a 500). Here only ASCII digits within a column's
range pass: 1..2**63-1 for row ids (a PostgreSQL bigint) and 1..2**32-1
for IMAP UIDs (RFC 3501: a 32-bit number greater than zero).

The URL converters "id" and "uid" hold paths to the same rule (webmail/urls.py
registers them for every URLconf); a path with any other number is a 404.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.core.exceptions import BadRequest
from django.urls.converters import IntConverter
from django.utils.translation import gettext

MAX_ID = 2**63 - 1
MAX_UID = 2**32 - 1

_DIGITS = re.compile(r"[0-9]{1,20}")


class BadId(BadRequest, ValueError):
    """A request names an id that no row can have; its text is for the user.

    A BadRequest, so an uncaught one is a 400 (webmail.views.errors), and
    a ValueError, so code that falls back on a value it cannot read still
    does.
    """


def _parse(value: str | None, limit: int) -> int:
    if not value:
        raise BadId(
            gettext(
                "A number is missing from the request. Reload the page and try again."
            )
        )
    if _DIGITS.fullmatch(value) and 0 < int(value) <= limit:
        return int(value)
    raise BadId(
        gettext(
            "“%(value)s” is not a number this page can use. Reload the page "
            "and try again."
        )
        % {"value": value[:30]}
    )


def parse_id(value: str | None) -> int:
    """Return the row id that value names; raise BadId if it names none."""
    return _parse(value, MAX_ID)


def parse_uid(value: str | None) -> int:
    """Return the IMAP UID that value names; raise BadId if it names none."""
    return _parse(value, MAX_UID)


def parse_ids(values: Iterable[str]) -> list[int]:
    """Return the row ids of a form's list (getlist); BadId if one is wrong."""
    return [_parse(value, MAX_ID) for value in values]


def parse_uids(values: Iterable[str]) -> list[int]:
    """Return the UIDs of a form's list (getlist); BadId if one is wrong."""
    return [_parse(value, MAX_UID) for value in values]


class IdConverter(IntConverter):
    """The path converter "id": a row id, 1..2**63-1, in ASCII digits."""

    regex = "[0-9]{1,19}"
    limit = MAX_ID

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 0 < number <= self.limit:
            # Django takes a ValueError here to mean "no such URL": a 404.
            raise ValueError(value)
        return number


class UidConverter(IdConverter):
    """The path converter "uid": an IMAP UID, 1..2**32-1, in ASCII digits."""

    regex = "[0-9]{1,10}"
    limit = MAX_UID
