"""Time opening a message whose body is not cached yet, and its worker round trip.

Usage: python bench/open_uncached.py [--size 1000] [--runs 40] [--rounds 2]
       [--database-url postgres://...] [--web-workers 2]

Starts the same stack as bench/engine.py (Dovecot, Redis, a Celery worker
with the thread pool, uvicorn), makes a mailbox of --size messages, lets the
webmail sync it, then for each round measures:

- open unread: the reading pane of an unread message not in the cache, as
  bench/engine.py's "open uncached" (it also marks the message read), with
  all a reader waits for (bench.engine.open_reader: the body frame too);
- open read: the same for a read message, its cached body dropped first
  (no mark-read: the worker round trip and the view only);
- open cached: the same messages again, their bodies in the cache;
- mark read: what an unread open adds, changes.mark_seen called here;
- round trip: bodies.fetch_through_worker called from this process, the
  body dropped from the cache first: from one long-lived thread, as the
  page threads call it (webmail/serving.py), and from a new thread per
  call, as Django's ASGI handler runs a view.

For the opens it also prints the CPU time the worker and the web processes
spent per open (from /proc: less disturbed than wall-clock by other load on
the machine), and for unread opens how long until the mark was applied on
the server (the outbox has no pending operation left).

Everything it starts it stops, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._procs import children_of, cpu_seconds
from bench._support import PASSWORD, Client, Mailbox, Stack, Stat, millis, poll
from bench.engine import HTMX_READER, cold_first_page, open_reader, report
from devtools.dovecot import make_traversable


def message_uids(box: Mailbox, count: int, seen: bool) -> list[int]:
    """Messages below the first page, read or unread as asked."""
    from webmail.models import Message

    uids = list(
        Message.objects.filter(folder_id=box.folder_id, seen=seen)
        .order_by("-date", "-uid")
        .values_list("uid", flat=True)[60:]
    )
    return random.Random(count).sample(uids, min(count, len(uids)))


def pushed(box: Mailbox) -> bool:
    from webmail.models import OperationState, PendingOperation

    return not PendingOperation.objects.filter(
        account_id=box.account_id, state=OperationState.PENDING
    ).exists()


def read_on_server(box: Mailbox, uid: int) -> bool:
    """Whether the worker has marked the message read and pushed that.

    The cache's flag and the operation are written in one transaction, so
    no pending operation is not enough: the worker may not have written it
    yet when the reader has the body.
    """
    from webmail.models import Message

    seen = Message.objects.filter(folder_id=box.folder_id, uid=uid, seen=True)
    return seen.exists() and pushed(box)


def forget_body(box: Mailbox, uid: int) -> None:
    from django.core.cache import cache

    from webmail.models import Folder
    from webmail.shared import bodycache

    folder = Folder.objects.get(id=box.folder_id)
    cache.delete(bodycache.cache_key(box.account_id, folder, uid))


class CpuMeter:
    """CPU seconds of the stack's worker and of its web processes."""

    def __init__(self, stack: Stack) -> None:
        assert stack.worker is not None and stack.worker.process is not None
        assert stack.web is not None
        self.worker = stack.worker.process.pid
        self.web = [stack.web.pid, *children_of(stack.web.pid)]

    def read(self) -> tuple[float, float]:
        return cpu_seconds(self.worker), sum(cpu_seconds(p) for p in self.web)


@dataclass
class CpuPerOpen:
    """CPU milliseconds per open, one sample per round."""

    worker: list[float] = field(default_factory=list)
    web: list[float] = field(default_factory=list)


def measure_cpu(
    meter: CpuMeter, into: CpuPerOpen, count: int, run: Callable[[], None]
) -> None:
    worker, web = meter.read()
    run()
    worker_after, web_after = meter.read()
    if count:
        into.worker.append((worker_after - worker) * 1000 / count)
        into.web.append((web_after - web) * 1000 / count)


def open_pane(client: Client, box: Mailbox, uid: int, stat: Stat) -> None:
    started = time.perf_counter()
    answer = open_reader(client, box.message_path(uid))
    stat.add((time.perf_counter() - started) * 1000)
    if answer.status != 200 or 'class="notice error"' in answer.body:
        stat.failures += 1


def round_trip(box: Mailbox, uid: int, stat: Stat) -> None:
    """One fetch_through_worker call as the view makes it, the body dropped first."""
    from webmail.mail import bodies
    from webmail.models import Folder, Message

    # What the view has read by then.
    folder = Folder.objects.select_related("account").get(id=box.folder_id)
    message = Message.objects.get(folder=folder, uid=uid)
    facts = bodies.message_facts(folder.account.user_id, folder, message)
    forget_body(box, uid)
    started = time.perf_counter()
    body = bodies.fetch_through_worker(
        box.account_id, box.folder_id, uid, 20, facts=facts
    )
    stat.add((time.perf_counter() - started) * 1000)
    if "error" in body:
        stat.failures += 1


def in_new_thread(run: Callable[[], None]) -> None:
    def target() -> None:
        from django.db import connection

        run()
        connection.close()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()


def open_unread(
    client: Client, box: Mailbox, uids: list[int], stat: Stat, on_server: Stat
) -> None:
    for uid in uids:
        started = time.perf_counter()
        open_pane(client, box, uid, stat)
        # As a reader would, open the next one once this one is marked read
        # on the server (bench/engine.py waits for the flag there too).
        if poll(partial(read_on_server, box, uid), 10):
            on_server.add((time.perf_counter() - started) * 1000)
        else:
            on_server.failures += 1


def open_read(client: Client, box: Mailbox, uids: list[int], stat: Stat) -> None:
    for uid in uids:
        forget_body(box, uid)
        open_pane(client, box, uid, stat)


def open_cached(client: Client, box: Mailbox, uids: list[int], stat: Stat) -> None:
    for uid in uids:
        open_pane(client, box, uid, stat)


def bench_round(
    client: Client, box: Mailbox, runs: int, meter: CpuMeter, cpu: dict[str, CpuPerOpen]
) -> dict[str, Stat]:
    unread_uids = message_uids(box, runs, seen=False)
    read_uids = message_uids(box, runs, seen=True)
    unread, read, cached, on_server = Stat(), Stat(), Stat(), Stat()
    trip, trip_new_thread = Stat(), Stat()
    measure_cpu(
        meter, cpu["open unread"], len(unread_uids),
        partial(open_unread, client, box, unread_uids, unread, on_server),
    )  # fmt: skip
    measure_cpu(
        meter, cpu["open read"], len(read_uids),
        partial(open_read, client, box, read_uids, read),
    )  # fmt: skip
    measure_cpu(
        meter, cpu["open cached"], len(read_uids),
        partial(open_cached, client, box, read_uids, cached),
    )  # fmt: skip
    for uid in read_uids:
        round_trip(box, uid, trip)
    for uid in read_uids:
        in_new_thread(partial(round_trip, box, uid, trip_new_thread))
    # Last: each one has the worker store \Seen and sync what it hears back.
    mark = mark_read(box, runs)
    return {"open unread": unread, "read on server": on_server,
            "open read": read, "open cached": cached,
            "mark read": mark, "round trip": trip,
            "round trip, new thread": trip_new_thread}  # fmt: skip


def mark_read(box: Mailbox, runs: int) -> Stat:
    """Time changes.mark_seen of unread messages, as the view calls it."""
    from accounts.models import MailAccount
    from webmail.mail import changes
    from webmail.models import Folder

    stat = Stat()
    account = MailAccount.objects.get(id=box.account_id)
    folder = Folder.objects.get(id=box.folder_id)
    for uid in message_uids(box, runs, seen=False):
        stat.add(millis(partial(changes.mark_seen, account, folder, [uid])))
        poll(partial(pushed, box), 10)
    return stat


def mark_half_unread(box: Mailbox, stack: Stack) -> None:
    """Make every other message unread, the rest read, whatever mailgen made."""
    from webmail.models import Message

    uids = list(
        Message.objects.filter(folder_id=box.folder_id)
        .order_by("uid")
        .values_list("uid", flat=True)
    )
    phone = stack.imap(box.address)
    try:
        phone.select_folder("INBOX")
        # In pieces: Dovecot refuses a command line of 50,000 UIDs.
        for start in range(0, len(uids), 2000):
            piece = uids[start : start + 2000]
            phone.add_flags(piece[1::2], [b"\\Seen"])
            phone.remove_flags(piece[::2], [b"\\Seen"])
    finally:
        phone.logout()
    # The webmail hears of it as of any other client's change (a sync), so
    # that the cache has the flags' new MODSEQs and marking read does not
    # meet a conflict on every message, as it would after a direct update.
    from webmail import door

    unread = Message.objects.filter(folder_id=box.folder_id, uid__in=uids[::2])
    door.sync_folder(box.account_id, box.folder_id)
    if not poll(lambda: not unread.filter(seen=True).exists(), 60, interval=0.1):
        raise RuntimeError("The webmail did not sync the flags.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    options = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="ou-", dir="/tmp"))
    make_traversable(root)
    stack = Stack(root, options.database_url, options.web_workers)
    try:
        stack.start()
        box = Mailbox(stack, options.size)
        box.create()
        client = stack.client()
        client.sign_in(box.login, PASSWORD)
        if cold_first_page(client, box, timeout=120) is None:
            raise RuntimeError("The first page never listed the messages.")
        box.folder_id = box.inbox_id()
        if not poll(lambda: box.cached() >= box.expected, 300, interval=0.1):
            raise RuntimeError("The backfill did not finish.")
        time.sleep(1.0)
        mark_half_unread(box, stack)
        # Warm up: the worker's IMAP connection, both web processes.
        for uid in message_uids(box, 6, seen=True)[:6]:
            forget_body(box, uid)
            client.copy().get(box.message_path(uid), headers=HTMX_READER)
        meter = CpuMeter(stack)
        cpu = {
            "open unread": CpuPerOpen(),
            "open read": CpuPerOpen(),
            "open cached": CpuPerOpen(),
        }
        for n in range(options.rounds):
            print(f"\n== round {n + 1} ({options.runs} messages) ==", flush=True)
            stats = bench_round(client, box, options.runs, meter, cpu)
            for name, stat in stats.items():
                report(name, stat)
            for name, per_open in cpu.items():
                print(
                    f"  {name} CPU per open: worker {per_open.worker[-1]:.2f} ms, "
                    f"web {per_open.web[-1]:.2f} ms",
                    flush=True,
                )
        print("\n== CPU per open, median of the rounds ==")
        for name, per_open in cpu.items():
            print(
                f"  {name}: worker {statistics.median(per_open.worker):.2f} ms, "
                f"web {statistics.median(per_open.web):.2f} ms"
            )
        client.close()
    except KeyboardInterrupt:
        print("\nInterrupted: stopping.", flush=True)
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
