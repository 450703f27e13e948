"""Times as whole microseconds: the keys of keyset paging, exact in any database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def microseconds(when: datetime | None) -> int:
    """Return a time as whole microseconds since 1970 (0 for None), exactly."""
    return (when - EPOCH) // timedelta(microseconds=1) if when else 0
