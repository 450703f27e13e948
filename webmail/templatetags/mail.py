"""Template filters for the mailbox pages: dates, sizes and addresses."""

from __future__ import annotations

import functools
from collections.abc import Hashable
from datetime import date, datetime

from django import template
from django.template.loader import get_template
from django.utils import dateformat, timezone
from django.utils.formats import date_format, get_format
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


class ListDates:
    """Show message dates the way a list does: time today, else the date.

    The clock, the time zone and the language's formats are looked up once
    for a whole list rather than for each of its rows.
    """

    def __init__(self) -> None:
        self.zone = timezone.get_current_timezone()
        self.now = timezone.localtime(timezone=self.zone)
        self.today = self.now.date()
        self.time_format = get_format("TIME_FORMAT")
        self.month_day_format = get_format("MONTH_DAY_FORMAT")
        self.short_format = get_format("SHORT_DATE_FORMAT")
        # A list's older rows share few days: format each day once.
        self.days: dict[date, str] = {}

    def __call__(self, value: datetime | None) -> str:
        if value is None:
            return ""
        local = value.astimezone(self.zone) if timezone.is_aware(value) else value
        day = local.date()
        if day == self.today:
            return dateformat.format(local, self.time_format)
        shown = self.days.get(day)
        if shown is None:
            same_year = local.year == self.now.year
            fmt = self.month_day_format if same_year else self.short_format
            shown = self.days[day] = dateformat.format(local, fmt)
        return shown


@register.filter
def mail_date(value: datetime | None) -> str:
    """Show a message date the way a list does: time today, else the date."""
    return ListDates()(value)


@register.simple_tag
def message_row(row: Hashable, oob: bool = False) -> SafeString:
    """Print one line of the message list (templates/webmail/_row.html).

    The list is the page asked for most, and a row's HTML depends only on
    the row's values (a frozen MessageRow, its translated words included),
    so rows already printed are taken from a cache instead of rendered again.
    """
    return _row_html(row, bool(oob))


@register.simple_tag
def message_rows(rows: list[Hashable], oob: bool = False) -> SafeString:
    """Print every line of a message list (see message_row), in one tag."""
    flag = bool(oob)
    return mark_safe("".join(_row_html(row, flag) for row in rows))  # noqa: S308


@functools.lru_cache(maxsize=5_000)
def _row_html(row: Hashable, oob: bool) -> SafeString:
    html = get_template("webmail/_row.html").render({"m": row, "oob": oob})
    return mark_safe(html.strip())  # noqa: S308 - rendered with autoescaping


@register.filter
def mail_datetime(value: datetime | None) -> str:
    """Show a message's full date and time, in the user's time zone."""
    if value is None:
        return ""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return date_format(local, "DATETIME_FORMAT")


@register.filter
def indent(depth: int) -> str:
    """Return the CSS class that indents a folder at this depth (capped)."""
    return f"depth-{min(int(depth), 6)}"
