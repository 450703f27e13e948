"""Measure the CPU of the "Send" answer in this process, and what it asks for.

Usage: python bench/send_cpu.py [--sends 200] [--profile 25]

Runs the compose form's POST through Django's test client (with its CSRF
check, as a browser posts it), with a Redis of its own and SQLite in a work
directory, or DATABASE_URL when it is set. No worker runs: the view records
the message and leaves the request to the worker for after its answer,
which is left out of the figures as the page threads leave it out of the
wait. Prints the CPU time (time.process_time) per POST, the database
queries and Redis commands of one POST, and with --profile the functions
that take the most of it.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._inprocess import bench_account, run_in_process

TEXT = "Dear team,\n\n" + "The plan for the quarter, line by line.\n" * 60
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=200)
    parser.add_argument("--profile", type=int, default=0, help="functions to list")
    options = parser.parse_args()
    run_in_process("send-cpu", lambda _: run_bench(options.sends, options.profile))


def run_bench(sends: int, profile: int) -> None:
    import os

    os.environ["UNDO_SEND_SECONDS"] = "0"
    import django

    django.setup()
    import redis
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from webmail import after_response
    from webmail.models import Folder

    account = bench_account("bench")
    user = account.user
    for name in ("INBOX", "Drafts", "Sent", "Trash"):
        Folder.objects.create(
            account=account, name=name, display_name=name, path=[name], uidvalidity=1
        )
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    compose = f"/mail/{account.id}/compose/"
    page = client.get(compose)
    token = CSRF_INPUT.search(page.content.decode())
    assert page.status_code == 200 and token is not None, page.status_code

    commands = [0]
    original = redis.Redis.execute_command

    def counted(self: Any, *args: Any, **options: Any) -> Any:
        commands[0] += 1
        if os.environ.get("SHOW_REDIS"):
            print("redis:", args[:2])
        return original(self, *args, **options)

    redis.Redis.execute_command = counted  # type: ignore[method-assign]

    def post(n: int) -> None:
        form = {
            "csrfmiddlewaretoken": token[1],
            "to": "Carol <carol@example.org>",
            "subject": f"Quarterly plan, take {n}",
            "body": TEXT,
        }
        # As in the page threads: work left for after the answer waits.
        after_response._local.pending = []
        # Urlencoded, as the page's form posts it.
        reply = client.post(
            compose, urlencode(form), "application/x-www-form-urlencoded"
        )
        assert reply.status_code == 302, reply.status_code

    def after() -> None:
        after_response._run_pending()

    for n in range(5):  # warm up
        post(n)
        after()
    commands[0] = 0
    with CaptureQueriesContext(connection) as queries:
        post(5)
    answer_commands = commands[0]
    after()
    print(f"database: {connection.vendor}")
    print(f"queries in one POST: {len(queries.captured_queries)}")
    for query in queries.captured_queries:
        print("   ", query["sql"][:150])
    print(f"Redis commands in one POST (before its answer): {answer_commands}")

    samples = []
    profiler = cProfile.Profile(time.process_time) if profile else None
    for n in range(sends):
        started = time.process_time()
        if profiler:
            profiler.enable()
        post(n + 10)
        if profiler:
            profiler.disable()
        samples.append((time.process_time() - started) * 1000)
        after()
    samples.sort()
    print(
        f"CPU per POST: median {statistics.median(samples):.2f} ms, "
        f"mean {statistics.mean(samples):.2f} ms, over {sends}"
    )
    if profiler:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(profile)
        stats.sort_stats("tottime").print_stats(profile)


if __name__ == "__main__":
    main()
