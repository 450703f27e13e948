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
