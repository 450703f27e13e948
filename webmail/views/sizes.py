"""Sizes in units a reader takes in at a glance, in the reader's language."""

from __future__ import annotations

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

STEP = 1024


def readable_size(size: int | None) -> str:
    """Return "11.1 MB", "200 MB", "512 bytes": one decimal below 100, none above.

    Binary steps, as mail servers count quotas (a 200 MB quota is 200 times 1024 KB).
    """
    value = float(size or 0)
    if value < STEP:
        count = int(value)
        return ngettext("%(size)s byte", "%(size)s bytes", count) % {"size": count}
    units = (_("%(size)s KB"), _("%(size)s MB"), _("%(size)s GB"), _("%(size)s TB"))
    step = 0
    value /= STEP
    while value >= STEP and step < len(units) - 1:
        value /= STEP
        step += 1
    unit = units[step]
    rounded = round(value, 1 if value < 100 else 0)
    places = 0 if rounded == int(rounded) else 1
    return unit % {"size": number_format(rounded, places)}
