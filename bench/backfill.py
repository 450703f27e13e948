"""Time loading a never-synced folder into the cache, and each phase of it.

Usage: python bench/backfill.py [--count 10000] [--rounds 2] [--profile]
                                [--database-url postgres://.../empty_db]

Starts Dovecot (devtools) and migrates a fresh database (SQLite under
/tmp, or the empty one --database-url names), without Celery or the web
server. Each round makes two new users holding the same generated mailbox
(bench/_support's Mailbox), so that Dovecot has never answered for their
messages, as on a first sync:

- the first is loaded the way the workers load it (sync.sync_folder, then
  backfill.backfill_folder until the folder is complete) in this process; the
  rate printed is messages per second of that, and beside it this
  process's CPU time, which other load on the machine disturbs less;
- the second is loaded in batches of the same size, timing the phases one
  after the other: the server's answer to the summary FETCH read off the
  wire, parsing it into MessageSummary, and writing the rows.

--profile prints where the first user's load spends its time (cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from bench._support import Mailbox, Stack
from devtools.dovecot import make_traversable, start_dovecot


class DatabaseStack(Stack):
    """Only Dovecot and the database: the load runs in this process."""

    def start(self) -> None:
        self.dovecot = start_dovecot(self.root / "dc", quota_mb=100_000)
        self.env = self.environment()
        os.environ.update(self.env)
        self.manage("migrate", "--noinput", "-v", "0")
        import django

        django.setup()


def fresh_mailbox(stack: Stack, size: int, name: str) -> Mailbox:
    """A new user with the generated mailbox; its folder list is in the cache."""
    from webmail.engine import folderlist

    box = Mailbox(stack, size)
    box.login = name
    box.address = f"{name}@example.org"
    box.create()
    folderlist.sync_folder_list(box.account_id, counts=False)
    box.folder_id = box.inbox_id()
    return box


def load_as_workers_do(box: Mailbox) -> tuple[float, float, int]:
    """Load the folder as the sync and backfill tasks do.

    Returns the seconds it took, the CPU seconds of this process in them
    (less disturbed by other load on the machine), and the tasks run.
    """
    from webmail.engine import backfill, sync

    started, cpu = time.perf_counter(), time.process_time()
    result = sync.sync_folder(box.account_id, box.folder_id)
    tasks = 1
    while result is not None and result.more:
        result = backfill.backfill_folder(box.account_id, box.folder_id)
        tasks += 1
    return time.perf_counter() - started, time.process_time() - cpu, tasks


def load_in_phases(box: Mailbox) -> dict[str, float]:
    """Seconds spent per phase loading the folder batch by batch, newest first."""
    from django.db import transaction

    from webmail.engine import rows, sync
    from webmail.engine.connections import account_session
    from webmail.imap import parse
    from webmail.imap.messages import SUMMARY_ITEMS
    from webmail.imap.wire import Raw
    from webmail.models import Folder

    phases = dict.fromkeys(("wire", "parse", "insert"), 0.0)
    folder = Folder.objects.get(id=box.folder_id)
    with account_session(box.account_id) as session:
        session.select("INBOX")
        uids = list(session.esearch("ALL").uids)
        items = SUMMARY_ITEMS + (b" MODSEQ" if session.condstore else b"")
        size = sync.batch_size()
        for end in range(len(uids), 0, -size):
            batch = uids[max(0, end - size) : end]
            started = time.perf_counter()
            response = session._run(
                Raw(b"UID FETCH"),
                Raw(parse.format_uid_set(batch)),
                Raw(b"(" + items + b")"),
            )
            fetched = time.perf_counter()
            summaries = session.summaries_from(response)
            parsed = time.perf_counter()
            with transaction.atomic():
                rows.insert_summaries(folder, summaries, {}, set())
            inserted = time.perf_counter()
            phases["wire"] += fetched - started
            phases["parse"] += parsed - fetched
            phases["insert"] += inserted - parsed
    return phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    options = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="bf-", dir="/tmp"))
    make_traversable(root)
    stack = DatabaseStack(root, options.database_url)
    rates: list[float] = []
    cpu_rates: list[float] = []
    phase_rates: dict[str, list[float]] = {}
    try:
        stack.start()
        for round_number in range(1, options.rounds + 1):
            print(f"== round {round_number} ==", flush=True)
            box = fresh_mailbox(stack, options.count, f"whole{round_number}")
            profile = cProfile.Profile() if options.profile else None
            if profile is not None:
                profile.enable()
            seconds, cpu, tasks = load_as_workers_do(box)
            if profile is not None:
                profile.disable()
            loaded = box.cached()
            rates.append(loaded / seconds)
            cpu_rates.append(loaded / cpu)
            print(
                f"  sync + backfill: {loaded} messages in {seconds:.2f} s, "
                f"{loaded / seconds:,.0f} msg/s ({tasks} tasks); this process's "
                f"CPU {cpu:.2f} s, {cpu * 1e3 / loaded:.3f} ms/msg",
                flush=True,
            )
            if profile is not None:
                stats = pstats.Stats(profile)
                stats.sort_stats("cumulative").print_stats(35)
                stats.sort_stats("tottime").print_stats(25)

            box = fresh_mailbox(stack, options.count, f"phases{round_number}")
            phases = load_in_phases(box)
            loaded = box.cached()
            for name, spent in phases.items():
                phase_rates.setdefault(name, []).append(loaded / spent)
                print(
                    f"  {name:<7} {spent:6.2f} s  {loaded / spent:>8,.0f} msg/s  "
                    f"{spent * 1e3 / loaded:.3f} ms/msg",
                    flush=True,
                )
    except KeyboardInterrupt:
        print("\nInterrupted: stopping.", flush=True)
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)
    if rates:
        print(f"\nsync + backfill, {options.count} messages (msg/s):")
        print(f"  {' '.join(f'{r:,.0f}' for r in rates)}  median {median(rates)}")
        print(f"  CPU of this process alone would allow {median(cpu_rates)} msg/s")
        for name, values in phase_rates.items():
            print(f"  phase {name:<7} {median(values)} msg/s alone")


def median(values: list[Any]) -> str:
    return f"{statistics.median(values):,.0f}"


if __name__ == "__main__":
    main()
