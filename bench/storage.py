"""Time the storage page server-side on a large mailbox in the cache.

Usage: python bench/storage.py [--count 100000] [--repeat 50]
       DATABASE_URL=postgres://... python bench/storage.py

Starts its own Redis (devtools) and fills a database with one user whose
--count cached messages are spread over twelve folders, as bench/ui.py
does: a throwaway SQLite file by default, or the (empty) database that
DATABASE_URL names, migrated first and emptied of the bench's user after.
Then it times, through Django's test client, the storage page (folder
sizes summed by the database, the largest messages, the largest with
attachments) and the list page beside it for comparison, and prints p50
and p95. No worker runs: nothing here asks the server.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._inprocess import bench_account, run_in_process, timed

# (name, special use, share of the messages)
FOLDERS = (
    ("INBOX", "", 0.55),
    ("Archive", "\\Archive", 0.2),
    ("Sent", "\\Sent", 0.08),
    ("Trash", "\\Trash", 0.04),
    ("Junk", "\\Junk", 0.02),
    ("Drafts", "\\Drafts", 0.01),
    ("Projects", "", 0.03),
    ("Projects/Alpha", "", 0.02),
    ("Projects/Beta", "", 0.02),
    ("Lists", "", 0.01),
    ("Lists/Python", "", 0.01),
    ("Receipts", "", 0.01),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=50)
    options = parser.parse_args()

    run_in_process(
        "storage",
        lambda database: run_bench(
            options.count, options.repeat, database.split(":", 1)[0]
        ),
    )


def run_bench(count: int, repeat: int, engine: str) -> None:
    # Django is set up here, after the environment above is in place.
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from webmail.models import AccountState, Folder, Message

    account = bench_account("storage-bench")
    user = account.user
    try:
        AccountState.objects.create(
            account=account, quota_used_kb=1_900_000, quota_limit_kb=2_097_152
        )
        started = time.perf_counter()
        inbox = fill(account, count, Folder, Message)
        if engine.startswith("postgres"):
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE webmail_message")
        fill_seconds = time.perf_counter() - started

        client = Client()
        client.force_login(user)

        def get(path: str) -> Callable[[], object]:
            def run() -> object:
                response = client.get(path)
                assert response.status_code == 200, (path, response.status_code)
                return response

            return run

        from webmail.mail import reading, storage
        from webmail.views.storage import storage_context

        folders = reading.folders(account)
        rows = [
            ("storage page", get(f"/mail/{account.id}/storage/")),
            ("  folder sizes (one query)", lambda: storage.folder_sizes(folders)),
            ("  largest messages", lambda: storage.largest_messages(folders)),
            (
                "  largest with attachments",
                lambda: storage.largest_messages(folders, attachments=True),
            ),
            ("  the page's context", lambda: storage_context(account.id, folders)),
            ("folder page, newest 50 (for scale)", get(f"/mail/{account.id}/{inbox}/")),
        ]
        print(
            f"{count} cached messages in {len(FOLDERS)} folders on {engine}"
            f" (filled in {fill_seconds:.1f} s)"
        )
        print(f"{'what':<36} {'p50 ms':>8} {'p95 ms':>8}")
        for label, run in rows:
            p50, p95 = timed(run, repeat)
            print(f"{label:<36} {p50:>8.1f} {p95:>8.1f}")
    finally:
        if not os.environ.get("STORAGE_BENCH_KEEP"):
            user.delete()


def fill(account: object, count: int, folder_model: type, message_model: type) -> int:
    """Create the folders and messages; return INBOX's id."""
    chance = random.Random(17)
    newest = datetime(2026, 11, 1, tzinfo=UTC)
    ids = {}
    for name, use, _ in FOLDERS:
        path = name.split("/")
        folder = folder_model.objects.create(
            account=account,
            name=name,
            display_name=path[-1],
            path=path,
            delimiter="/",
            special_use=use,
            uidvalidity=1,
            backfill_below_uid=1,
        )
        ids[name] = folder.id
    batch = []
    for name, _, share in FOLDERS:
        many = int(count * share)
        for uid in range(1, many + 1):
            attached = chance.random() < 0.12
            size = int(chance.lognormvariate(9.5, 1.2)) + 800
            if attached:
                size += int(chance.lognormvariate(12.5, 1.3))
            batch.append(
                message_model(
                    folder_id=ids[name],
                    uid=uid,
                    seen=True,
                    has_attachments=attached,
                    size=min(size, 2**31 - 1),
                    date=newest - timedelta(minutes=many - uid),
                    from_name=f"Sender {uid % 500}",
                    from_address=f"sender{uid % 500}@example.net",
                    subject=f"Message number {uid} about the quarterly plan",
                )
            )
            if len(batch) == 5000:
                message_model.objects.bulk_create(batch)
                batch = []
    message_model.objects.bulk_create(batch)
    folder_model.objects.filter(account=account).update(total=0)
    return ids["INBOX"]


if __name__ == "__main__":
    main()
