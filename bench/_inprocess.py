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
