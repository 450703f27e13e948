"""Count the instructions the web side spends per page, under callgrind.

Usage: python bench/instructions.py [--count 1000] [--requests 50]
       [--kinds list,list-htmx,pane,star,move]

Wall and CPU times on a shared or slow machine move by tens of percent
from run to run; callgrind counts the instructions a request executes,
the same from run to run within about half a percent, whatever else the
machine does. Two versions of the code (a worktree each) compared with
this differ by what they do, not by the machine's mood.

Each kind runs in its own process under `valgrind --tool=callgrind`, with
counting off during set-up: its own Redis (devtools), a throwaway SQLite
database, one user whose INBOX caches --count messages, and Django's test
client signed in. After 30 requests to warm up (imports, compiled
templates and queries), counting is on for --requests requests. What it
counts is Django's side (middleware, session, view, queries, templates),
not the HTTP server's: bench/webcpu.py measures that whole.

- list: the INBOX's first page, whole;
- list-htmx: the same asked for by htmx (the list part);
- pane: a read message in the reading pane, its body in the cache;
- star: a star set and taken off again, from the list's row (the change
  goes to Redis for a worker; none runs);
- move: one message moved to Archive from the list's toolbar, with its
  undo offer (a new message each time).

Needs valgrind (Debian's package) and its callgrind_control.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._inprocess import bench_account, bench_folders, fill_list, run_in_process

KINDS = ("list", "list-htmx", "pane", "star", "move")
WARM_UP = 30
TOTALS = re.compile(r"^([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS", re.MULTILINE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        run_in_process(
            "instructions",
            lambda _: child(options.child, options.count, options.requests),
            keep_database_url=False,
        )
        return
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind).")
    print(f"Instructions per request (millions), {options.count} cached messages:")
    for kind in options.kinds.split(","):
        if kind not in KINDS:
            sys.exit(f"Unknown kind {kind!r}; choose from {', '.join(KINDS)}.")
        count = measure(kind, options.count, options.requests)
        print(f"  {kind:<10} {count / 1e6:7.2f}", flush=True)


def measure(kind: str, count: int, requests: int) -> float:
    """Run one kind under callgrind and return its instructions per request."""
    workdir = Path(tempfile.mkdtemp(prefix="instructions-", dir="/tmp"))
    out = workdir / "callgrind.out"
    try:
        subprocess.run(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no",
             f"--callgrind-out-file={out}", sys.executable, __file__,
             "--child", kind, "--count", str(count), "--requests", str(requests)],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        summary = subprocess.run(
            ["callgrind_annotate", str(out)],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    found = TOTALS.search(summary)
    if found is None:
        raise RuntimeError("callgrind_annotate printed no total.")
    return int(found.group(1).replace(",", "")) / requests


def child(kind: str, count: int, requests: int) -> None:
    """Set up, warm up, then count requests of one kind (inside valgrind)."""
    import django

    django.setup()
    send = request_of(kind, *cached_inbox(count))
    for n in range(WARM_UP):
        send(n)
    counting(True)
    for n in range(WARM_UP, WARM_UP + requests):
        send(n)
    counting(False)


def counting(on: bool) -> None:
    subprocess.run(
        ["callgrind_control", "-i", "on" if on else "off", str(os.getpid())],
        check=True, capture_output=True,
    )  # fmt: skip


def cached_inbox(count: int) -> tuple[Any, Any]:
    """A signed-in test client and an INBOX of count cached messages."""
    from django.core.cache import cache
    from django.test import Client

    from webmail.shared import bodycache

    account = bench_account("instructions")
    inbox = bench_folders(
        account, count, ("Drafts", "Sent", "Trash", "Archive", "Junk")
    )
    fill_list(inbox, count)
    html = "<p>Hello <b>there</b>, a paragraph of the message.</p>" * 20
    body = {
        "text": "Hello",
        "raw_html": html,
        "html": html,
        "has_remote_content": False,
        "cid_parts": [],
        "attachments": [],
    }
    cache.set(bodycache.cache_key(account.id, inbox, count), body, 3600)
    client = Client()
    client.force_login(account.user)
    return client, inbox


def request_of(kind: str, client: Any, inbox: Any) -> Any:
    """The request of a kind, as a function of its number."""
    base = f"/mail/{inbox.account_id}/{inbox.id}/"
    newest = inbox.total
    headers = {"HX-Request": "true"}

    def get(path: str, headers: dict[str, str] | None = None) -> None:
        answer = client.get(path, headers=headers)
        assert answer.status_code == 200, (path, answer.status_code)

    if kind == "list":
        return lambda _: get(base)
    if kind == "list-htmx":
        return lambda _: get(base, {"HX-Request": "true"})
    if kind == "pane":
        headers = {"HX-Request": "true", "HX-Target": "reader"}
        return lambda _: get(f"{base}{newest}/", headers)

    def star(n: int) -> None:
        answer = client.post(
            f"{base}{newest}/flag",
            {"flagged": "1" if n % 2 == 0 else "0"},
            headers=headers,
        )
        assert answer.status_code == 200, answer.status_code

    if kind == "star":
        return star
    from webmail.models import Folder

    archive = Folder.objects.get(account_id=inbox.account_id, name="Archive")

    def move(n: int) -> None:
        form = {"action": "move", "target": archive.id, "uid": newest - n, "back": base}
        answer = client.post(f"{base}bulk", form, headers=headers)
        assert answer.status_code == 200, answer.status_code

    return move


if __name__ == "__main__":
    main()
