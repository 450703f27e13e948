"""Time folder changes and moves: the page's answer and the mail server's state.

Usage: python bench/folders.py [--runs 20] [--bulk 5000] [--database-url ...]

Starts the stack of bench/engine.py (Dovecot, Redis, a Celery worker,
uvicorn), makes a mailbox of --bulk messages plus those the single moves
take, signs in and waits until the cache holds the folder. Then measures,
as a browser sends them:

- creating a folder (the folder page's form): the answer, and until a
  second IMAP connection (the phone) lists the folder on the server;
- renaming it: the answer, and until the server lists the new name and
  not the old one;
- moving one message: from the list's selection toolbar (the answer is the
  list again) and from the reading pane (the answer opens the next
  message), each timed to the answer;
- starring a row, the quickest action there is: the machine's yardstick
  (this machine's speed varies a great deal; docs/benchmarks.md);
- moving every result of a search on the server (--bulk messages, "select
  all N results", then Move): the answer, and until the phone finds them
  all in the target folder and none left in INBOX.

Goals: create/rename answered p50 <= 20 ms and on the server p95 <= 300 ms;
one message moved answered p50 <= 10 ms; the bulk move answered <= 300 ms
and on the server <= 5 s. Everything it starts it stops, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import urllib.parse
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from imapclient import IMAPClient

from bench._support import (
    PASSWORD,
    Client,
    Mailbox,
    Response,
    Stack,
    Stat,
    fmt,
    path_of,
    poll,
)
from bench.engine import backfill, check, cold_first_page, report
from devtools.dovecot import make_traversable

HTMX = {"HX-Request": "true"}
HTMX_APP = {"HX-Request": "true", "HX-Target": "app"}
SINGLE_MOVES_PER_RUN = 2
SINCE = "1990-01-01"


def server_names(phone: IMAPClient) -> set[str]:
    """The folder names the server lists, each by its last level."""
    names = set()
    for _flags, delimiter, name in phone.list_folders():
        sep = delimiter.decode() if isinstance(delimiter, bytes) else delimiter
        names.add(name.rsplit(sep, 1)[-1] if sep else name)
    return names


def listed(phone: IMAPClient, present: set[str], absent: set[str]) -> bool:
    """Whether the server lists every present name and none of absent."""
    names = server_names(phone)
    return present <= names and not absent & names


def folder_id(box: Mailbox, name: str) -> int:
    from webmail.models import Folder

    row = (
        Folder.objects.filter(account_id=box.account_id, display_name=name)
        .values_list("id", flat=True)
        .first()
    )
    return row or 0


def server_name(box: Mailbox, folder: int) -> str:
    from webmail.models import Folder

    return str(Folder.objects.get(id=folder).name)


def create_and_rename(
    client: Client, phone: IMAPClient, box: Mailbox, runs: int
) -> dict[str, Stat]:
    stats = {
        name: Stat() for name in ("create", "create_server", "rename", "rename_server")
    }
    base = f"/mail/{box.account_id}/folders/"
    client.get(base)  # the csrftoken cookie
    for n in range(runs):
        name, renamed = f"Bench {n}", f"Renamed {n}"
        started = time.perf_counter()
        answer = client.post(f"{base}new", {"name": name, "parent": ""})
        stats["create"].add((time.perf_counter() - started) * 1000)
        if answer.status != 302:
            stats["create"].failures += 1
        follow(client, answer)
        if poll(partial(listed, phone, {name}, set()), 10):
            stats["create_server"].add((time.perf_counter() - started) * 1000)
        else:
            stats["create_server"].failures += 1
        made = folder_id(box, name)
        started = time.perf_counter()
        answer = client.post(f"{base}{made}/rename", {"name": renamed, "parent": ""})
        stats["rename"].add((time.perf_counter() - started) * 1000)
        if answer.status != 302:
            stats["rename"].failures += 1
        follow(client, answer)
        if poll(partial(listed, phone, {renamed}, {name}), 10):
            stats["rename_server"].add((time.perf_counter() - started) * 1000)
        else:
            stats["rename_server"].failures += 1
    return stats


def follow(client: Client, answer: Response) -> None:
    """Load the page an answer leads to, untimed, as the browser does.

    It shows the notice the answer left ("Folder created"); notices nobody
    reads would pile up in the session and slow every later request.
    """
    if answer.location:
        client.get(path_of(answer.location))


def newest_uids(box: Mailbox, count: int) -> list[int]:
    from webmail.models import Message

    rows = Message.objects.filter(folder_id=box.folder_id).order_by("-date", "-uid")
    return list(rows.values_list("uid", flat=True)[:count])


def move_one(
    client: Client, path: str, form: dict[str, str], headers: dict[str, str]
) -> float:
    started = time.perf_counter()
    answer = client.post(path, form, headers=headers)
    took = (time.perf_counter() - started) * 1000
    check(answer.status == 200)
    return took


def moves(client: Client, box: Mailbox, target: int, runs: int) -> tuple[Stat, Stat]:
    """Move one message at a time: from the list's toolbar, from the pane."""
    from_list, from_pane = Stat(), Stat()
    folder = box.folder_path
    client.get(folder)
    uids = newest_uids(box, runs * 2)
    for uid in uids[:runs]:
        form = {
            "action": "move",
            "target": str(target),
            "uid": str(uid),
            "back": folder,
        }
        from_list.add(move_one(client, f"{folder}bulk", form, HTMX))
    for uid in uids[runs:]:
        # The pane's move answers with the next message open (its body
        # fetched by then: the list's newest are read ahead of time).
        client.get(box.message_path(uid), headers={**HTMX, "HX-Target": "reader"})
        form = {"target": str(target)}
        from_pane.add(move_one(client, box.message_path(uid) + "move", form, HTMX_APP))
    return from_list, from_pane


def stars(client: Client, box: Mailbox, runs: int) -> Stat:
    """Star rows of the list: the machine's yardstick (bench/engine.py's "star")."""
    stat = Stat()
    for uid in newest_uids(box, runs):
        form = {"flagged": "1"}
        stat.add(move_one(client, box.message_path(uid) + "flag", form, HTMX))
    return stat


def bulk_move(
    client: Client, phone: IMAPClient, box: Mailbox, target: int
) -> tuple[float, float | None, int]:
    """Move every result of a search on the server; time the answer and the server."""
    from webmail.models import Message

    count = Message.objects.filter(folder_id=box.folder_id).count()
    query = urllib.parse.urlencode({"folder": box.folder_id, "since": SINCE})
    search = f"/mail/{box.account_id}/search?{query}"
    page = client.get(search)
    check(page.status == 200 and "<li id=" in page.body)
    form = {"action": "move", "target": str(target), "all": "1", "back": search}
    started = time.perf_counter()
    answer = client.post(f"/mail/{box.account_id}/search/bulk", form, headers=HTMX)
    answered = (time.perf_counter() - started) * 1000
    check(answer.status == 200)
    target_name = server_name(box, target)
    # A search keeps at most 5,000 hits (engine/search.py): what it moved
    # has left the cache's INBOX.
    left = Message.objects.filter(folder_id=box.folder_id).count()
    moved = count - left

    def all_moved() -> bool:
        there = phone.folder_status(target_name, [b"MESSAGES"])[b"MESSAGES"]
        still = phone.folder_status("INBOX", [b"MESSAGES"])[b"MESSAGES"]
        return still == left and there >= moved

    if poll(all_moved, 60, interval=0.05):
        return answered, (time.perf_counter() - started) * 1000, moved
    there = phone.folder_status(target_name, [b"MESSAGES"])[b"MESSAGES"]
    left = phone.folder_status("INBOX", [b"MESSAGES"])[b"MESSAGES"]
    print(
        f"  after 60 s: {there} in {target_name}, {left} left in INBOX; {outbox(box)}"
    )
    return answered, None, moved


def outbox(box: Mailbox) -> str:
    """The account's outbox operations by state, to say where a move stopped."""
    from django.db.models import Count

    from webmail.models import PendingOperation

    rows = PendingOperation.objects.filter(account_id=box.account_id)
    states = rows.values_list("kind", "state").annotate(n=Count("id"))
    return ", ".join(f"{kind} {state}: {n}" for kind, state, n in states)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--bulk", type=int, default=5000)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    options = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="fb-", dir="/tmp"))
    make_traversable(root)
    stack = Stack(root, options.database_url, options.web_workers)
    figures: list[tuple[str, Stat]] = []
    bulk: tuple[float, float | None, int] | None = None
    try:
        stack.start()
        # A few of the generated messages go to other folders: a little
        # more, so that at least --bulk are left for the bulk move.
        wanted = options.bulk + options.runs * SINGLE_MOVES_PER_RUN
        box = Mailbox(stack, wanted * 103 // 100)
        box.create()
        client = stack.client()
        client.sign_in(box.login, PASSWORD)
        started = time.perf_counter()
        check(cold_first_page(client, box, timeout=120) is not None)
        box.folder_id = box.inbox_id()
        check(backfill(box, started, timeout=300) is not None)
        time.sleep(1.0)  # let the backfill's events settle
        phone = stack.imap(box.address)
        try:
            stats = create_and_rename(client, phone, box, options.runs)
            for key, label in (
                ("create", "create folder answered"),
                ("create_server", "create folder -> on server"),
                ("rename", "rename folder answered"),
                ("rename_server", "rename folder -> on server"),
            ):
                figures.append((label, stats[key]))
                report(label, stats[key])
            singles = folder_id(box, f"Renamed {options.runs - 1}")
            from_list, from_pane = moves(client, box, singles, options.runs)
            figures += [
                ("move 1 message (list) answered", from_list),
                ("move 1 message (pane) answered", from_pane),
            ]
            report("move 1 message (list) answered", from_list)
            report("move 1 message (pane) answered", from_pane)
            yardstick = stars(client, box, options.runs)
            figures.append(("star a row answered (yardstick)", yardstick))
            report("star a row answered (yardstick)", yardstick)
            client.post(
                f"/mail/{box.account_id}/folders/new", {"name": "Bulk", "parent": ""}
            )
            check(poll(lambda: "Bulk" in server_names(phone), 10))
            bulk = bulk_move(client, phone, box, folder_id(box, "Bulk"))
            answered, on_server, count = bulk
            print(
                f"  bulk move of {count} search results: answered "
                f"{answered:.0f} ms, on the server {fmt(on_server, 0)} ms",
                flush=True,
            )
        finally:
            phone.logout()
            client.close()
    except KeyboardInterrupt:
        print("\nInterrupted: stopping.", flush=True)
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)
    print("\n| what | p50 ms | p95 ms | runs |\n| --- | --- | --- | --- |")
    for label, stat in figures:
        print(f"| {label} | {fmt(stat.p50)} | {fmt(stat.p95)} | {len(stat.samples)} |")
    if bulk is not None:
        answered, on_server, count = bulk
        print(
            f"| bulk move of {count} search results answered / on server | "
            f"{answered:.0f} | {fmt(on_server, 0)} | 1 |"
        )


if __name__ == "__main__":
    main()
