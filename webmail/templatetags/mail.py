"""Template filters for the mailbox pages: dates, sizes and addresses."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.formats import date_format, time_format

register = template.Library()


@register.filter
def mail_date(value: datetime | None) -> str:
    """Show a message date the way a list does: time today, else the date."""
    if value is None:
        return ""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    now = timezone.localtime()
    if local.date() == now.date():
        return time_format(local, "TIME_FORMAT")
    if local.year == now.year:
        return date_format(local, "MONTH_DAY_FORMAT")
    return date_format(local, "SHORT_DATE_FORMAT")


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
