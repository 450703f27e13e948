"""Write a generated demo/test mailbox into a Maildir++ directory."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from webmail.mailgen import Person, generate_maildir


class Command(BaseCommand):
    help = (
        "Write a realistic, reproducible mailbox (Maildir++) for demos, tests "
        "and benchmarks. Give Dovecot the files and run `doveadm index` after."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--maildir", required=True, type=Path)
        parser.add_argument("--count", required=True, type=int)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--inbox-share",
            type=float,
            default=0.8,
            help="fraction of the messages that go to INBOX (default 0.8)",
        )
        parser.add_argument("--owner-name", default="Demo User")
        parser.add_argument("--owner-address", default="demo@example.org")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["count"] < 0:
            raise CommandError("--count must not be negative.")
        if not 0.0 <= options["inbox_share"] <= 1.0:
            raise CommandError("--inbox-share must be between 0 and 1.")
        stats = generate_maildir(
            options["maildir"],
            count=options["count"],
            seed=options["seed"],
            inbox_share=options["inbox_share"],
            owner=Person(options["owner_name"], options["owner_address"]),
        )
        for name, folder in stats.folders.items():
            self.stdout.write(
                f"{name:<16} {folder.messages:>8} messages, {folder.seen:>8} seen, "
                f"{folder.flagged:>6} flagged, {folder.answered:>6} answered"
            )
        rate = stats.messages / stats.seconds if stats.seconds else 0.0
        self.stdout.write(
            f"Wrote {stats.messages} messages ({stats.bytes / 1e6:.1f} MB) to "
            f"{options['maildir']} in {stats.seconds:.2f} s ({rate:,.0f} messages/s)."
        )
