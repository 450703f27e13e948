"""Benchmark the IMAP engine end to end and print a table beside Roundcube's.

Usage: python bench/engine.py [--sizes 1000,10000,100000] [--runs 30]

Starts real components in a short temporary directory under /tmp: Dovecot
(devtools), Redis (devtools), a Celery worker (thread pool) and uvicorn
serving the webmail. For each size it makes a mailbox of that many messages
(webmail.mailgen), a webmail user with a mail account on it, signs in over
HTTP and measures what a user waits for: the first page of a never-synced
INBOX, the backfill, the list page, opening a message, starring and reading
it (HTTP answer and time until the flag is on the server), and how soon a
change made by another IMAP client reaches the event stream. The same IMAP
work done directly with imapclient on one warm connection is the floor.
Everything it starts it stops, also on Ctrl-C.

Before the first size, a small mailbox of another user is loaded, listed,
opened and starred, so that the first size's figures are not its processes'
first-use costs (imports, template compiles, first connections): a server
in use has paid those long before a new user signs in. --no-warm-up leaves
them in.
"""

from __future__ import annotations

import argparse
import html
import os
import random
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from queue import Empty, Queue
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from imapclient import IMAPClient

from bench._procs import rss_kib
from bench._support import (
    PASSWORD,
    Client,
    Mailbox,
    Response,
    Stack,
    Stat,
    fmt,
    millis,
    path_of,
    poll,
)
from devtools.dovecot import make_traversable

LIST_REQUESTS = 200
SSE_SAMPLES = 20
CONCURRENT_CLIENTS = 8
CONCURRENT_SECONDS = 5.0
ROW = '<li id="m'
HTMX_READER = {"HX-Request": "true", "HX-Target": "reader"}
HTMX_ROW = {"HX-Request": "true"}
# What the reading pane asks for next: the rest of a body still on its way,
# and a body frame with a document of its own (not one carried in srcdoc).
PANE_WAIT = re.compile(r'hx-get="([^"]+/wait/[^"]+)" hx-trigger="load"')
BODY_FRAME = re.compile(r'<iframe class="body" src="([^"]+)"')

# Roundcube 1.6.5 on this kind of machine, at 1k / 10k / 100k messages.
ROUNDCUBE = {
    "list": {1000: 18, 10000: 27, 100000: 161},
    "open": {1000: 19, 10000: 33, 100000: 281},
    "mark": {1000: 17, 10000: 29, 100000: 263},
    "rps": {1000: 94, 10000: 53, 100000: 8},
}


# Measurements ----------------------------------------------------------------


def cold_first_page(client: Client, box: Mailbox, timeout: float) -> float | None:
    """Milliseconds from the first request until the INBOX page lists messages.

    After the first request the cache is polled, not the page: each request
    of the waiting page asks the worker to sync again, and a tight page poll
    would flood it with syncs that no browser (it refreshes every 2 s) sends.
    """
    started = time.perf_counter()
    deadline = time.monotonic() + timeout
    answer = client.get(f"/mail/{box.account_id}/")
    while time.monotonic() < deadline:
        if answer.status == 302:
            answer = client.get(path_of(answer.location))
            continue
        if answer.status == 200 and ROW in answer.body:
            return (time.perf_counter() - started) * 1000
        if not poll(lambda: box.inbox_id() and box.first_rows(), 1.0, 0.01):
            continue
        box.folder_id = box.inbox_id()
        answer = client.get(box.folder_path)
    return None


def backfill(box: Mailbox, started: float, timeout: float) -> float | None:
    """Seconds from the first request until the cache holds every message."""
    if not poll(lambda: box.cached() >= box.expected, timeout, interval=0.05):
        return None
    return time.perf_counter() - started


def list_latency(client: Client, box: Mailbox, count: int) -> Stat:
    stat = Stat()
    client.get(box.folder_path)  # warm up
    for _ in range(count):
        stat.add(millis(lambda: check(client.get(box.folder_path).status == 200)))
    return stat


def check(ok: bool) -> None:
    if not ok:
        raise RuntimeError("A request failed.")


def pick_uids(box: Mailbox, count: int, seen: bool | None) -> list[int]:
    """Messages well below the first page, never opened: not in any cache."""
    from webmail.models import Message

    rows = Message.objects.filter(folder_id=box.folder_id)
    if seen is not None:
        rows = rows.filter(seen=seen)
    uids = list(rows.order_by("-date", "-uid").values_list("uid", flat=True))
    # Far below the first page, where nothing may have been fetched ahead of
    # time; a small folder has too few there, so take from below the first page.
    pool = uids[600:] if len(uids) - 600 >= count else uids[60:] or uids
    return random.Random(box.size).sample(pool, min(count, len(pool)))


def server_flags(phone: IMAPClient, uid: int) -> set[bytes]:
    answer = phone.fetch([uid], ["FLAGS"])
    return set(answer.get(uid, {}).get(b"FLAGS", ()))


def has_flag(phone: IMAPClient, uid: int, flag: bytes) -> bool:
    return flag in server_flags(phone, uid)


def open_reader(client: Client, path: str) -> Response:
    """Open a message as the reading pane does, with all a reader waits for.

    The pane, its wait for a body still on its way, and the body frame's
    document when the frame loads one of its own. Answers the first failed
    response, or the last.
    """
    answer = client.get(path, headers=HTMX_READER)
    wait = PANE_WAIT.search(answer.body)
    if answer.status == 200 and wait:
        answer = client.get(html.unescape(wait[1]), headers=HTMX_READER)
    frame = BODY_FRAME.search(answer.body)
    if answer.status == 200 and frame:
        body = client.get(html.unescape(frame[1]))
        if body.status != 200:
            return body
    return answer


def open_messages(
    client: Client, phone: IMAPClient, box: Mailbox, runs: int
) -> tuple[Stat, Stat, Stat]:
    """Open unread, never-opened messages twice; time \\Seen reaching the server."""
    uncached, cached, seen_on_server = Stat(), Stat(), Stat()
    uids = pick_uids(box, runs, seen=False)
    for uid in uids:
        path = box.message_path(uid)
        started = time.perf_counter()
        answer = open_reader(client, path)
        uncached.add((time.perf_counter() - started) * 1000)
        if answer.status != 200:
            uncached.failures += 1
        if poll(partial(has_flag, phone, uid, b"\\Seen"), 10):
            seen_on_server.add((time.perf_counter() - started) * 1000)
        else:
            seen_on_server.failures += 1
    for uid in uids:
        cached.add(millis(partial(open_reader, client, box.message_path(uid))))
    return uncached, cached, seen_on_server


def star_messages(
    client: Client, phone: IMAPClient, box: Mailbox, runs: int
) -> tuple[Stat, Stat]:
    """POST the star action (a flag change, as marking read is) and watch the server."""
    answered, on_server = Stat(), Stat()
    from webmail.models import Message

    uids = [
        uid
        for uid in pick_uids(box, runs * 3, seen=None)
        if not Message.objects.filter(folder_id=box.folder_id, uid=uid, flagged=True)
    ][:runs]
    client.get(box.folder_path)  # the csrftoken cookie
    for uid in uids:
        started = time.perf_counter()
        answer = client.post(
            box.message_path(uid) + "flag", {"flagged": "1"}, headers=HTMX_ROW
        )
        answered.add((time.perf_counter() - started) * 1000)
        if answer.status != 200:
            answered.failures += 1
        if poll(partial(has_flag, phone, uid, b"\\Flagged"), 10):
            on_server.add((time.perf_counter() - started) * 1000)
        else:
            on_server.failures += 1
    return answered, on_server


@contextmanager
def event_stream(client: Client, box: Mailbox) -> Iterator[Queue[str]]:
    """Read the SSE endpoint line by line in a thread."""
    import http.client

    conn = http.client.HTTPConnection(client.host, client.port, timeout=120)
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    conn.request(
        "GET",
        f"/events/?account={box.account_id}&folder={box.folder_id}",
        headers={"Cookie": cookie, "Accept": "text/event-stream"},
    )
    answer = conn.getresponse()
    if answer.status != 200:
        raise RuntimeError(f"The event stream answered {answer.status}.")
    lines: Queue[str] = Queue()

    def read() -> None:
        try:
            while True:
                line = answer.fp.readline()
                if not line:
                    return
                lines.put(line.decode(errors="replace").rstrip("\n"))
        except (OSError, ValueError):
            return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield lines
    finally:
        # Closing the socket ends the reader thread's readline.
        if conn.sock is not None:
            conn.sock.shutdown(2)
        conn.close()


def change_to_event(client: Client, phone: IMAPClient, box: Mailbox) -> Stat:
    """Time from \\Flagged set by another client until its SSE event line."""
    stat = Stat()
    from webmail.models import Message

    uids = list(
        Message.objects.filter(folder_id=box.folder_id, flagged=False)
        .order_by("-date", "-uid")
        .values_list("uid", flat=True)[: SSE_SAMPLES * 2]
    )[:SSE_SAMPLES]
    with event_stream(client, box) as lines:
        # Let the worker open its IDLE connection on the folder.
        time.sleep(2.0)
        for uid in uids:
            while True:
                try:
                    lines.get_nowait()
                except Empty:
                    break
            started = time.perf_counter()
            phone.add_flags([uid], [b"\\Flagged"])
            deadline = time.monotonic() + 10
            got = False
            while time.monotonic() < deadline and not got:
                try:
                    line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
                except Empty:
                    break
                if line.startswith("data:") and '"flags"' in line and str(uid) in line:
                    got = True
            if got:
                stat.add((time.perf_counter() - started) * 1000)
            else:
                stat.failures += 1
            time.sleep(0.2)
    return stat


def concurrent_list(client: Client, box: Mailbox, seconds: float) -> float:
    """Requests per second for the list page with several clients at once."""
    done = [0] * CONCURRENT_CLIENTS
    failed = [0] * CONCURRENT_CLIENTS
    stop = threading.Event()

    def run(n: int) -> None:
        mine = client.copy()
        mine.get(box.folder_path)
        while not stop.is_set():
            if mine.get(box.folder_path).status == 200:
                done[n] += 1
            else:
                failed[n] += 1
        mine.close()

    threads = [
        threading.Thread(target=run, args=(n,), daemon=True)
        for n in range(CONCURRENT_CLIENTS)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    before, started = sum(done), time.perf_counter()
    time.sleep(seconds)
    total, elapsed = sum(done) - before, time.perf_counter() - started
    stop.set()
    for thread in threads:
        thread.join()
    if sum(failed):
        print(f"  ({sum(failed)} failed list requests under load)", flush=True)
    return total / elapsed


def floor(phone: IMAPClient, box: Mailbox, runs: int) -> dict[str, Stat]:
    """The same IMAP work on one warm connection, without the webmail."""
    phone.select_folder("INBOX")
    listing, opening, storing = Stat(), Stat(), Stat()

    def list_once() -> None:
        uids = phone.search(["ALL"])
        phone.fetch(uids[-50:], ["ENVELOPE", "FLAGS", "RFC822.SIZE", "INTERNALDATE"])

    for _ in range(LIST_REQUESTS):
        listing.add(millis(list_once))
    uids = pick_uids(box, runs * 2, seen=None)
    for uid in uids[:runs]:
        opening.add(millis(partial(phone.fetch, [uid], ["BODY.PEEK[]"])))
    for uid in uids[runs:]:
        storing.add(millis(partial(phone.add_flags, [uid], [b"\\Seen"])))
    # What each worker task pays before its command: opening the folder again.
    examine, select = Stat(), Stat()
    for _ in range(runs):
        examine.add(millis(lambda: phone.select_folder("INBOX", readonly=True)))
        select.add(millis(lambda: phone.select_folder("INBOX")))
    return {
        "list": listing,
        "open": opening,
        "mark": storing,
        "examine": examine,
        "select": select,
    }


# Worker memory ---------------------------------------------------------------


def worker_memory(stack: Stack, accounts: int) -> tuple[int | None, int | None, int]:
    """RSS of the worker before and after it watches `accounts` idle accounts."""
    from accounts.models import MailAccount, Security, User
    from webmail.mail import watching

    assert stack.worker is not None and stack.worker.process is not None
    assert stack.dovecot is not None
    dovecot = stack.dovecot
    pid = stack.worker.process.pid
    user = User.objects.create_user(username="idle-owner", password=PASSWORD)
    rows = []
    for n in range(accounts):
        address = f"idle{n}@example.org"
        dovecot.add_user(address, PASSWORD)
        row = MailAccount(
            user=user,
            email=address,
            imap_host=dovecot.host,
            imap_port=dovecot.imaps_port,
            imap_security=Security.SSL,
            imap_username=address,
        )
        row.imap_password = PASSWORD
        row.save()
        rows.append(row)
    time.sleep(1.0)
    before = rss_kib(pid)
    for row in rows:
        watching.keep_watching(row.id, None)

    def connected() -> int:
        return sum(dovecot.who(f"idle{n}@example.org") for n in range(accounts))

    poll(lambda: connected() >= accounts, 60, interval=1.0)
    time.sleep(2.0)
    return before, rss_kib(pid), connected()


# Running and printing ----------------------------------------------------------


WARM_UP_SIZE = 200


def warm_up(stack: Stack) -> None:
    """Take every path the figures time once, for another user's mailbox."""
    started = time.perf_counter()
    box = Mailbox(stack, WARM_UP_SIZE)
    box.create()
    client = stack.client()
    try:
        client.sign_in(box.login, PASSWORD)
        check(cold_first_page(client, box, timeout=120) is not None)
        box.folder_id = box.inbox_id()
        check(backfill(box, started, timeout=120) is not None)
        # A few connections, so that both web processes see each path.
        uids = pick_uids(box, 12, seen=None)
        for first in range(0, len(uids), 3):
            other = client.copy()
            other.get(box.folder_path)
            for uid in uids[first : first + 3]:
                other.get(box.message_path(uid), headers=HTMX_READER)
                other.post(
                    box.message_path(uid) + "flag", {"flagged": "1"}, headers=HTMX_ROW
                )
            other.close()
    finally:
        client.close()
    print(f"  warm-up: {time.perf_counter() - started:.1f} s", flush=True)


def bench_size(stack: Stack, size: int, runs: int) -> dict[str, Any]:
    print(f"\n== {size} messages ==", flush=True)
    box = Mailbox(stack, size)
    box.create()
    client = stack.client()
    client.sign_in(box.login, PASSWORD)
    result: dict[str, Any] = {}

    started = time.perf_counter()
    result["cold"] = cold_first_page(client, box, timeout=120)
    box.folder_id = box.inbox_id()
    print(f"  cold first page: {fmt(result['cold'])} ms", flush=True)
    seconds = backfill(box, started, timeout=max(120, size / 200))
    result["backfill_s"] = seconds
    result["backfill_rate"] = box.expected / seconds if seconds else None
    print(
        f"  backfill: {fmt(seconds, 2)} s, {fmt(result['backfill_rate'], 0)} msg/s "
        f"({box.cached()} of {box.expected} cached)",
        flush=True,
    )
    time.sleep(1.0)  # let the last backfill events settle

    result["list"] = list_latency(client, box, LIST_REQUESTS)
    report("list page", result["list"])
    phone = stack.imap(box.address)
    try:
        phone.select_folder("INBOX")
        uncached, cached, seen = open_messages(client, phone, box, runs)
        result.update(open_uncached=uncached, open_cached=cached, seen_server=seen)
        report("open uncached", uncached)
        report("open cached", cached)
        report("read -> \\Seen on server", seen)
        answered, flagged = star_messages(client, phone, box, runs)
        result.update(star=answered, star_server=flagged)
        report("star answered", answered)
        report("star -> \\Flagged on server", flagged)
        result["rps"] = concurrent_list(client, box, CONCURRENT_SECONDS)
        print(f"  {CONCURRENT_CLIENTS} clients: {result['rps']:.0f} req/s", flush=True)
        result["event"] = change_to_event(client, phone, box)
        report("external change -> event", result["event"])
        result["floor"] = floor(phone, box, runs)
        for name, stat in result["floor"].items():
            report(f"floor {name}", stat)
    finally:
        phone.logout()
        client.close()
    return result


def report(name: str, stat: Stat) -> None:
    extra = f" ({stat.failures} failed)" if stat.failures else ""
    print(
        f"  {name}: p50 {fmt(stat.p50)} ms, p95 {fmt(stat.p95)} ms, "
        f"n={len(stat.samples)}{extra}",
        flush=True,
    )


def print_table(results: dict[int, dict[str, Any]]) -> None:
    sizes = sorted(results)

    def cell(size: int, key: str, which: str = "p50") -> str:
        value = results[size].get(key)
        if value is None:
            return "-"
        if isinstance(value, Stat):
            return fmt(getattr(value, which))
        return fmt(value)

    def floor_cell(size: int, key: str) -> str:
        stats = results[size].get("floor")
        return fmt(stats[key].p50) if stats else "-"

    rows: list[tuple[str, Callable[[int], str], str, str]] = [
        ("cold first page (ms)", lambda s: cell(s, "cold"), "", "<= 1000 at 100k"),
        ("backfill (s)", lambda s: fmt(results[s].get("backfill_s"), 2), "", ""),
        ("backfill (msg/s)", lambda s: fmt(results[s].get("backfill_rate"), 0), "",
         ">= 3000"),
        ("list page p50 (ms)", lambda s: cell(s, "list"), "list", "<= 15 flat"),
        ("list page p95 (ms)", lambda s: cell(s, "list", "p95"), "", ""),
        ("open uncached p50 (ms)", lambda s: cell(s, "open_uncached"), "open",
         "<= 20"),
        ("open uncached p95 (ms)", lambda s: cell(s, "open_uncached", "p95"), "", ""),
        ("open cached p50 (ms)", lambda s: cell(s, "open_cached"), "", ""),
        ("open cached p95 (ms)", lambda s: cell(s, "open_cached", "p95"), "", ""),
        ("star answered p50 (ms)", lambda s: cell(s, "star"), "mark", "<= 10"),
        ("star answered p95 (ms)", lambda s: cell(s, "star", "p95"), "", ""),
        ("star on server p50 (ms)", lambda s: cell(s, "star_server"), "", ""),
        ("star on server p95 (ms)", lambda s: cell(s, "star_server", "p95"), "",
         "<= 300"),
        ("read on server p50 (ms)", lambda s: cell(s, "seen_server"), "", ""),
        ("read on server p95 (ms)", lambda s: cell(s, "seen_server", "p95"), "",
         "<= 300"),
        ("8 clients (req/s)", lambda s: fmt(results[s].get("rps"), 0), "rps",
         ">= 200"),
        ("change -> event p50 (ms)", lambda s: cell(s, "event"), "", ""),
        ("change -> event p95 (ms)", lambda s: cell(s, "event", "p95"), "",
         "<= 1000"),
        ("floor: list p50 (ms)", lambda s: floor_cell(s, "list"), "", ""),
        ("floor: open p50 (ms)", lambda s: floor_cell(s, "open"), "", ""),
        ("floor: store p50 (ms)", lambda s: floor_cell(s, "mark"), "", ""),
        ("floor: EXAMINE p50 (ms)", lambda s: floor_cell(s, "examine"), "", ""),
        ("floor: SELECT p50 (ms)", lambda s: floor_cell(s, "select"), "", ""),
    ]  # fmt: skip
    header = ["measure"] + [f"ours {s}" for s in sizes]
    header += [f"RC {s}" for s in sizes] + ["target"]
    table = [header]
    for name, value, rc_key, target in rows:
        line = [name] + [value(s) for s in sizes]
        line += [str(ROUNDCUBE[rc_key].get(s, "-")) if rc_key else "" for s in sizes]
        table.append([*line, target])
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    print()
    for n, line in enumerate(table):
        cells = [line[0].ljust(widths[0])]
        cells += [c.rjust(w) for c, w in zip(line[1:-1], widths[1:-1], strict=True)]
        print("  ".join([*cells, line[-1]]))
        if n == 0:
            print("  ".join("-" * w for w in widths))
    print(
        "\nRC = Roundcube 1.6.5. 'star' is the write action the pages offer "
        "(POST .../flag); marking read happens when a message is opened, so "
        "'read on server' is timed from the open request."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--idle-accounts", type=int, default=50)
    parser.add_argument(
        "--web-workers",
        type=int,
        default=2,
        help="uvicorn processes (docker-compose.yml runs 2)",
    )
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument(
        "--no-warm-up",
        action="store_true",
        help="measure the first size on processes that have served no one",
    )
    options = parser.parse_args()
    sizes = [int(s) for s in options.sizes.split(",") if s]

    root = Path(tempfile.mkdtemp(prefix="eb-", dir="/tmp"))
    make_traversable(root)
    stack = Stack(root, options.database_url, options.web_workers)
    results: dict[int, dict[str, Any]] = {}
    memory: tuple[int | None, int | None, int] | None = None
    try:
        stack.start()
        if not options.no_warm_up:
            warm_up(stack)
        for size in sizes:
            results[size] = bench_size(stack, size, options.runs)
        if options.idle_accounts:
            memory = worker_memory(stack, options.idle_accounts)
    except KeyboardInterrupt:
        print("\nInterrupted: stopping.", flush=True)
    finally:
        stack.stop()
        if results:
            print_table(results)
        if memory is not None:
            before, after, connected = memory
            print(
                f"\nWorker RSS: {fmt(before and before / 1024)} MiB before, "
                f"{fmt(after and after / 1024)} MiB with {options.idle_accounts} "
                f"idle accounts watched ({connected} IMAP connections seen)."
            )
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
