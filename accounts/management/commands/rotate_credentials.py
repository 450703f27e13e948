"""Re-encrypt every stored secret under the newest key.

The secrets are the mail passwords, the authenticator apps' TOTP keys and
the recovery codes. Put the new key first in CREDENTIALS_KEYS and keep the
old ones after it, run this command, then remove the old keys.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import models, transaction

from accounts import crypto
from accounts.models import EncryptedTOTPDevice, MailAccount, RecoveryCode

# Each model with the fields that hold encrypted secrets.
SEALED: tuple[tuple[type[models.Model], tuple[str, ...]], ...] = (
    (MailAccount, ("imap_password_encrypted", "smtp_password_encrypted")),
    (EncryptedTOTPDevice, ("key_encrypted",)),
    (RecoveryCode, ("code_encrypted",)),
)


def _rotate_rows(
    model: type[models.Model], fields: tuple[str, ...], failed: list[str]
) -> int:
    done = 0
    for row in model._default_manager.select_for_update().order_by("pk"):
        changed = []
        for name in fields:
            token = getattr(row, name)
            if not token:
                continue
            try:
                setattr(row, name, crypto.rotate(token))
            except crypto.CredentialError:
                failed.append(f"{model._meta.verbose_name} {row.pk} ({name})")
                continue
            changed.append(name)
        if changed:
            row.save(update_fields=changed)
            done += 1
    return done


class Command(BaseCommand):
    help = (
        "Re-encrypt stored mail passwords, TOTP keys and recovery codes under "
        "the first CREDENTIALS_KEYS key."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        failed: list[str] = []
        with transaction.atomic():
            accounts, devices, codes = (
                _rotate_rows(model, fields, failed) for model, fields in SEALED
            )
            if failed:
                raise CommandError(
                    "No key opens the secrets of "
                    + ", ".join(failed)
                    + "; nothing was changed."
                )
        self.stdout.write(
            f"Re-encrypted the passwords of {accounts} mail accounts, "
            f"{devices} TOTP keys and {codes} recovery codes."
        )
