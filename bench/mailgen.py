"""Time writing a generated mailbox and having a real Dovecot index it.

Usage: python bench/mailgen.py --count 100000 [--seed 1] [--inbox-share 0.8]

Starts Dovecot (devtools) in a temporary directory, writes the mailbox into
a fresh user's Maildir, hands the files to the mail account, runs doveadm
index, checks the message count Dovecot sees, and prints the figures.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devtools.dovecot import make_traversable, start_dovecot
from webmail.mailgen import generate_maildir, index_mailbox

USERNAME = "bench"


def disk_usage(path: Path) -> int:
    """Return the bytes of disk blocks the files under path take."""
    total = 0
    for item in path.rglob("*"):
        if item.is_file():
            total += item.stat().st_blocks * 512
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--inbox-share", type=float, default=0.8)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    options = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="mailgen-bench-", dir="/tmp"))
    make_traversable(workdir)
    server = start_dovecot(workdir / "dovecot", quota_mb=100_000)
    try:
        server.add_user(USERNAME, "bench-password")
        maildir = server.maildir(USERNAME)

        stats = generate_maildir(
            maildir, count=options.count, seed=options.seed,
            inbox_share=options.inbox_share,
        )  # fmt: skip
        started = time.perf_counter()
        server.chown_mail(maildir.parent)
        chown_seconds = time.perf_counter() - started

        started = time.perf_counter()
        index_mailbox(server.doveadm, USERNAME)
        index_seconds = time.perf_counter() - started

        seen = 0
        for line in server.doveadm(
            "-f", "flow", "mailbox", "status", "-u", USERNAME, "messages", "*"
        ).splitlines():
            seen += int(line.rsplit("messages=", 1)[1])
        total = stats.seconds + chown_seconds + index_seconds
        print(f"messages written      {stats.messages:>12,}")
        print(f"messages in Dovecot   {seen:>12,}")
        print(f"message bytes         {stats.bytes / 1e6:>12,.1f} MB")
        print(f"size on disk          {disk_usage(maildir) / 1e6:>12,.1f} MB")
        print(f"write                 {stats.seconds:>12.2f} s "
              f"({stats.messages / stats.seconds:,.0f} messages/s)")  # fmt: skip
        print(f"chown                 {chown_seconds:>12.2f} s")
        print(f"doveadm index         {index_seconds:>12.2f} s "
              f"({seen / index_seconds:,.0f} messages/s)")  # fmt: skip
        print(f"total                 {total:>12.2f} s "
              f"({stats.messages / total:,.0f} messages/s)")  # fmt: skip
        if seen != stats.messages:
            raise SystemExit("Dovecot does not see every message written.")
    finally:
        server.stop()
        if options.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
