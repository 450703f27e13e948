"""Dates as message lists show them: the time for today, else the date.

Formats come from the language's own (TIME_FORMAT, MONTH_DAY_FORMAT,
SHORT_DATE_FORMAT), taken apart once per language for many dates.
"""

from __future__ import annotations

import functools
from datetime import date, datetime

from django.utils import timezone
from django.utils.dateformat import DateFormat, re_escaped, re_formatchars
from django.utils.formats import get_format
from django.utils.translation import get_language


class ListDates:
    """Show message dates the way a list does: time today, else the date.

    The clock, the time zone and the language's formats are looked up once
    for a whole list rather than for each of its rows.
    """

    def __init__(self) -> None:
        self.zone = timezone.get_current_timezone()
        self.now = timezone.localtime(timezone=self.zone)
        self.today = self.now.date()
        formats = _formats(get_language())
        self.time_format, self.month_day_format, self.short_format = formats
        # A list's older rows share few days: format each day once.
        self.days: dict[date, str] = {}

    def __call__(self, value: datetime | None) -> str:
        if value is None:
            return ""
        local = value.astimezone(self.zone) if timezone.is_aware(value) else value
        day = local.date()
        if day == self.today:
            return self.time_format(local)
        shown = self.days.get(day)
        if shown is None:
            same_year = local.year == self.now.year
            fmt = self.month_day_format if same_year else self.short_format
            shown = self.days[day] = fmt(local)
        return shown


@functools.lru_cache(maxsize=32)
def _formats(language: str | None) -> tuple[_Format, _Format, _Format]:
    """The list's date formats in a language (the cache's key), taken apart."""
    return (
        _Format(get_format("TIME_FORMAT")),
        _Format(get_format("MONTH_DAY_FORMAT")),
        _Format(get_format("SHORT_DATE_FORMAT")),
    )


# Format characters that stand for the month's name: each is the same word
# for every day of a month (django.utils.dateformat.DateFormat).
MONTH_WORDS = frozenset("bEFMN")


class _Format:
    """A date format (dateformat's syntax) taken apart once for many dates.

    dateformat.format() parses its format on every call and looks the
    month's name up in the catalogue every time, which made the dates half
    the cost of a list's rows. This does what it does, with each month's
    name looked up once: an instance serves one language (see _formats).
    """

    def __init__(self, fmt: str) -> None:
        # (text, whether it is a format character), as Formatter.format splits.
        self.pieces: list[tuple[str, bool]] = []
        for i, piece in enumerate(re_formatchars.split(str(fmt))):
            if i % 2:
                self.pieces.append((piece, True))
            elif piece:
                self.pieces.append((re_escaped.sub(r"\1", piece), False))
        self.words: dict[tuple[str, int], str] = {}

    def __call__(self, value: datetime) -> str:
        formatter = DateFormat(value)
        parts = []
        for piece, code in self.pieces:
            if not code:
                parts.append(piece)
            elif piece in MONTH_WORDS:
                word = self.words.get((piece, value.month))
                if word is None:
                    word = str(getattr(formatter, piece)())
                    self.words[piece, value.month] = word
                parts.append(word)
            else:
                parts.append(str(getattr(formatter, piece)()))
        return "".join(parts)
