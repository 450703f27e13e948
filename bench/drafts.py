"""Time the compose page and its autosave through the real stack.

Usage: python bench/drafts.py [--saves 200] [--opens 100] [--database-url ...]

Starts the stack of bench/engine.py (Dovecot, Redis, a Celery worker,
uvicorn), signs a user in, and times over HTTP, as a browser tab:

- opening the compose page (GET), --opens times;
- an autosave answered (POST of the form to the draft's URL), --saves
  times back to back, each naming the version the last one answered, so
  that the worker collapses the saves that come while it stores one;
- how long after a save its version is in Drafts (the page's status GET,
  polled), for a save made once the worker is idle;

then reports how many copies of the draft Drafts holds (one is right).
Goals: autosave answered p50 <= 20 ms, compose page open p50 <= 30 ms.
Everything it starts it stops, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._support import PASSWORD, Client, Mailbox, Stack, Stat, fmt, millis, poll
from devtools.dovecot import make_traversable

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
TEXT = "Dear team,\n\n" + "The plan for the quarter, line by line.\n" * 60


def _form(token: str, version: int | None, n: int) -> dict[str, str]:
    return {
        "csrfmiddlewaretoken": token,
        "to": "Carol <carol@example.org>, dave@example.org",
        "cc": "",
        "bcc": "",
        "subject": f"Quarterly plan, take {n}",
        "body": TEXT + f"Take {n}.\n",
        "version": "" if version is None else str(version),
    }


def _token(draft_id: int) -> str:
    from webmail.models import Draft

    return Draft.objects.get(id=draft_id).token


def run(stack: Stack, saves: int, opens: int) -> None:
    mailbox = Mailbox(stack, 50)
    mailbox.create()
    client: Client = stack.client()
    client.sign_in(mailbox.login, PASSWORD)
    compose = f"/mail/{mailbox.account_id}/compose/"

    page = client.get(compose)
    token = CSRF_INPUT.search(page.body)
    assert page.status == 200 and token is not None, page.status
    opened = Stat()
    for _ in range(opens):
        opened.add(millis(lambda: client.get(compose)))

    phone = stack.imap(mailbox.address)
    uidnext = phone.folder_status("Drafts", [b"UIDNEXT"])[b"UIDNEXT"]
    first = client.post(f"/mail/{mailbox.account_id}/drafts/", _form(token[1], None, 0))
    answer = json.loads(first.body)
    url, version = answer["url"], answer["version"]
    answered = Stat()
    for n in range(1, saves + 1):
        started = time.perf_counter()
        reply = client.post(url, _form(token[1], version, n))
        answered.add((time.perf_counter() - started) * 1000)
        assert reply.status == 200, reply.status
        version = json.loads(reply.body)["version"]

    def stored() -> bool:
        state = json.loads(client.get(url).body)
        return bool(state["saved"]) and state["version"] == version

    poll(stored, timeout=60, interval=0.02)
    in_drafts = Stat()
    for n in range(saves + 1, saves + 11):
        reply = client.post(url, _form(token[1], version, n))
        version = json.loads(reply.body)["version"]
        in_drafts.add(millis(lambda: poll(stored, timeout=60, interval=0.005)))

    appends = phone.folder_status("Drafts", [b"UIDNEXT"])[b"UIDNEXT"] - uidnext
    phone.select_folder("Drafts", readonly=True)
    # The generated mailbox has drafts of its own: count this one's copies.
    copies = len(phone.search(["HEADER", "X-Webmail-Draft", _token(answer["id"])]))
    phone.logout()

    print(f"{'what':<40} {'p50 ms':>8} {'p95 ms':>8}")
    print(f"{'compose page opened':<40} {fmt(opened.p50):>8} {fmt(opened.p95):>8}")
    print(f"{'autosave answered':<40} {fmt(answered.p50):>8} {fmt(answered.p95):>8}")
    label = "autosave stored in Drafts (worker idle)"
    print(f"{label:<40} {fmt(in_drafts.p50):>8} {fmt(in_drafts.p95):>8}")
    print(f"{saves + 11} saves stored in {appends} APPENDs; copies in Drafts: {copies}")
    print("goals: autosave answered p50 <= 20 ms, compose page p50 <= 30 ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=200)
    parser.add_argument("--opens", type=int, default=100)
    parser.add_argument("--database-url", default=None)
    options = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="drafts-bench-", dir="/tmp"))
    make_traversable(root)
    stack = Stack(root, options.database_url)
    try:
        stack.start()
        run(stack, options.saves, options.opens)
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
