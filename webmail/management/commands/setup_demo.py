"""Create or update a demo sign-in and its mail account (IMAP and SMTP)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from accounts.models import Identity, MailAccount, Security, User


class Command(BaseCommand):
    help = "Create or update the demo user and point it at the demo Dovecot."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--login", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--address", required=True)
        parser.add_argument("--imap-host", default="127.0.0.1")
        parser.add_argument("--imap-port", type=int, required=True)
        parser.add_argument("--smtp-host", default="127.0.0.1")
        parser.add_argument(
            "--smtp-port",
            type=int,
            help="the demo's mail server (STARTTLS, the same login); none if left out",
        )

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        user, created = User.objects.get_or_create(username=options["login"])
        if created:
            user.set_password(options["password"])
            user.email = options["address"]
            user.save()
        account = MailAccount.objects.filter(
            user=user, email=options["address"]
        ).first() or MailAccount(user=user, email=options["address"])
        # The demo server's port can change between runs; its login cannot.
        account.imap_host = options["imap_host"]
        account.imap_port = options["imap_port"]
        account.imap_security = Security.SSL
        account.imap_username = options["address"]
        account.imap_password = options["password"]
        if options["smtp_port"] is not None:
            account.smtp_host = options["smtp_host"]
            account.smtp_port = options["smtp_port"]
            account.smtp_security = Security.STARTTLS
            account.smtp_username = options["address"]
            account.smtp_password = options["password"]
        account.save()
        if not account.identities.exists():
            Identity.objects.create(
                account=account,
                name=options["login"].capitalize(),
                email=options["address"],
                signature=f"{options['login'].capitalize()}, trying the webmail",
                is_default=True,
            )
        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} the demo user {user.username!r}.")
