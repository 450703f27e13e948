"""Time a retention rule's preview over a large folder in the cache.

Usage: python bench/retention.py [--count 100000] [--repeat 30]
       DATABASE_URL=postgres://... python bench/retention.py

Starts its own Redis (devtools) and fills a throwaway SQLite database (or
the database DATABASE_URL names, whose bench rows are removed afterwards)
with one user whose INBOX holds --count cached messages spread over five
years. Then it times, for rules that take all, most and none of them, the
figures the preview counts (webmail.shared.retention.figures) and the
whole preview page (a POST through Django's test client), and prints p50
and p95 in milliseconds.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._inprocess import bench_account, bench_folders, run_in_process, timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    options = parser.parse_args()

    run_in_process("retention", lambda _: run_bench(options.count, options.repeat))


def run_bench(count: int, repeat: int) -> None:
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from webmail.models import Message
    from webmail.shared.retention import figures

    name = f"bench{uuid.uuid4().hex[:8]}"
    account = bench_account(name, f"{name}@example.org")
    user = account.user
    try:
        inbox = bench_folders(account, count, ("Trash", "Archive"))
        now = timezone.now()
        span = 5 * 365 * 24 * 60  # minutes in five years
        started = time.perf_counter()
        batch: list[Message] = []
        for uid in range(1, count + 1):
            batch.append(
                Message(
                    folder=inbox,
                    uid=uid,
                    date=now - timedelta(minutes=span * (count - uid) // count + 1),
                    size=2_000 + (uid * 7919) % 200_000,
                    from_address=f"sender{uid % 500}@example.net",
                    subject=f"Message number {uid}",
                )
            )
            if len(batch) == 5000:
                Message.objects.bulk_create(batch)
                batch = []
        Message.objects.bulk_create(batch)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE webmail_message")
        print(
            f"{connection.vendor}: {count} messages cached in "
            f"{time.perf_counter() - started:.1f} s"
        )

        client = Client()
        client.force_login(user)
        url = f"/mail/{account.id}/retention/"
        for days, what in ((1, "all"), (365, "4 years of 5"), (3650, "none")):
            found = figures(inbox.id, days)

            def compute(days: int = days) -> object:
                return figures(inbox.id, days)

            p50, p95 = timed(compute, repeat)
            form = {"folder": str(inbox.id), "action": "delete", "days": str(days)}

            def page(form: dict[str, str] = form) -> None:
                response = client.post(url, form)
                assert b"This will move" in response.content, response.status_code

            page_p50, page_p95 = timed(page, repeat)
            print(
                f"  older than {days:>4} days ({what}: {found.messages} messages, "
                f"{found.bytes / 1e6:.0f} MB): figures p50 {p50:.1f} ms, "
                f"p95 {p95:.1f} ms; preview page p50 {page_p50:.1f} ms, "
                f"p95 {page_p95:.1f} ms"
            )
    finally:
        user.delete()


if __name__ == "__main__":
    main()
