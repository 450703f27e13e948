"""Time the first page and the backfill with and without the previews pass.

Usage: python bench/previews.py [--count 5000] [--rounds 3]
                                [--database-url postgres://.../empty_db]

Starts what bench/engine.py starts (Dovecot, Redis, a Celery worker,
uvicorn). Each round loads the same generated mailbox twice, for two new
users, once with the previews pass off (PREVIEW_BATCH=0) and once on, the
order alternating from round to round (the machine is shared: what else
runs on it moves the figures more than the change measured). Before each,
the worker is restarted with the setting and warmed up on a small mailbox.
Measured as bench/engine.py measures them: the cold first page (ms) and the
backfill (every message cached; msg/s). With the pass on, also the seconds
until it has read every message (from the sign-in and after the backfill),
the messages left without a line (attachments only, and so on), and for a
sample of messages whether the line is the one the whole body gives.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._support import PASSWORD, Mailbox, Stack, fmt, poll
from bench.engine import backfill, cold_first_page
from devtools.dovecot import make_traversable

SAMPLE = 300


def new_mailbox(stack: Stack, size: int, login: str) -> Mailbox:
    box = Mailbox(stack, size)
    box.login, box.address = login, f"{login}@example.org"
    box.create()
    return box


def restart_worker(stack: Stack, previews_on: bool, login: str) -> None:
    """Restart the worker with the pass on or off; warm it up on a small mailbox."""
    assert stack.worker is not None
    stack.worker.env["PREVIEW_BATCH"] = "200" if previews_on else "0"
    stack.worker.restart()
    load(stack, new_mailbox(stack, 200, login), previews_on)


def load(stack: Stack, box: Mailbox, previews_on: bool) -> dict[str, Any]:
    """Sign in, time the first page and the backfill (and the pass)."""
    client = stack.client()
    try:
        client.sign_in(box.login, PASSWORD)
        started = time.perf_counter()
        figures: dict[str, Any] = {"cold": cold_first_page(client, box, 120)}
        box.folder_id = box.inbox_id()
        seconds = backfill(box, started, timeout=max(120, box.size / 100))
        figures["backfill"] = box.expected / seconds if seconds else None
        if previews_on:
            done = poll(lambda: pass_done(box), timeout=600, interval=0.05)
            figures["pass_s"] = time.perf_counter() - started if done else None
            if done and seconds:
                figures["after_backfill_s"] = figures["pass_s"] - seconds
    finally:
        client.close()
    return figures


def pass_done(box: Mailbox) -> bool:
    from webmail.engine.previews import previews_due
    from webmail.models import Folder

    folder = Folder.objects.filter(id=box.folder_id).first()
    return (
        folder is not None
        and folder.complete
        and folder.previews_to_uid is not None
        and not previews_due(folder)
    )


def check_lines(stack: Stack, box: Mailbox) -> tuple[int, int, int]:
    """Return how many have no line; of a sample, how many have the whole body's."""
    from webmail.mime import parse_message, preview_text
    from webmail.models import Message

    rows = dict(
        Message.objects.filter(folder_id=box.folder_id).values_list("uid", "preview")
    )
    sample = random.Random(1).sample(sorted(rows), min(SAMPLE, len(rows)))
    phone = stack.imap(box.address)
    try:
        phone.select_folder("INBOX", readonly=True)
        bodies = phone.fetch(sample, ["BODY.PEEK[]"])
    finally:
        phone.logout()
    same = sum(
        rows[uid] == preview_text(parse_message(bodies[uid][b"BODY[]"]))[:200]
        for uid in sample
    )
    return sum(1 for line in rows.values() if not line), same, len(sample)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    options = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="pv-", dir="/tmp"))
    make_traversable(root)
    stack = Stack(root, options.database_url)
    results: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
    try:
        stack.start()
        for number in range(1, options.rounds + 1):
            order = (False, True) if number % 2 else (True, False)
            for previews_on in order:
                name = f"{'on' if previews_on else 'off'}{number}"
                print(f"== round {number}, previews {name[:-1]} ==", flush=True)
                restart_worker(stack, previews_on, f"warm{name}")
                box = new_mailbox(stack, options.count, f"load{name}")
                figures = load(stack, box, previews_on)
                if previews_on and figures.get("pass_s"):
                    empty, same, sampled = check_lines(stack, box)
                    figures.update(empty=empty, same=same, sampled=sampled)
                results[previews_on].append(figures)
                print(f"  {figures}", flush=True)
    except KeyboardInterrupt:
        print("\nInterrupted: stopping.", flush=True)
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)
    report(results, options.count)


def report(results: dict[bool, list[dict[str, Any]]], count: int) -> None:
    def median(on: bool, key: str) -> float | None:
        values = [r[key] for r in results[on] if r.get(key) is not None]
        return statistics.median(values) if values else None

    print(f"\n{count} messages, medians of {len(results[True])} rounds:")
    for key, label, digits in (
        ("cold", "cold first page (ms)", 0),
        ("backfill", "backfill (msg/s)", 0),
    ):
        off, on = median(False, key), median(True, key)
        change = f"{(on / off - 1) * 100:+.0f} %" if on and off else "-"
        print(
            f"  {label:<24} off {fmt(off, digits):>8}  "
            f"on {fmt(on, digits):>8}  {change}"
        )
    print(f"  previews done after sign-in: {fmt(median(True, 'pass_s'), 1)} s")
    after = median(True, "after_backfill_s")
    print(
        f"  of which after the backfill: {fmt(after, 1)} s "
        f"({fmt(count / after if after else None, 0)} msg/s)"
    )
    for figures in results[True]:
        if "empty" in figures:
            print(
                f"  without a line: {figures['empty']} of {count}; sample: "
                f"{figures['same']} of {figures['sampled']} as the whole body's"
            )


if __name__ == "__main__":
    main()
