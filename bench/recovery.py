"""Time how soon an action taken while Redis or the mail server was down reaches it.

Usage: python bench/recovery.py [--runs 3] [--down 10] [--outages redis,imap]
       [--database-url ...]

Starts the stack of bench/engine.py (Dovecot, Redis, a Celery worker,
uvicorn) and Celery beat (its outbox sweep every 60 s, as deployed), signs
a user in and keeps an event stream open, reconnecting as a browser does,
so that the worker keeps its IDLE connection, as while the webmail is
open. Then, --runs times each:

- Redis down: stops Redis, stars a message (the page answers; the action
  waits in the outbox, since no task can be queued), starts Redis again
  after --down seconds, and measures the seconds from Redis answering
  again to the flag on the mail server.
- mail server down: stops Dovecot, stars a message (the worker's push is
  refused and retried with backoff), starts Dovecot again after --down
  seconds, and measures the seconds from Dovecot listening again to the
  flag on the server.

Everything it starts it stops, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from imapclient import IMAPClient

from bench._support import PASSWORD, REPO, Client, Mailbox, Stack, fmt, poll
from bench.engine import HTMX_ROW, cold_first_page
from devtools.dovecot import make_traversable

WAIT_AT_MOST = 150.0
SETTLE = 5.0


class Beat:
    """celery beat, with its schedule file in the stack's directory."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with (self.stack.logs / "beat.log").open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "webmail",
                    "beat",
                    f"--schedule={self.stack.root / 'beat-schedule'}",
                    "--loglevel=WARNING",
                ],
                cwd=REPO,
                env=self.stack.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


class Tab:
    """An open page's event stream, opened again 3 s after it ends (EventSource)."""

    def __init__(self, client: Client, box: Mailbox) -> None:
        self.path = f"/events/?account={box.account_id}&folder={box.folder_id}"
        self.cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        self.host, self.port = client.host, client.port
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()

    def _run(self) -> None:
        while not self.stopped.is_set():
            conn = http.client.HTTPConnection(self.host, self.port, timeout=5)
            try:
                conn.request(
                    "GET",
                    self.path,
                    headers={"Cookie": self.cookie, "Accept": "text/event-stream"},
                )
                answer = conn.getresponse()
                while not self.stopped.is_set() and answer.fp.readline():
                    pass
            except (OSError, http.client.HTTPException):
                pass
            finally:
                conn.close()
            self.stopped.wait(3)


class Phone:
    """The user's other device: reads a message's flags, reconnecting as needed."""

    def __init__(self, stack: Stack, login: str) -> None:
        self.stack = stack
        self.login = login
        self.client: IMAPClient | None = None

    def flagged(self, uid: int) -> bool:
        try:
            if self.client is None:
                self.client = self.stack.imap(self.login)
            self.client.select_folder("INBOX", readonly=True)
            flags = self.client.get_flags([uid]).get(uid, ())
        except Exception:
            self.client = None
            return False
        return b"\\Flagged" in flags


def star(client: Client, box: Mailbox, uid: int) -> int:
    answer = client.post(
        box.message_path(uid) + "flag", {"flagged": "1"}, headers=HTMX_ROW
    )
    return answer.status


def outage(
    name: str,
    stop: Callable[[], None],
    start: Callable[[], None],
    client: Client,
    box: Mailbox,
    phone: Phone,
    uid: int,
    down: float,
) -> float | None:
    """Stop a service, star uid, start it after down s; seconds until flagged."""
    stop()
    status = star(client, box, uid)
    time.sleep(down)
    start()
    back = time.monotonic()
    if not poll(lambda: phone.flagged(uid), WAIT_AT_MOST, interval=0.1):
        print(
            f"  {name}: star answered {status}; not on the server after "
            f"{WAIT_AT_MOST:.0f} s",
            flush=True,
        )
        return None
    seconds = time.monotonic() - back
    print(
        f"  {name}: star answered {status}; on the server {seconds:.1f} s "
        "after the service came back",
        flush=True,
    )
    # Let the worker finish what the return set off before the next outage:
    # Redis going away while a task is unacknowledged can end a Celery
    # worker (kombu fails to restore the message: "Unrecoverable error").
    time.sleep(SETTLE)
    return seconds


def summary(name: str, samples: list[float | None]) -> None:
    got = [s for s in samples if s is not None]
    lost = len(samples) - len(got)
    median = statistics.median(got) if got else None
    print(
        f"{name}: median {fmt(median)} s, max {fmt(max(got) if got else None)} s "
        f"over {len(got)} runs"
        + (f", {lost} not within {WAIT_AT_MOST:.0f} s" if lost else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--down", type=float, default=10.0)
    parser.add_argument("--outages", default="redis,imap")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    options = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="rb-", dir="/tmp"))
    make_traversable(root)
    stack = Stack(root, options.database_url, web_workers=1)
    beat = Beat(stack)
    redis_back: list[float | None] = []
    imap_back: list[float | None] = []
    tab: Tab | None = None
    try:
        stack.start()
        beat.start()
        box = Mailbox(stack, 40)
        box.create()
        client = stack.client()
        client.sign_in(box.login, PASSWORD)
        cold_first_page(client, box, timeout=60)
        box.folder_id = box.inbox_id()
        client.get(box.folder_path)  # the csrftoken cookie
        tab = Tab(client, box)
        tab.start()
        phone = Phone(stack, box.address)
        time.sleep(3)  # the worker starts its IDLE connection
        assert stack.redis is not None and stack.dovecot is not None
        redis, dovecot = stack.redis, stack.dovecot
        uid = 0
        outages = options.outages.split(",")
        for run in range(options.runs):
            print(f"run {run + 1}", flush=True)
            if "redis" in outages:
                uid += 1
                redis_back.append(
                    outage(
                        "Redis down",
                        redis.stop,
                        redis.start,
                        client,
                        box,
                        phone,
                        uid,
                        options.down,
                    )
                )
            if "imap" in outages:
                uid += 1
                imap_back.append(
                    outage(
                        "mail server down",
                        dovecot.stop,
                        dovecot.start,
                        client,
                        box,
                        phone,
                        uid,
                        options.down,
                    )
                )
    except KeyboardInterrupt:
        print("\nInterrupted: stopping.", flush=True)
    finally:
        if tab is not None:
            tab.stop()
        beat.stop()
        stack.stop()
        print(
            f"\nAn action taken while a service was down for {options.down:g} s "
            "reached the mail server, counted from the service's return:"
        )
        if redis_back:
            summary("  after Redis came back", redis_back)
        if imap_back:
            summary("  after the mail server came back", imap_back)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
