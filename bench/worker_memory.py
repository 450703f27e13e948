"""What an idle, watched mail account costs the Celery worker, and where it goes.

Usage: python bench/worker_memory.py [--accounts 50] [--trace] [--keep-logs DIR]

Starts the engine benchmark's stack (bench/_support.py) with its Celery
worker run under a small probe, warms the worker up on one mailbox, makes
`accounts` empty mail accounts and has the worker watch them all
(bench/engine.py worker_memory()), then prints the worker's RSS, threads
and IMAP connections before and after, its resident memory split by kind
(thread stacks, malloc arenas, the rest), glibc's heap in use and free,
the database connections each thread holds, and which kinds of Python
objects grew. The per-account figure includes what the worker pays once
for watching at all (the push threads), so it falls as accounts grow; the
test Dovecot serves about 100 connections (its default process limit),
so keep `accounts` under 95. With --trace the probe also records Python
allocations (tracemalloc) from just before the watchers start and prints
the largest; tracing makes the RSS figures larger, so compare RSS between
runs without it.

The probe is this file run as `worker_memory.py --probe DIR -- CELERY ARGS`:
it starts the worker and answers requests written as files into DIR.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._procs import rss_kib
from bench._support import Mailbox, Stack, fmt, poll
from bench.engine import worker_memory
from devtools.celery_worker import CeleryWorker
from devtools.dovecot import make_traversable

TRACE_FRAMES = 8
WARM_UP_MESSAGES = 200
# Classes counted by name in the worker: what one idle account may own.
COUNTED = ("Watcher", "Watch", "ImapSession", "SSLSocket", "BufferedReader")
MALLINFO2 = (
    "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"
)


# The probe, inside the worker ----------------------------------------------------


def _counts() -> dict[str, Any]:
    counted = dict.fromkeys(COUNTED, 0)
    types: dict[str, int] = {}
    for item in gc.get_objects():
        kind = type(item)
        if kind.__name__ in counted:
            counted[kind.__name__] += 1
        name = f"{kind.__module__}.{kind.__qualname__}"
        types[name] = types.get(name, 0) + 1
    return {
        "counted": counted,
        "types": types,
        "database connections": _database_connections(),
        "malloc": _malloc_figures(),
    }


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in MALLINFO2.split()]


def _malloc_figures() -> dict[str, int]:
    """glibc's own count of heap bytes in use and free, over all arenas."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
    except (OSError, AttributeError):
        return {}
    info = libc.mallinfo2()
    return {
        "malloc in use KiB": (info.uordblks + info.hblkhd) // 1024,
        "malloc free KiB": info.fordblks // 1024,
    }


def _database_connections() -> dict[str, int]:
    """Open Django database connections, by the name of the thread that owns each."""
    from django.db.backends.base.base import BaseDatabaseWrapper

    names = {thread.ident: thread.name for thread in threading.enumerate()}
    found: dict[str, int] = {}
    for item in gc.get_objects():
        if isinstance(item, BaseDatabaseWrapper) and item.connection is not None:
            name = names.get(item._thread_ident, "(ended thread)")
            found[name] = found.get(name, 0) + 1
    return found


def _answer(directory: Path, name: str) -> None:
    reply: dict[str, Any] = {}
    if name == "start-trace":
        tracemalloc.start(TRACE_FRAMES)
    elif name == "trim":
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    elif name.startswith("snapshot-"):
        if tracemalloc.is_tracing():
            tracemalloc.take_snapshot().dump(str(directory / f"{name}.trace"))
        reply = _counts()
    (directory / f"{name}.done").write_text(json.dumps(reply))


def _serve(directory: Path) -> None:
    while True:
        for request in sorted(directory.glob("*.request")):
            request.unlink()
            _answer(directory, request.stem)
        time.sleep(0.1)


def run_probe(directory: Path, celery_args: list[str]) -> None:
    from celery.__main__ import main

    threading.Thread(target=_serve, args=(directory,), daemon=True).start()
    sys.argv = ["celery", *celery_args]
    main()


class ProbedWorker(CeleryWorker):
    """The stack's Celery worker, run under the probe."""

    def __init__(self, worker: CeleryWorker, directory: Path) -> None:
        super().__init__(worker.env, worker.queues, worker.log_path, name=worker.name)
        self.directory = directory

    def command(self) -> list[str]:
        celery = super().command()
        start = celery.index("celery")
        probe = [sys.executable, __file__, "--probe", str(self.directory), "--"]
        return [*probe, *celery[start + 1 :]]

    def ask(self, name: str, timeout: float = 60) -> dict[str, Any]:
        """Have the probe do `name`; return what it answered."""
        done = self.directory / f"{name}.done"
        done.unlink(missing_ok=True)
        (self.directory / f"{name}.request").write_text("")
        if not poll(done.exists, timeout, interval=0.1):
            raise RuntimeError(f"The worker probe did not answer {name}.")
        answer: dict[str, Any] = json.loads(done.read_text())
        return answer


# Reading the worker from outside ---------------------------------------------------


def memory_map(pid: int) -> dict[str, int]:
    """Resident KiB of the worker by kind of mapping.

    Thread stacks are the 8 MiB read-write mappings glibc makes for each
    thread (each above a guard page); malloc arenas of threads are the
    read-write start of a 64 MiB reservation. Everything else (the main
    heap, Python's arenas, libraries) is "other". The kernel may merge
    neighbouring mappings, so the split is an estimate; the total is exact.
    """
    rows: list[dict[str, Any]] = []
    with open(f"/proc/{pid}/smaps") as smaps:
        for line in smaps:
            fields = line.split()
            if "-" in fields[0] and len(fields) >= 5 and ":" in fields[3]:
                path = fields[5] if len(fields) > 5 else ""
                rows.append({"perms": fields[1], "path": path, "size": 0, "rss": 0})
            elif rows and fields[0] in ("Size:", "Rss:"):
                rows[-1][fields[0][:-1].lower()] = int(fields[1])
    found = {"thread stacks": 0, "malloc arenas": 0, "other": 0, "total": 0}
    guard = {"perms": "", "size": 0}
    for previous, row, following in zip(
        [guard, *rows[:-1]], rows, [*rows[1:], guard], strict=True
    ):
        found["total"] += row["rss"]
        writable = row["perms"] == "rw-p" and not row["path"]
        if writable and row["size"] in (8192, 8196) and previous["perms"] == "---p":
            found["thread stacks"] += row["rss"]
        elif (
            writable
            and following["perms"] == "---p"
            and row["size"] + following["size"] == 65536
        ):
            found["malloc arenas"] += row["rss"]
        else:
            found["other"] += row["rss"]
    return found


def threads_of(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


def wait_ready(worker: CeleryWorker, timeout: float = 60) -> None:
    def ready() -> bool:
        return " ready." in worker.log_tail(200)

    if not poll(ready, timeout, interval=0.2):
        raise RuntimeError("The probed worker did not start:\n" + worker.log_tail())


def print_trace(directory: Path, before: str, after: str, accounts: int) -> None:
    first = tracemalloc.Snapshot.load(str(directory / f"{before}.trace"))
    last = tracemalloc.Snapshot.load(str(directory / f"{after}.trace"))
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]
    first, last = first.filter_traces(ignore), last.filter_traces(ignore)
    stats = last.compare_to(first, "lineno")
    total = sum(stat.size_diff for stat in stats)
    print(
        f"\nPython allocations (tracemalloc): {total / 1024:.0f} KiB more, "
        f"{total / 1024 / accounts:.1f} KiB per account. Largest, by line:"
    )
    for stat in stats[:25]:
        frame = stat.traceback[0]
        where = frame.filename.replace(str(Path(sys.prefix)), "<venv>")
        print(
            f"  {stat.size_diff / 1024 / accounts:7.2f} KiB/account "
            f"{stat.count_diff:+6d} blocks  {where}:{frame.lineno}"
        )
    by_file = last.compare_to(first, "filename")
    print("By file:")
    for stat in by_file[:12]:
        where = stat.traceback[0].filename.replace(str(Path(sys.prefix)), "<venv>")
        print(f"  {stat.size_diff / 1024 / accounts:7.2f} KiB/account  {where}")


def warm_up(stack: Stack) -> None:
    """Have the worker sync and watch one mailbox first, as a used worker has.

    What every worker pays once (imports, the first TLS context, the first
    database queries, handler threads) is then not counted per account.
    """
    from webmail.mail import watching

    box = Mailbox(stack, WARM_UP_MESSAGES)
    box.create()
    watching.keep_watching(box.account_id, None)
    assert stack.dovecot is not None
    dovecot = stack.dovecot
    poll(lambda: box.first_rows() and dovecot.who(box.address), 60, interval=0.5)
    time.sleep(3.0)


def measure(accounts: int, trace: bool, keep_logs: Path | None) -> None:
    root = Path(tempfile.mkdtemp(prefix="wm-", dir="/tmp"))
    make_traversable(root)
    probe_dir = root / "probe"
    probe_dir.mkdir()
    stack = Stack(root, None, web_workers=1)
    try:
        stack.start()
        assert stack.worker is not None
        stack.worker.stop()
        worker = ProbedWorker(stack.worker, probe_dir)
        stack.worker = worker
        worker.start()
        wait_ready(worker)
        warm_up(stack)
        assert worker.process is not None
        pid = worker.process.pid
        if trace:
            worker.ask("start-trace")
        counts_before = worker.ask("snapshot-before")
        map_before, threads_before = memory_map(pid), threads_of(pid)
        started = time.monotonic()
        before, after, connected = worker_memory(stack, accounts)
        print(f"Watching took {time.monotonic() - started:.1f} s.")
        counts_after = worker.ask("snapshot-after")
        map_after, threads_after = memory_map(pid), threads_of(pid)
        report(accounts, before, after, connected, threads_before, threads_after)
        print("\nResident KiB by kind (estimate), before -> after, per account:")
        for kind in map_before:
            grown = map_after[kind] - map_before[kind]
            print(
                f"  {kind:14} {map_before[kind]:8d} -> {map_after[kind]:8d}  "
                f"{grown / accounts:7.1f}"
            )
        print_counts(counts_before, counts_after)
        worker.ask("trim")
        trimmed = rss_kib(pid)
        print(
            f"\nAfter malloc_trim(0) (free heap pages given back): "
            f"{fmt(trimmed and trimmed / 1024)} MiB, "
            f"{fmt(trimmed and before and (trimmed - before) / accounts)} KiB "
            "per account."
        )
        if trace:
            print_trace(probe_dir, "snapshot-before", "snapshot-after", accounts)
    finally:
        stack.stop()
        if keep_logs is not None:
            shutil.copytree(root / "logs", keep_logs, dirs_exist_ok=True)
        shutil.rmtree(root, ignore_errors=True)


def print_counts(before: dict[str, Any], after: dict[str, Any]) -> None:
    print("\nIn the worker, before -> after:")
    for name, count in after["counted"].items():
        print(f"  {name:16} {before['counted'][name]} -> {count}")
    for name, kib in after["malloc"].items():
        print(f"  {name:16} {before['malloc'].get(name)} -> {kib}")
    print("  database connections held, by thread:")
    print(f"    before: {before['database connections']}")
    print(f"    after:  {after['database connections']}")
    grown = sorted(
        (count - before["types"].get(name, 0), name)
        for name, count in after["types"].items()
    )
    print("Kinds of (garbage-collected) Python objects that grew most:")
    for count, name in reversed(grown[-20:]):
        print(f"  {count:+7d}  {name}")


def report(
    accounts: int,
    before: int | None,
    after: int | None,
    connected: int,
    threads_before: int,
    threads_after: int,
) -> None:
    per = (after - before) / accounts if before and after else None
    print(
        f"\nWorker RSS: {fmt(before and before / 1024)} MiB before, "
        f"{fmt(after and after / 1024)} MiB with {accounts} idle accounts watched: "
        f"{fmt(per)} KiB per account. IMAP connections seen: {connected}. "
        f"Threads: {threads_before} -> {threads_after}."
    )


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--probe":
        split = sys.argv.index("--")
        run_probe(Path(sys.argv[2]), sys.argv[split + 1 :])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--trace", action="store_true")
    parser.add_argument("--keep-logs", type=Path, help="copy the logs here")
    options = parser.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    measure(options.accounts, options.trace, options.keep_logs)


if __name__ == "__main__":
    main()
