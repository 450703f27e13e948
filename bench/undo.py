"""Time an undo's answer: a move to Trash, then its notice's Undo, over HTTP.

Usage: python bench/undo.py [--size 1000] [--runs 40]
       [--database-url postgres://...] [--web-workers 2]

Starts the same stack as bench/engine.py (Dovecot, Redis, a Celery worker
with the thread pool, uvicorn), makes a mailbox of --size messages and
lets the webmail load it. Then, --runs times each, one message is moved
to Trash from the list (the selection's toolbar) and undone:

- at once: the Undo follows the move's answer straight away, as a quick
  click or z does (the worker may be applying the move meanwhile: the undo
  cancels it or queues the move back, whichever the worker left to do);
- after the move reached the server: the Undo comes once the operation is
  done, so a move back is queued.

Prints p50/p95 of the Undo's HTTP answer (the messages are back in the
cache when it comes), and, for the second kind, until the server has the
message back in INBOX (seen by a second IMAP connection). Everything it
starts it stops.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from imapclient import IMAPClient

from bench._support import PASSWORD, Client, Mailbox, Stack, Stat, poll
from bench.engine import cold_first_page, report
from devtools.dovecot import make_traversable

UNDO_URL = re.compile(r'action="(/mail/\d+/undo/\d+)"')
HTMX = {"HX-Request": "true"}


def headers(client: Client) -> dict[str, str]:
    return {**HTMX, "X-CSRFToken": client.cookies.get("csrftoken", "")}


def move_to_trash(client: Client, box: Mailbox, trash: int, uid: int) -> str:
    """Move one message to Trash from the list; return its Undo's URL."""
    answer = client.post(
        f"{box.folder_path}bulk",
        {"action": "move", "target": str(trash), "uid": str(uid)},
        headers=headers(client),
    )
    found = UNDO_URL.search(answer.body)
    if answer.status != 200 or found is None:
        raise RuntimeError(f"The move offered no Undo ({answer.status}).")
    return found.group(1)


def undo(client: Client, url: str, stat: Stat) -> None:
    started = time.perf_counter()
    answer = client.post(url, {}, headers=headers(client))
    stat.add((time.perf_counter() - started) * 1000)
    if answer.status != 200 or "Undone" not in answer.body:
        stat.failures += 1


def drained(box: Mailbox) -> bool:
    from webmail.models import PendingOperation

    return not PendingOperation.objects.filter(
        account_id=box.account_id, state="pending"
    ).exists()


def last_move_done(box: Mailbox) -> bool:
    from webmail.models import PendingOperation

    op = (
        PendingOperation.objects.filter(account_id=box.account_id, kind="move")
        .order_by("-id")
        .first()
    )
    return op is not None and op.state == "done"


def inbox_count(phone: IMAPClient) -> int:
    return int(phone.folder_status("INBOX", ["MESSAGES"])[b"MESSAGES"])


def newest_cached(box: Mailbox) -> int | None:
    from webmail.models import Message

    return (
        Message.objects.filter(folder_id=box.folder_id)
        .order_by("-uid")
        .values_list("uid", flat=True)
        .first()
    )


def newest_on_server(phone: IMAPClient) -> int | None:
    phone.select_folder("INBOX", readonly=True)
    uids = phone.search(["ALL"])
    return max(uids) if uids else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    options = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="un-", dir="/tmp"))
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
        from webmail.models import Folder

        trash = Folder.objects.get(account_id=box.account_id, name="Trash").id
        client.get(box.folder_path)  # the csrftoken cookie
        phone = stack.imap(box.address)
        total = inbox_count(phone)
        at_once, after, on_server, moving = Stat(), Stat(), Stat(), Stat()
        for n in range(options.runs * 2 + 4):
            # The newest message: the undo puts it back under a new UID.
            uid = newest_cached(box)
            assert uid is not None
            warming = n < 4
            started = time.perf_counter()
            url = move_to_trash(client, box, trash, uid)
            if not warming:
                moving.add((time.perf_counter() - started) * 1000)
            if n % 2 == 0:
                undo(client, url, Stat() if warming else at_once)
            else:
                if not poll(lambda: last_move_done(box), 30):
                    from webmail.models import PendingOperation

                    for op in PendingOperation.objects.filter(
                        account_id=box.account_id
                    ).order_by("-id")[:4]:
                        print(op.id, op.kind, op.state, op.uids, op.payload)
                    raise RuntimeError("The move did not reach the server.")
                started = time.perf_counter()
                undo(client, url, Stat() if warming else after)
                if poll(lambda: inbox_count(phone) == total, 30, interval=0.002):
                    if not warming:
                        on_server.add((time.perf_counter() - started) * 1000)
                else:
                    on_server.failures += 1
            if not poll(lambda: drained(box) and inbox_count(phone) == total, 30):
                from webmail.models import PendingOperation

                for op in PendingOperation.objects.filter(account_id=box.account_id):
                    print(op.id, op.kind, op.state, op.uids, op.payload, op.last_error)
                print(inbox_count(phone), total, uid)
                raise RuntimeError(f"Run {n}: the server did not end as it began.")
            # The restored row takes the server's UID before the next run.
            poll(lambda: newest_cached(box) == newest_on_server(phone), 10)
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"\n== undo of a move to Trash, {options.runs} runs each ==")
        print(f"  (load average {load} on {os.cpu_count()} cores)")
        report("the move itself, for comparison (HTTP answer)", moving)
        report("undo at once (HTTP answer)", at_once)
        report("undo after the move reached the server (HTTP answer)", after)
        report("  ... until the server has it back in INBOX", on_server)
        from webmail.models import PendingOperation

        ops = PendingOperation.objects.filter(account_id=box.account_id)
        print(
            f"  moves cancelled before the worker sent them: "
            f"{ops.filter(state='cancelled').count()}, moved back: "
            f"{ops.filter(payload__has_key='undo_of').count()}"
        )
        phone.logout()
        client.close()
    except KeyboardInterrupt:
        print("\nInterrupted: stopping.", flush=True)
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
