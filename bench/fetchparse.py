"""Time parsing FETCH summaries: imapclient's parser against webmail's own.

Usage: python bench/fetchparse.py [--count 5000] [--seed 1] [--rounds 5]

Starts Dovecot (devtools) in a temporary directory, writes a generated
mailbox (webmail.mailgen) of --count messages into INBOX, captures the raw
untagged responses of one summary FETCH (the items fetch_summaries asks for),
then prints messages/s for parsing them with imapclient's
parse_fetch_response and with webmail.imap.fetchparse (best of --rounds, taking turns),
and for fetch_summaries end to end with each parser.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from imapclient.response_parser import parse_fetch_response

from devtools.dovecot import make_traversable, start_dovecot
from webmail.imap import connect, fetchparse, parse
from webmail.imap.messages import SUMMARY_ITEMS
from webmail.imap.wire import Raw, ResponseItem
from webmail.mailgen import generate_maildir, index_mailbox

USERNAME = "bench@example.org"
PASSWORD = "bench-password"  # noqa: S105 - a throwaway local account

Parser = Callable[[int, list[ResponseItem]], dict[bytes, Any]]


def imapclient_parse(number: int, items: list[ResponseItem]) -> dict[bytes, Any]:
    """What parse.parse_fetch did before fetchparse: imapclient alone."""
    head = items[0]
    prefix = b"%d " % number
    first: ResponseItem = (
        prefix + head if isinstance(head, bytes) else (prefix + head[0], head[1])
    )
    parsed = parse_fetch_response(
        [first, *items[1:]], normalise_times=False, uid_is_key=False
    )
    return dict(parsed.get(number, {}))


def best_rates(
    count: int,
    rounds: int,
    runs: dict[str, Callable[[], object]],
    clock: Callable[[], float],
) -> dict[str, float]:
    """Return count / the fastest of rounds runs of each, in messages per second.

    The runs take turns, so load from other processes falls on each alike.
    """
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(rounds):
        for name, run in runs.items():
            started = clock()
            run()
            best[name] = min(best[name], clock() - started)
    return {name: count / seconds for name, seconds in best.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="fetchparse-bench-", dir="/tmp"))
    make_traversable(workdir)
    server = start_dovecot(workdir / "dovecot", quota_mb=100_000)
    try:
        server.add_user(USERNAME, PASSWORD)
        maildir = server.maildir(USERNAME)
        generate_maildir(
            maildir, count=options.count, seed=options.seed, inbox_share=1.0
        )
        server.chown_mail(maildir.parent)
        index_mailbox(server.doveadm, USERNAME)

        session = connect(
            server.host,
            server.imap_port,
            security="starttls",
            username=USERNAME,
            password=PASSWORD,
            ca_file=str(server.ca_cert_path),
            timeout=120.0,
        )
        session.select("INBOX")
        items = SUMMARY_ITEMS + (b" MODSEQ" if session.condstore else b"")
        response = session._run(Raw(b"UID FETCH 1:*"), Raw(b"(" + items + b")"))
        fetches = []
        for untagged in response.untagged:
            kind, number, rest = parse.classify(untagged)
            if kind == "FETCH" and number is not None:
                fetches.append((number, rest))
        count = len(fetches)
        for number, rest in fetches:
            if fetchparse.parse_fetch(number, rest) != imapclient_parse(number, rest):
                raise SystemExit(f"The parsers disagree on message {number}.")
        literals = sum(isinstance(item, tuple) for _, rest in fetches for item in rest)
        size = sum(
            len(item if isinstance(item, bytes) else item[0] + item[1])
            for _, rest in fetches
            for item in rest
        )

        def parse_all(parse_one: Parser) -> Callable[[], object]:
            return lambda: [parse_one(number, rest) for number, rest in fetches]

        # Parsing alone is timed in this process's CPU seconds: on a shared
        # machine, time spent waiting for a core is not the parser's.
        parsing = best_rates(
            count,
            options.rounds,
            {
                "imapclient": parse_all(imapclient_parse),
                "fetchparse": parse_all(fetchparse.parse_fetch),
                "parse.parse_fetch": parse_all(parse.parse_fetch),
            },
            time.process_time,
        )

        def summaries_with(parse_one: Parser) -> Callable[[], object]:
            def run() -> object:
                with mock.patch.object(parse, "parse_fetch", parse_one):
                    return session.fetch_summaries("1:*")

            return run

        # End to end includes Dovecot's work and the network: wall time.
        end_to_end = best_rates(
            count,
            options.rounds,
            {
                "imapclient": summaries_with(imapclient_parse),
                "fetchparse": summaries_with(fetchparse.parse_fetch),
            },
            time.perf_counter,
        )
        session.logout()

        print(f"FETCH responses        {count:>10,} ({literals:,} literals)")
        print(f"response bytes         {size / 1e6:>10,.1f} MB")
        print("parsing only, CPU time (messages/s, per message):")
        for name, rate in parsing.items():
            print(f"  {name:<20} {rate:>10,.0f}  {1e3 / rate:.4f} ms")
        speedup = parsing["fetchparse"] / parsing["imapclient"]
        print(f"  speed-up             {speedup:>10.1f}x")
        print("fetch_summaries end to end, wall time (messages/s, per message):")
        for name, rate in end_to_end.items():
            print(f"  with {name:<15} {rate:>10,.0f}  {1e3 / rate:.4f} ms")
        speedup = end_to_end["fetchparse"] / end_to_end["imapclient"]
        print(f"  speed-up             {speedup:>10.1f}x")
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
