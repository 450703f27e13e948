"""Time the mailbox pages server-side with a large folder in the cache.

Usage: python bench/ui.py [--count 100000] [--repeat 50]

Starts its own Redis (devtools), creates a throwaway SQLite database with one
user whose INBOX holds --count cached messages, puts one message body in the
body cache (as the worker would), and times the folder page (first page and
deep in the folder), a message page and the message body frame through
Django's test client. Sync requests go to Redis like in production; no
worker runs, so none is answered.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._inprocess import (
    bench_account,
    bench_folders,
    fill_list,
    run_in_process,
    timed,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=50)
    options = parser.parse_args()

    run_in_process(
        "ui",
        lambda _: run_bench(options.count, options.repeat),
        keep_database_url=False,
    )


def run_bench(count: int, repeat: int) -> None:
    import django

    django.setup()
    from django.core.cache import cache
    from django.test import Client

    from webmail.models import Message
    from webmail.shared import bodycache

    account = bench_account("bench")
    user = account.user
    inbox = bench_folders(account, count, ("Drafts", "Sent", "Trash", "Archive"))
    started = time.perf_counter()
    fill_list(inbox, count)
    fill_seconds = time.perf_counter() - started

    body = {
        "text": "Hello",
        "raw_html": "<p>Hello <b>there</b></p>",
        "html": "<p>Hello <b>there</b></p>",
        "has_remote_content": False,
        "cid_parts": [],
        "attachments": [],
    }
    cache.set(bodycache.cache_key(account.id, inbox, count), body, 600)

    client = Client()
    client.force_login(user)
    base = f"/mail/{account.id}/{inbox.id}/"
    deep = Message.objects.get(folder=inbox, uid=count // 2)
    # The "older messages" link of the page above this message carries this.
    from webmail.mail.reading import _cursor

    deep_cursor = _cursor(deep)

    def get(
        path: str, headers: dict[str, str] | None = None, **params: str
    ) -> Callable[[], object]:
        def run() -> object:
            response = client.get(path, params, headers=headers)
            assert response.status_code == 200, (path, response.status_code)
            return response

        return run

    rows = [
        ("folder page, newest 50", get(base)),
        ("folder page, halfway down", get(base, before=deep_cursor)),
        (
            "folder list refresh (htmx)",
            get(base, headers={"HX-Request": "true", "HX-Target": "list"}),
        ),
        ("message page (body cached)", get(f"{base}{count}/")),
        ("message body frame", get(f"{base}{count}/body")),
    ]
    print(f"{count} cached messages in INBOX (filled in {fill_seconds:.1f} s)")
    print(f"{'what':<34} {'p50 ms':>8} {'p95 ms':>8}")
    for label, run in rows:
        p50, p95 = timed(run, repeat)
        print(f"{label:<34} {p50:>8.1f} {p95:>8.1f}")


if __name__ == "__main__":
    main()
