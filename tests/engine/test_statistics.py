"""A large folder's list page uses its index on PostgreSQL straight after the backfill.

Before PostgreSQL's first ANALYZE of the message table, its planner takes
the table for a few pages: the list page then read and sorted the whole
folder (66 ms at 100,000 messages instead of 0.07 ms). Autovacuum is turned
off for the message table here, as it would not yet have run in the minutes
after a real backfill.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import override_settings

from tests.engine.conftest import account_for, fill
from webmail.engine import backfill, folderlist, rows, statistics, sync
from webmail.models import Folder, Message

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="PostgreSQL's planner only"
    ),
]


@pytest.fixture
def no_statistics() -> Iterator[None]:
    """The message table as a new database has it: empty and never analyzed."""
    table = connection.ops.quote_name(Message._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
        # Resets the table's statistics, as in a new database.
        cursor.execute(f"TRUNCATE {table} CASCADE")
    yield
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} RESET (autovacuum_enabled)")


def list_page_plan(folder: Folder) -> str:
    """The plan of the list page's query (the newest page of the folder)."""
    first_page = Message.objects.filter(folder_id=folder.id).order_by("-date", "-uid")
    return first_page[:51].explain()


def planned_rows() -> float:
    """How many rows the planner's statistics say the message table holds."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE oid = %s::regclass",
            [Message._meta.db_table],
        )
        return cursor.fetchone()[0]


def _rows(count: int, start: int) -> list[dict[str, object]]:
    day = datetime(2020, 1, 1, tzinfo=UTC)
    return [
        {"uid": uid, "date": day + timedelta(minutes=uid), "subject": f"Note {uid}"}
        for uid in range(start, start + count)
    ]


def test_the_list_page_uses_the_index_after_a_real_backfill(
    no_statistics, imap_user, other_device
):
    phone = other_device(imap_user)
    fill(phone, "INBOX", 120)
    account = account_for(imap_user)
    folderlist.sync_folder_list(account.id)
    inbox = Folder.objects.get(account=account, name="INBOX")

    with override_settings(IMAP_SYNC_BATCH=40):
        result = sync.sync_folder(account.id, inbox.id)
        while result is not None and result.more:
            result = backfill.backfill_folder(account.id, inbox.id)

    assert Message.objects.filter(folder=inbox).count() == 120
    # The planner has statistics (-1: never analyzed); the first backfill
    # batch was the table's first, so it analyzed then.
    assert planned_rows() >= 80
    assert "message_list" in list_page_plan(inbox)


@pytest.mark.slow
def test_the_list_page_uses_the_index_at_100k_messages(no_statistics, imap_user):
    account = account_for(imap_user)
    folder = Folder.objects.create(account=account, name="Big", display_name="Big")

    # What the backfill stores, batch by batch, and what it does after each.
    analyzed = 0
    for start in range(1, 100_001, 2_000):
        rows.insert_rows(folder.id, _rows(2_000, start))
        analyzed += statistics.analyze_if_stale()

    plan = list_page_plan(folder)
    assert "message_list" in plan
    assert "Sort" not in plan
    assert planned_rows() >= 80_000
    # Analyzed as the table grew, not after every batch.
    assert 2 <= analyzed <= 12
