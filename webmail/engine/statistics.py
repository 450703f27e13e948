"""Keeping PostgreSQL's planner statistics of the message cache up to date.

A list page is one indexed query, but only if the planner knows the table
is large. Before its first ANALYZE, PostgreSQL takes the message table for
a few pages long: after a 100,000-message backfill into a new database it
read the whole folder and sorted it for every list page (66 ms against
0.07 ms through the index). Autovacuum analyzes the table in the end, but
the minutes after a large backfill are exactly when a new user is looking,
so the backfill analyzes the table itself once enough of it is new.
"""

from __future__ import annotations

from django.db import connection, transaction

from webmail.models import Message

# Analyze once the table has grown by this share since it was last analyzed
# (or vacuumed) and by at least this many pages of 8 kB (about 20,000 rows).
MIN_GROWTH = 0.2
MIN_NEW_PAGES = 500

# One worker analyzes at a time; the others go on (ANALYZE waits for a
# running one instead, holding a database connection).
_LOCK_KEY = 0x5745424D  # "WEBM"


def analyze_if_stale() -> bool:
    """ANALYZE the message table if it was never analyzed or has grown since.

    Returns whether it ran. The table's size is read from its pages on disk,
    which are current, where the activity counters lag by up to a second.
    Only on PostgreSQL: SQLite plans these queries well without statistics.
    """
    if connection.vendor != "postgresql":
        return False
    table = Message._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples, relpages,"
            " pg_relation_size(oid) / current_setting('block_size')::int"
            " FROM pg_class WHERE oid = %s::regclass",
            [table],
        )
        tuples, pages_then, pages_now = cursor.fetchone()
        never = tuples < 0
        grown = pages_now - pages_then
        if not never and (grown < MIN_NEW_PAGES or grown < MIN_GROWTH * pages_then):
            return False
        if never and pages_now == 0:
            return False
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_LOCK_KEY])
        if not cursor.fetchone()[0]:
            return False
        cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
    return True
