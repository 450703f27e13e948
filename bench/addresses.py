"""What address autocomplete costs with 10,000 collected addresses.

Usage: python bench/addresses.py [--addresses 10000] [--contacts 200] [--queries 400]

On SQLite (a new database in a temporary directory) by default, or on the
database DATABASE_URL names (PostgreSQL: give it a database of its own,
the bench migrates it and removes its user afterwards). It collects the
addresses through the worker's own code (webmail.engine.addresses), with
Western and Japanese names, uses spread over two years, adds address-book
entries, then asks the autocomplete endpoint's view what 1 to 4 typed
characters match, as a user typing would (the start of an address, of a
first name, of a family name in kanji or kana, and text nothing matches).

It prints p50 and p95 of the view's time (the queries and the JSON, not
the sign-in middleware), its CPU time in this process (on SQLite that
includes the database's work) beside the load average, and the time to
collect the addresses.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

WESTERN_FIRST = [
    "Anna",
    "Ben",
    "Carla",
    "David",
    "Emma",
    "Frank",
    "Grace",
    "Henry",
    "Iris",
    "Jack",
    "Kate",
    "Liam",
]
WESTERN_LAST = [
    "Smith",
    "Jones",
    "Brown",
    "Miller",
    "Davis",
    "Garcia",
    "Wilson",
    "Moore",
    "Taylor",
    "Clark",
]
JAPANESE_FAMILY = [
    "山田",
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "伊藤",
    "渡辺",
    "中村",
    "小林",
    "加藤",
    "さとう",
    "たなか",
]
JAPANESE_GIVEN = [
    "太郎",
    "花子",
    "一郎",
    "由美",
    "健",
    "美咲",
    "翔太",
    "さくら",
    "ゆうき",
    "陽菜",
]
ROMAJI = [
    "yamada",
    "sato",
    "suzuki",
    "takahashi",
    "tanaka",
    "ito",
    "watanabe",
    "nakamura",
    "kobayashi",
]
DOMAINS = [
    "example.com",
    "example.net",
    "example.org",
    "example.jp",
    "mail.example.co.jp",
]


def _setup(data_dir: str) -> None:
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    os.environ.setdefault(
        "CREDENTIALS_KEYS", "oyTMOES_hzCt5G021bSMxv4PgkRM4XOPfWs9jHVlKnM="
    )
    os.environ.setdefault("WEBMAIL_HTTPS", "false")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:1/0")
    os.environ["WEBMAIL_DATA_DIR"] = data_dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "webmail.settings"
    import django

    django.setup()


def _person(rng: random.Random, n: int) -> tuple[str, str]:
    domain = rng.choice(DOMAINS)
    if rng.random() < 0.4:
        family, given = rng.choice(JAPANESE_FAMILY), rng.choice(JAPANESE_GIVEN)
        return f"{family} {given}", f"{rng.choice(ROMAJI)}.{n}@{domain}"
    first, last = rng.choice(WESTERN_FIRST), rng.choice(WESTERN_LAST)
    if rng.random() < 0.2:
        return "", f"{first.lower()}{n}@{domain}"
    return f"{first} {last}", f"{first.lower()}.{last.lower()}{n}@{domain}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--addresses", type=int, default=10_000)
    parser.add_argument("--contacts", type=int, default=200)
    parser.add_argument("--queries", type=int, default=400)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-addresses-") as data_dir:
        _setup(data_dir)
        run(options)


def run(options: argparse.Namespace) -> None:
    # Django's models load only once it is set up (main).
    from django.core.management import call_command
    from django.db import connection
    from django.test import RequestFactory
    from django.utils import timezone

    from accounts.models import User
    from webmail.engine.addresses import Use, record_uses
    from webmail.mail.addresses import save_contact
    from webmail.views.addresses import suggest_view

    call_command("migrate", "--noinput", verbosity=0)
    user = User.objects.create_user(f"bench-{uuid.uuid4().hex[:8]}", password=None)
    try:
        rng = random.Random(7)
        now = timezone.now()
        people = [_person(rng, n) for n in range(options.addresses)]
        started = time.perf_counter()
        for start in range(0, len(people), 1000):
            uses = [
                Use(address, name, now - timedelta(days=rng.uniform(0, 730)))
                for name, address in people[start : start + 1000]
                for _ in range(rng.choice((1, 1, 1, 2, 3, 5, 12)))
            ]
            record_uses(user.id, uses)
        collected = time.perf_counter() - started
        for name, address in rng.sample(people, options.contacts):
            save_contact(user, name, address)
        with connection.cursor() as cursor:
            # The statistics a database keeps up to date by itself (autovacuum).
            cursor.execute("ANALYZE")

        typed: list[str] = []
        for _ in range(options.queries):
            name, address = rng.choice(people)
            words = name.split() or [address]
            source = rng.choice([address, words[0], words[-1]])
            typed.append(source[: rng.randint(1, 4)])
        typed += ["zzq", "ほげ", "xyz@"] * (options.queries // 30)

        factory = RequestFactory()

        cpu: list[float] = []

        def ask(text: str) -> float:
            request = factory.get("/mail/addresses", {"q": text})
            request.user = user
            begin, begin_cpu = time.perf_counter(), time.process_time()
            response = suggest_view(request)
            assert response.status_code == 200
            cpu.append((time.process_time() - begin_cpu) * 1000)
            return (time.perf_counter() - begin) * 1000

        for text in typed[:30]:
            ask(text)  # warm-up
        cpu.clear()
        times = sorted(ask(text) for text in typed)
        p50, p95 = statistics.median(times), times[int(len(times) * 0.95) - 1]
        cpu.sort()
        cpu50, cpu95 = statistics.median(cpu), cpu[int(len(cpu) * 0.95) - 1]
        print(
            f"database: {connection.vendor}; {options.addresses} collected addresses, "
            f"{options.contacts} in the address book"
        )
        print(f"collecting them (record_uses, 1,000 a batch): {collected:.1f} s")
        print(
            f"autocomplete, {len(times)} requests: p50 {p50:.2f} ms, p95 {p95:.2f} ms"
        )
        # On a shared machine the wall clock also counts waiting for a core.
        print(
            f"  this process's CPU time: p50 {cpu50:.2f} ms, p95 {cpu95:.2f} ms "
            f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
        )
        if os.environ.get("BENCH_DETAIL"):
            for text in [
                "a",
                "an",
                "山",
                "山田",
                "zzq",
                "ほげ",
                "xyz@",
                "yama",
                "jack",
            ]:
                print(repr(text), f"{min(ask(text) for _ in range(5)):.2f} ms")
    finally:
        user.delete()


if __name__ == "__main__":
    main()
