"""Run the drills: a burst of user actions while a part of the system fails.

Usage: python bench/drills.py [--actions 200] [--seconds 9] [--messages 300]
            [--drills worker,redis,freeze,restart] [--kills 3]
            [--redis-down 8] [--freeze 20] [--timeout 180]
            [--database-url postgres://postgres@127.0.0.1:5432/postgres]
            [--dovecot reduced]

Starts its own Dovecot, Redis, a Celery worker and Celery beat (as
docker-compose.yml runs them, the worker restarted should it exit) in a
short temporary directory under /tmp, on a new SQLite file, or, with
--database-url, on a new PostgreSQL database that it creates on that
server and drops at the end.

For each drill a new user gets a mailbox of --messages messages in INBOX,
Archive and Projects, and its cache is loaded. Then --actions actions
(star, read, move, delete to Trash; tests/engine/drills.py) go through the
page side's verbs over --seconds seconds while:

- worker: the worker is killed with SIGKILL --kills times, evenly over the
  burst, and started again at once;
- redis: Redis is stopped a quarter into the burst, and started again
  --redis-down seconds later (empty: queued tasks are gone);
- freeze: every Dovecot process is stopped with SIGSTOP a quarter into the
  burst, and continued with SIGCONT --freeze seconds later;
- restart: Dovecot is stopped and started again halfway through.

Each drill then waits (at most --timeout seconds) for the outbox to empty
and the server to match what the user did, and a table prints, per drill:
the actions, the operations still held back when the fault ended, those
lost and doubled on the server, and the seconds from the end of the fault
(or of the burst, if later) until the server matched. --dovecot reduced
runs them on a Dovecot without CONDSTORE, MOVE or IDLE, where a move is a
COPY, a STORE and an EXPUNGE. Everything it starts it stops, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._support import PASSWORD, SHARDS, Stack
from devtools.celery_worker import REPO, CeleryWorker
from devtools.dovecot import make_traversable, start_dovecot
from devtools.redis_server import start_redis

DRILLS = ("worker", "redis", "freeze", "restart")
WORKER_START = 60.0


class DrillStack(Stack):
    """Dovecot, Redis, a Celery worker and beat; the verbs run in this process."""

    beat: subprocess.Popen[bytes] | None = None
    variant = "full"

    def start(self) -> None:
        self.dovecot = start_dovecot(
            self.root / "dc", variant=self.variant, quota_mb=100_000
        )
        self.redis = start_redis(self.root / "redis")
        self.env = self.environment(
            REDIS_URL=self.redis.url, IMAP_SHARDS=str(SHARDS), PYTHONUNBUFFERED="1"
        )
        os.environ.update(self.env)
        self.manage("migrate", "--noinput", "-v", "0")
        queues = ["default"] + [f"imap.{n}" for n in range(SHARDS)]
        self.worker = CeleryWorker(
            self.env, queues, self.logs / "worker.log", name="drills"
        )
        self.worker.start()
        with (self.logs / "beat.log").open("ab") as log:
            self.beat = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "webmail", "beat",
                 f"--schedule={self.root / 'celerybeat-schedule'}",
                 "--loglevel=WARNING"],
                cwd=REPO, env={**self.env, "WEBMAIL_PROCESS": "beat"},
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        import django

        django.setup()
        # The verbs' warnings while Redis is down (a push or an event not
        # sent; the outbox keeps the change) would break up the table.
        logging.disable(logging.WARNING)
        from webmail.celery import app

        try:
            app.send_task("webmail.ping", queue="default").get(timeout=WORKER_START)
        except Exception as exc:
            raise RuntimeError(f"The worker did not start; see {self.logs}") from exc

    def stop(self) -> None:
        if self.beat is not None and self.beat.poll() is None:
            self.beat.terminate()
            try:
                self.beat.wait(10)
            except subprocess.TimeoutExpired:
                self.beat.kill()
                self.beat.wait()
        super().stop()


@contextlib.contextmanager
def own_database(server_url: str | None, root: Path) -> Iterator[str]:
    """A new database: a SQLite file in root, or one made on a PostgreSQL server.

    server_url names a database to connect to (postgres://.../postgres); a
    new one beside it is created, and dropped again at the end.
    """
    if not server_url:
        yield f"sqlite:///{root / 'drills.sqlite3'}"
        return
    import psycopg
    from psycopg import sql

    name = f"webmail_drills_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    parts = urllib.parse.urlsplit(server_url)
    try:
        yield urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        with psycopg.connect(server_url, autocommit=True) as conn:
            drop = "DROP DATABASE IF EXISTS {} WITH (FORCE)"
            conn.execute(sql.SQL(drop).format(sql.Identifier(name)))


def sizes(messages: int) -> dict[str, int]:
    """Half the messages in INBOX, the rest in Archive and Projects."""
    inbox = messages // 2
    archive = (messages - inbox) * 3 // 5
    return {"INBOX": inbox, "Archive": archive, "Projects": messages - inbox - archive}


def run_one(stack: DrillStack, drill: str, options: argparse.Namespace) -> Any:
    from tests.engine import drills

    assert stack.dovecot is not None and stack.redis is not None
    assert stack.worker is not None
    rng = random.Random(f"{options.seed}-{drill}")
    login = drills.Login(stack.dovecot, f"{drill}@example.org", PASSWORD)
    stack.dovecot.add_user(login.username, login.password)
    started = time.perf_counter()
    model = drills.seed(login, sizes(options.messages), rng)
    account = drills.new_account(login)
    drills.load_cache(account)
    print(
        f"  {drill}: {len(model)} messages seeded and loaded in "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )
    seconds = options.seconds
    keeper = drills.Keeper(stack.worker)
    faults = {
        "worker": lambda: drills.worker_killed(keeper, options.kills, seconds),
        "redis": lambda: drills.redis_stopped(
            stack.redis, at=seconds / 4, down=options.redis_down
        ),
        "freeze": lambda: drills.dovecot_frozen(
            stack.dovecot, at=seconds / 4, frozen=options.freeze
        ),
        "restart": lambda: drills.dovecot_restarted(stack.dovecot, at=seconds / 2),
    }
    outcome = drills.run_drill(
        login,
        account,
        model,
        keeper,
        faults[drill](),
        actions=options.actions,
        seconds=seconds,
        timeout=options.timeout,
        rng=rng,
    )
    print(drills.table([outcome]).splitlines()[-1], flush=True)
    return outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=9.0, help="of the burst")
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--drills", default=",".join(DRILLS))
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--redis-down", type=float, default=8.0)
    parser.add_argument("--freeze", type=float, default=20.0)
    parser.add_argument(
        "--timeout", type=float, default=180.0, help="most seconds to wait per drill"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--dovecot",
        choices=("full", "reduced"),
        default="full",
        help="reduced: no CONDSTORE, MOVE, IDLE ... (moves are COPY + EXPUNGE)",
    )
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server's database to connect to; default: SQLite",
    )
    options = parser.parse_args()
    chosen = [d for d in options.drills.split(",") if d]
    unknown = sorted(set(chosen) - set(DRILLS))
    if unknown:
        parser.error(f"unknown drills {unknown}; pick from {', '.join(DRILLS)}")
    bounds = {
        "actions": (1, 5000),
        "seconds": (0.1, 600),
        "messages": (10, 10_000),
        "kills": (1, 20),
        "redis_down": (0.1, 300),
        "freeze": (0.1, 300),
        "timeout": (1, 1800),
    }
    for name, (low, high) in bounds.items():
        if not low <= getattr(options, name) <= high:
            parser.error(f"--{name.replace('_', '-')} must be {low} to {high}")

    root = Path(tempfile.mkdtemp(prefix="dr-", dir="/tmp"))
    make_traversable(root)
    outcomes: list[Any] = []
    finished = False
    database = "PostgreSQL" if options.database_url else "SQLite"
    if options.dovecot == "reduced":
        database += ", reduced Dovecot"
    try:
        with own_database(options.database_url, root) as url:
            stack = DrillStack(root, url)
            stack.variant = options.dovecot
            try:
                stack.start()
                print(f"Drills on {database}, logs in {stack.logs}", flush=True)
                for drill in chosen:
                    outcomes.append(run_one(stack, drill, options))
                finished = True
            finally:
                stack.stop()
    except KeyboardInterrupt:
        print("\nInterrupted: stopping.", flush=True)
    finally:
        if finished and all(o.clean for o in outcomes):
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"\nLogs kept in {root / 'logs'}", flush=True)
    if outcomes:
        from tests.engine import drills

        print(
            f"\n{database}: {options.messages} messages; {options.actions} "
            f"actions over {options.seconds:g} s per drill\n"
        )
        print(drills.table(outcomes))
    if not finished or any(not o.clean for o in outcomes):
        sys.exit(1)


if __name__ == "__main__":
    main()
