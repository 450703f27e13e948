"""What the in-process benches share: their settings, a Redis, and a timer.

bench/ui.py, bench/storage.py and bench/retention.py run the views in this
process (Django's test client), with a Redis of their own and SQLite in a
work directory (or DATABASE_URL when it is set and kept is True).
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from devtools.redis_server import start_redis


def timed(run: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Return the median and 95th percentile of run() in milliseconds."""
    run()  # warm up: templates, connections
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def run_in_process(
    prefix: str, bench: Callable[[str], None], *, keep_database_url: bool = True
) -> None:
    """Set up the settings and a Redis, run bench(database URL), clean up."""
    workdir = Path(tempfile.mkdtemp(prefix=f"{prefix}-bench-", dir="/tmp"))
    redis = start_redis(workdir / "redis")
    given = os.environ.get("DATABASE_URL") if keep_database_url else None
    database = given or f"sqlite:///{workdir / 'bench.sqlite3'}"
    try:
        os.environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "webmail.settings",
                "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
                "CREDENTIALS_KEYS": "oyTMOES_hzCt5G021bSMxv4PgkRM4XOPfWs9jHVlKnM=",
                "WEBMAIL_HTTPS": "false",
                "DATABASE_URL": database,
                "REDIS_URL": redis.url,
                "LOG_LEVEL": "WARNING",
                "ALLOWED_HOSTS": "testserver",
            }
        )
        bench(database)
    finally:
        redis.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def bench_account(username: str, address: str = "bench@example.org") -> Any:
    """Migrate, then make a user (none of that name left) and its mail account.

    The account points at no real server; the in-process benches need only
    its cache. Returns the MailAccount (its user is account.user).
    """
    from django.core.management import call_command

    from accounts.models import MailAccount, User

    call_command("migrate", verbosity=0)
    User.objects.filter(username=username).delete()  # a kept database's last run
    user = User.objects.create_user(username, password="bench-password-1")  # noqa: S106
    account = MailAccount(
        user=user, email=address, imap_host="imap.example.org", imap_username=address
    )
    account.imap_password = "unused"  # noqa: S105
    account.save()
    return account


def bench_folders(account: Any, total: int, special: tuple[str, ...]) -> Any:
    """Make the account's INBOX (total messages, loaded) and special folders.

    special: names that are also their special use ("Trash" is \\Trash).
    Returns the INBOX Folder.
    """
    from webmail.models import Folder

    inbox = Folder.objects.create(
        account=account,
        name="INBOX",
        display_name="INBOX",
        path=["INBOX"],
        uidvalidity=1,
        backfill_below_uid=1,
        total=total,
    )
    for name in special:
        Folder.objects.create(
            account=account,
            name=name,
            display_name=name,
            path=[name],
            special_use=f"\\{name}",
        )
    return inbox


def fill_list(inbox: Any, count: int) -> None:
    """Cache count messages in the folder (UIDs 1..count, the newest last),
    as a sync would: some unread, starred or with attachments."""
    from webmail.models import Message

    newest = datetime(2026, 11, 1, tzinfo=UTC)
    batch: list[Message] = []
    for uid in range(1, count + 1):
        batch.append(
            Message(
                folder=inbox,
                uid=uid,
                seen=uid % 7 != 0,
                flagged=uid % 31 == 0,
                has_attachments=uid % 11 == 0,
                date=newest - timedelta(minutes=count - uid),
                from_name=f"Sender {uid % 500}",
                from_address=f"sender{uid % 500}@example.net",
                subject=f"Message number {uid} about the quarterly plan",
                preview="A short preview of the text, as the list shows it. " * 2,
            )
        )
        if len(batch) == 5000:
            Message.objects.bulk_create(batch)
            batch = []
    Message.objects.bulk_create(batch)
