"""Re-encrypt every stored mail password under the newest key.

Put the new key first in CREDENTIALS_KEYS and keep the old ones after it,
run this command, then remove the old keys.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts import crypto
from accounts.models import MailAccount

FIELDS = ("imap_password_encrypted", "smtp_password_encrypted")


class Command(BaseCommand):
    help = "Re-encrypt stored mail passwords under the first CREDENTIALS_KEYS key."

    def handle(self, *args: Any, **options: Any) -> None:
        done = 0
        failed: list[str] = []
        with transaction.atomic():
            for account in MailAccount.objects.select_for_update().order_by("id"):
                changed = []
                for name in FIELDS:
                    token = getattr(account, name)
                    if not token:
                        continue
                    try:
                        setattr(account, name, crypto.rotate(token))
                    except crypto.CredentialError:
                        failed.append(f"{account.pk} ({name})")
                        continue
                    changed.append(name)
                if changed:
                    account.save(update_fields=changed)
                    done += 1
            if failed:
                raise CommandError(
                    "No key opens the passwords of mail accounts "
                    + ", ".join(failed)
                    + "; nothing was changed."
                )
        self.stdout.write(f"Re-encrypted the passwords of {done} mail accounts.")
