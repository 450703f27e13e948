"""Print the web process's CPU per request, by request type.

Usage: python bench/webcpu.py [--size 1000] [--requests 300] [--rounds 3]
       [--database-url postgres://...] [--web-workers 1]
       [--profile out.svg] [--profile-format flamegraph|speedscope|raw]

Starts the same stack as bench/engine.py (Dovecot, Redis, a Celery worker,
uvicorn as docker-compose.yml runs it), makes a mailbox of --size messages
and waits for the webmail to have cached it. Then, in --rounds rounds, it
sends --requests requests of each type one after another and prints the
user plus system CPU time the web processes spent per request (from /proc:
a slow or shared machine changes wall times far more than CPU times):

- list page: GET of the INBOX's first page, as a browser loads it;
- list (htmx): the same page asked for by htmx (the list part only);
- static file: one of the page's scripts (WhiteNoise, the first thing the
  request meets after the server and the WSGI bridge): the floor;
- star: POST of the star action on a message row (a flag change; the worker
  pushes it to the server, off the web process).

--profile records the web process with py-spy (--native, so C code such as
the template engine's helpers and the server's parser shows) while the
list pages of the last round are sent; it needs --web-workers 1 and py-spy
(requirements-dev.txt), and usually root or ptrace rights.

Everything it starts it stops, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._procs import children_of, cpu_seconds, stop_process
from bench._support import PASSWORD, Client, Mailbox, Stack, poll
from bench.engine import HTMX_ROW, check, cold_first_page, pick_uids
from devtools.dovecot import make_traversable

STATIC = re.compile(r'/static/[^"?]+\.js')


class WebCpu:
    """CPU seconds of uvicorn and its page processes."""

    def __init__(self, stack: Stack) -> None:
        assert stack.web is not None
        self.pids = [stack.web.pid, *children_of(stack.web.pid)]

    def read(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids)


def request_types(client: Client, box: Mailbox) -> dict[str, Callable[[int], None]]:
    """Each type's request; the argument numbers the request within its round."""
    uids = pick_uids(box, 40, seen=None)
    page = client.get(box.folder_path).body
    asset = STATIC.search(page)
    check(asset is not None)
    assert asset is not None

    def list_page(_: int) -> None:
        check(client.get(box.folder_path).status == 200)

    def list_htmx(_: int) -> None:
        check(client.get(box.folder_path, headers=HTMX_ROW).status == 200)

    def star(n: int) -> None:
        uid = uids[n % len(uids)]
        flagged = "1" if n // len(uids) % 2 == 0 else "0"
        answer = client.post(
            box.message_path(uid) + "flag", {"flagged": flagged}, headers=HTMX_ROW
        )
        check(answer.status == 200)

    def static(_: int) -> None:
        check(client.get(asset[0]).status == 200)

    return {
        "static file": static,
        "list page": list_page,
        "list (htmx)": list_htmx,
        "star": star,
    }


def run_type(meter: WebCpu, send: Callable[[int], None], count: int) -> float:
    """Web CPU milliseconds per request over count requests."""
    before = meter.read()
    for n in range(count):
        send(n)
    return (meter.read() - before) * 1000 / count


def profiler(pid: int, output: str, kind: str) -> subprocess.Popen[bytes]:
    spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen(
        [str(spy), "record", "--native", "--pid", str(pid), "--rate", "500",
         "--format", kind, "--output", output],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--web-workers", type=int, default=1)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--profile", help="write a py-spy profile of the list pages")
    parser.add_argument("--profile-format", default="flamegraph")
    options = parser.parse_args()
    if options.profile and options.web_workers != 1:
        parser.error("--profile needs --web-workers 1")

    root = Path(tempfile.mkdtemp(prefix="wc-", dir="/tmp"))
    make_traversable(root)
    stack = Stack(root, options.database_url, options.web_workers)
    figures: dict[str, list[float]] = {}
    try:
        stack.start()
        box = Mailbox(stack, options.size)
        box.create()
        client = stack.client()
        client.sign_in(box.login, PASSWORD)
        check(cold_first_page(client, box, timeout=120) is not None)
        box.folder_id = box.inbox_id()
        check(poll(lambda: box.cached() >= box.expected, 600, interval=0.1))
        time.sleep(1.0)  # let the backfill's last events settle
        meter = WebCpu(stack)
        types = request_types(client, box)
        for send in types.values():  # first uses: imports, templates
            for n in range(20):
                send(n)
        for round_number in range(options.rounds):
            last = round_number == options.rounds - 1
            for name, send in types.items():
                spy = None
                if last and options.profile and name == "list page":
                    spy = profiler(
                        meter.pids[-1], options.profile, options.profile_format
                    )
                    time.sleep(1.0)
                figures.setdefault(name, []).append(
                    run_type(meter, send, options.requests)
                )
                if spy is not None:
                    spy.send_signal(2)
                    spy.wait(60)
                    stop_process(spy)
            print(
                f"  round {round_number + 1}: "
                + ", ".join(f"{k} {v[-1]:.2f}" for k, v in figures.items())
                + " ms",
                flush=True,
            )
        client.close()
    except KeyboardInterrupt:
        print("\nInterrupted: stopping.", flush=True)
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(f"\nWeb CPU per request (ms), {options.size} messages, median of rounds:")
    for name, values in figures.items():
        rounds = ", ".join(f"{value:.2f}" for value in values)
        print(f"  {name:<14} {statistics.median(values):6.2f}   ({rounds})")


if __name__ == "__main__":
    main()
