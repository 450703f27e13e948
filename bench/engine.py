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
work done directly with imapclient on one warm connection is the floor, and
8 such connections listing at once are the floor of the 8 clients' figure.
Beside the wall times it prints the CPU per request of the web processes
(uvicorn and its children) and of the Celery worker, read from /proc before
and after each measured loop: a shared machine changes wall times far more
than CPU times.

--json PATH writes the figures; bench/engine_compare.py prints two such
files side by side (the code before a change and after it, run by turns on
the same machine). Everything it starts it stops, also on Ctrl-C.

Before the first size, a small mailbox of another user is loaded, listed,
opened and starred, so that the first size's figures are not its processes'
first-use costs (imports, template compiles, first connections): a server
in use has paid those long before a new user signs in. --no-warm-up leaves
them in.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from queue import Empty, Queue
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from imapclient import IMAPClient

from bench._procs import rss_kib, tree_cpu_seconds
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
from devtools.celery_worker import REPO
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


# CPU per request --------------------------------------------------------------


@dataclass
class Cpu:
    """CPU milliseconds per request, of the web processes and of the worker."""

    web: float
    worker: float


class CpuMeter:
    """The CPU the web processes and the worker spend on each measured loop.

    Each process tree is read whole (uvicorn's page processes are its
    children). The worker's share is what the requests made it do (fetching
    a body, pushing a flag) plus whatever it does meanwhile on its own; the
    loops that change flags wait until the change is on the server, so the
    worker's part is inside them. /proc counts in clock ticks (10 ms): a
    figure over few requests is that coarse divided by their number.
    """

    def __init__(self, stack: Stack) -> None:
        assert stack.web is not None
        assert stack.worker is not None and stack.worker.process is not None
        self.web_pid = stack.web.pid
        self.worker_pid = stack.worker.process.pid
        self.figures: dict[str, Cpu] = {}

    def read(self) -> tuple[float, float]:
        return tree_cpu_seconds(self.web_pid), tree_cpu_seconds(self.worker_pid)

    def record(self, name: str, before: tuple[float, float], requests: int) -> None:
        """Keep the CPU spent since before, per request, as name's figure."""
        after = self.read()
        if requests:
            self.figures[name] = Cpu(
                web=(after[0] - before[0]) * 1000 / requests,
                worker=(after[1] - before[1]) * 1000 / requests,
            )


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


def list_latency(client: Client, box: Mailbox, count: int, meter: CpuMeter) -> Stat:
    stat = Stat()
    client.get(box.folder_path)  # warm up
    before = meter.read()
    for _ in range(count):
        stat.add(millis(lambda: check(client.get(box.folder_path).status == 200)))
    meter.record("list", before, count)
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
    document when the frame loads one of its own (today the pane carries
    the body in the frame's srcdoc: one request). Answers the first failed
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


def shows_body(answer: Response) -> bool:
    """Whether an open ended with the message's text shown, not an error or a wait."""
    return (
        answer.status == 200
        and '<iframe class="body"' in answer.body
        and 'class="notice error"' not in answer.body
    )


def open_messages(
    client: Client, phone: IMAPClient, box: Mailbox, runs: int, meter: CpuMeter
) -> tuple[Stat, Stat, Stat]:
    """Open unread, never-opened messages twice; time \\Seen reaching the server.

    The first opens' CPU includes the worker's fetch and its \\Seen push,
    as each waits for the flag on the server before the next.
    """
    uncached, cached, seen_on_server = Stat(), Stat(), Stat()
    uids = pick_uids(box, runs, seen=False)
    before = meter.read()
    for uid in uids:
        path = box.message_path(uid)
        started = time.perf_counter()
        answer = open_reader(client, path)
        uncached.add((time.perf_counter() - started) * 1000)
        if not shows_body(answer):
            uncached.failures += 1
        if poll(partial(has_flag, phone, uid, b"\\Seen"), 10):
            seen_on_server.add((time.perf_counter() - started) * 1000)
        else:
            seen_on_server.failures += 1
    meter.record("open_uncached", before, len(uids))
    before = meter.read()
    for uid in uids:
        started = time.perf_counter()
        answer = open_reader(client, box.message_path(uid))
        cached.add((time.perf_counter() - started) * 1000)
        if not shows_body(answer):
            cached.failures += 1
    meter.record("open_cached", before, len(uids))
    return uncached, cached, seen_on_server


def star_messages(
    client: Client, phone: IMAPClient, box: Mailbox, runs: int, meter: CpuMeter
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
    before = meter.read()
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
    meter.record("star", before, len(uids))
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


Connection = TypeVar("Connection")


def clients_at_once(
    connect: Callable[[], Connection],
    request: Callable[[Connection], bool],
    close: Callable[[Connection], None],
    seconds: float,
    meter: CpuMeter | None = None,
    name: str = "",
) -> float:
    """Requests per second of several clients at once, each on a connection
    of its own, each sending its next request as soon as the last is answered.

    Counted over `seconds` once every client has connected and answered a
    first request, after half a second more; meter, if given, records the
    CPU of that window per request counted as name.
    """
    done = [0] * CONCURRENT_CLIENTS
    failed = [0] * CONCURRENT_CLIENTS
    errors: list[str] = []
    ready = threading.Semaphore(0)
    stop = threading.Event()

    def run(n: int) -> None:
        # An error ends this client only: counted and printed below.
        mine: Connection | None = None
        counting = False
        try:
            mine = connect()
            request(mine)
            ready.release()
            counting = True
            while not stop.is_set():
                if request(mine):
                    done[n] += 1
                else:
                    failed[n] += 1
        except Exception as error:
            failed[n] += 1
            errors.append(repr(error))
        finally:
            if not counting:
                ready.release()
            if mine is not None:
                close(mine)

    threads = [
        threading.Thread(target=run, args=(n,), daemon=True)
        for n in range(CONCURRENT_CLIENTS)
    ]
    for thread in threads:
        thread.start()
    for _ in threads:
        ready.acquire(timeout=60)
    time.sleep(0.5)
    cpu_before = meter.read() if meter else (0.0, 0.0)
    own_before = time.process_time()
    before, started = sum(done), time.perf_counter()
    time.sleep(seconds)
    total, elapsed = sum(done) - before, time.perf_counter() - started
    own = (time.process_time() - own_before) / elapsed
    if meter:
        meter.record(name, cpu_before, total)
    stop.set()
    for thread in threads:
        thread.join()
    if sum(failed):
        first = f": {errors[0]}" if errors else ""
        print(f"  ({sum(failed)} failed requests or clients{first})", flush=True)
    # The clients are threads of this process: near 1 CPU second a second,
    # its own Python (one interpreter lock) is what limits the figure.
    print(f"  (the clients used {own:.2f} CPU s/s of this process)", flush=True)
    return total / elapsed


def concurrent_list(
    client: Client, box: Mailbox, seconds: float, meter: CpuMeter
) -> float:
    """List pages per second with several clients at once."""
    return clients_at_once(
        client.copy,
        lambda mine: mine.get(box.folder_path).status == 200,
        Client.close,
        seconds,
        meter,
        "rps",
    )


def list_once(phone: IMAPClient) -> None:
    """The IMAP work of a list page: the folder's UIDs, the envelopes of 50."""
    uids = phone.search(["ALL"])
    phone.fetch(uids[-50:], ["ENVELOPE", "FLAGS", "RFC822.SIZE", "INTERNALDATE"])


def concurrent_floor(stack: Stack, box: Mailbox, seconds: float) -> float:
    """list_once per second from several IMAP clients at once, no webmail.

    The clients are threads, each with its own connection. They share this
    process's interpreter lock, and parsing the answers keeps it near one
    core busy; clients in processes of their own did no better on 2 cores
    (115 against 92-116 lists/s at 1k): the cores are the limit.
    """

    def connect() -> IMAPClient:
        phone = stack.imap(box.address)
        phone.select_folder("INBOX")
        return phone

    def request(phone: IMAPClient) -> bool:
        list_once(phone)
        return True

    def close(phone: IMAPClient) -> None:
        phone.logout()

    return clients_at_once(connect, request, close, seconds)


def floor(phone: IMAPClient, box: Mailbox, runs: int) -> dict[str, Stat]:
    """The same IMAP work on one warm connection, without the webmail."""
    phone.select_folder("INBOX")
    listing, opening, storing = Stat(), Stat(), Stat()
    for _ in range(LIST_REQUESTS):
        listing.add(millis(partial(list_once, phone)))
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

    meter = CpuMeter(stack)
    result["cpu"] = meter.figures
    result["list"] = list_latency(client, box, LIST_REQUESTS, meter)
    report("list page", result["list"])
    phone = stack.imap(box.address)
    try:
        phone.select_folder("INBOX")
        uncached, cached, seen = open_messages(client, phone, box, runs, meter)
        result.update(open_uncached=uncached, open_cached=cached, seen_server=seen)
        report("open uncached", uncached)
        report("open cached", cached)
        report("read -> \\Seen on server", seen)
        answered, flagged = star_messages(client, phone, box, runs, meter)
        result.update(star=answered, star_server=flagged)
        report("star answered", answered)
        report("star -> \\Flagged on server", flagged)
        result["rps"] = concurrent_list(client, box, CONCURRENT_SECONDS, meter)
        print(f"  {CONCURRENT_CLIENTS} clients: {result['rps']:.0f} req/s", flush=True)
        result["event"] = change_to_event(client, phone, box)
        report("external change -> event", result["event"])
        result["floor"] = floor(phone, box, runs)
        for name, stat in result["floor"].items():
            report(f"floor {name}", stat)
        result["floor_rps"] = concurrent_floor(stack, box, CONCURRENT_SECONDS)
        print(
            f"  floor, {CONCURRENT_CLIENTS} clients: {result['floor_rps']:.0f} req/s",
            flush=True,
        )
        for name, cpu in meter.figures.items():
            print(
                f"  CPU per request, {name}: web {cpu.web:.2f} ms, "
                f"worker {cpu.worker:.2f} ms",
                flush=True,
            )
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


Row = tuple[str, Callable[[int], str], str, str]


def table_rows(results: dict[int, dict[str, Any]]) -> list[Row]:
    """The table's rows: name, the figure at a size, Roundcube's key, target."""

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

    def cpu_cell(size: int, key: str, which: str) -> str:
        cpu = results[size].get("cpu", {}).get(key)
        return fmt(getattr(cpu, which), 2) if cpu else "-"

    def ratio(size: int) -> str:
        ours, bare = results[size].get("rps"), results[size].get("floor_rps")
        return fmt(ours / bare, 2) if ours and bare else "-"

    def cpu_rows(key: str, label: str) -> list[Row]:
        return [
            (f"{label} web CPU (ms/req)", lambda s: cpu_cell(s, key, "web"), "", ""),
            (f"{label} worker CPU (ms/req)", lambda s: cpu_cell(s, key, "worker"),
             "", ""),
        ]  # fmt: skip

    return [
        ("cold first page (ms)", lambda s: cell(s, "cold"), "", "<= 1000 at 100k"),
        ("backfill (s)", lambda s: fmt(results[s].get("backfill_s"), 2), "", ""),
        ("backfill (msg/s)", lambda s: fmt(results[s].get("backfill_rate"), 0), "",
         ">= 3000"),
        ("list page p50 (ms)", lambda s: cell(s, "list"), "list", "<= 15 flat"),
        ("list page p95 (ms)", lambda s: cell(s, "list", "p95"), "", ""),
        *cpu_rows("list", "list page"),
        ("open uncached p50 (ms)", lambda s: cell(s, "open_uncached"), "open",
         "<= 15"),
        ("open uncached p95 (ms)", lambda s: cell(s, "open_uncached", "p95"), "", ""),
        *cpu_rows("open_uncached", "open uncached"),
        ("open cached p50 (ms)", lambda s: cell(s, "open_cached"), "", "<= 8"),
        ("open cached p95 (ms)", lambda s: cell(s, "open_cached", "p95"), "", ""),
        *cpu_rows("open_cached", "open cached"),
        ("star answered p50 (ms)", lambda s: cell(s, "star"), "mark", "<= 10"),
        ("star answered p95 (ms)", lambda s: cell(s, "star", "p95"), "", ""),
        *cpu_rows("star", "star"),
        ("star on server p50 (ms)", lambda s: cell(s, "star_server"), "", ""),
        ("star on server p95 (ms)", lambda s: cell(s, "star_server", "p95"), "",
         "<= 300"),
        ("read on server p50 (ms)", lambda s: cell(s, "seen_server"), "", ""),
        ("read on server p95 (ms)", lambda s: cell(s, "seen_server", "p95"), "",
         "<= 300"),
        ("8 clients (req/s)", lambda s: fmt(results[s].get("rps"), 0), "rps",
         ">= 200"),
        *cpu_rows("rps", "8 clients"),
        ("floor: 8 clients (req/s)", lambda s: fmt(results[s].get("floor_rps"), 0),
         "", ""),
        ("8 clients ours / floor", ratio, "", ">= 2"),
        ("change -> event p50 (ms)", lambda s: cell(s, "event"), "", ""),
        ("change -> event p95 (ms)", lambda s: cell(s, "event", "p95"), "",
         "<= 1000"),
        ("floor: list p50 (ms)", lambda s: floor_cell(s, "list"), "", ""),
        ("floor: open p50 (ms)", lambda s: floor_cell(s, "open"), "", ""),
        ("floor: store p50 (ms)", lambda s: floor_cell(s, "mark"), "", ""),
        ("floor: EXAMINE p50 (ms)", lambda s: floor_cell(s, "examine"), "", ""),
        ("floor: SELECT p50 (ms)", lambda s: floor_cell(s, "select"), "", ""),
    ]  # fmt: skip


def print_aligned(table: list[list[str]]) -> None:
    """Print rows of cells: the first left-aligned, the last as it is, the
    others right-aligned, with a rule under the header."""
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    print()
    for n, line in enumerate(table):
        cells = [line[0].ljust(widths[0])]
        cells += [c.rjust(w) for c, w in zip(line[1:-1], widths[1:-1], strict=True)]
        print("  ".join([*cells, line[-1]]))
        if n == 0:
            print("  ".join("-" * w for w in widths))


def print_table(results: dict[int, dict[str, Any]]) -> None:
    sizes = sorted(results)
    header = ["measure"] + [f"ours {s}" for s in sizes]
    header += [f"RC {s}" for s in sizes] + ["target"]
    table = [header]
    for name, value, rc_key, target in table_rows(results):
        line = [name] + [value(s) for s in sizes]
        line += [str(ROUNDCUBE[rc_key].get(s, "-")) if rc_key else "" for s in sizes]
        table.append([*line, target])
    print_aligned(table)
    print(
        "\nRC = Roundcube 1.6.5. 'star' is the write action the pages offer "
        "(POST .../flag); marking read happens when a message is opened, so "
        "'read on server' is timed from the open request. CPU per request: "
        "uvicorn and its children (web), the Celery worker (worker), from /proc "
        "over each loop; the open and star loops wait for the flag on the server."
    )


# The figures as JSON, for bench/engine_compare.py ------------------------------


def write_json(path: str, results: dict[int, dict[str, Any]], database: str) -> None:
    def plain(value: object) -> object:
        if isinstance(value, Stat | Cpu):
            return asdict(value)
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    with open(path, "w") as out:
        json.dump(
            {"commit": commit, "database": database, "results": results},
            out,
            default=plain,
            indent=1,
        )


def read_json(path: str) -> tuple[dict[str, Any], dict[int, dict[str, Any]]]:
    """The figures write_json wrote, as bench_size made them, and what else."""
    with open(path) as source:
        data = json.load(source)
    results: dict[int, dict[str, Any]] = {}
    for size, figures in data.pop("results").items():
        result: dict[str, Any] = {}
        for key, value in figures.items():
            if key == "floor":
                value = {name: Stat(**stat) for name, stat in value.items()}
            elif key == "cpu":
                value = {name: Cpu(**cpu) for name, cpu in value.items()}
            elif isinstance(value, dict):
                value = Stat(**value)
            result[key] = value
        results[int(size)] = result
    return data, results


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
    parser.add_argument("--json", help="write the figures to this file")
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
            if options.json:
                database = stack.database_url.split(":", 1)[0]
                write_json(options.json, results, database)
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
