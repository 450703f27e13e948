"""Stored mail passwords: unreadable without the key, and rotatable."""

from __future__ import annotations

import base64
import hashlib
import io

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from accounts import crypto, mailaccounts
from accounts.models import MailAccount, User
from tests.accounts.test_otp_secrets import whole_database

pytestmark = pytest.mark.django_db


def test_a_database_dump_does_not_reveal_the_password(alice: User, bob: User):
    account = MailAccount.objects.get(user=alice)
    account.smtp_password = "smtp-secret-of-alice"
    account.save()
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    for text in (dump.getvalue(), whole_database()):
        for secret in ("mail-secret-of-", "smtp-secret-of-alice"):
            assert secret not in text
    with connection.cursor() as cursor:
        cursor.execute("SELECT imap_password_encrypted FROM accounts_mailaccount")
        stored = [row[0] for row in cursor.fetchall()]
    # Sealed, not blank: the key opens them again.
    assert len(stored) == 2 and all(value.startswith("gAAAAA") for value in stored)
    assert account.imap_password == "mail-secret-of-alice"


def test_without_a_key_no_password_is_stored(alice: User, settings):
    settings.CREDENTIALS_KEYS = []
    account = MailAccount.objects.get(user=alice)
    with pytest.raises(ImproperlyConfigured, match="CREDENTIALS_KEYS"):
        account.imap_password = "would be kept in clear"
    with pytest.raises(ImproperlyConfigured, match="CREDENTIALS_KEYS"):
        account.imap_password  # noqa: B018


def test_the_password_cannot_be_read_with_another_key(alice: User, settings):
    settings.CREDENTIALS_KEYS = [Fernet.generate_key().decode()]
    account = MailAccount.objects.get(user=alice)
    with pytest.raises(crypto.CredentialError):
        account.imap_password  # noqa: B018


def test_the_password_cannot_be_read_with_a_key_made_from_secret_key(
    alice: User, settings
):
    derived = base64.urlsafe_b64encode(
        hashlib.sha256(settings.SECRET_KEY.encode()).digest()
    ).decode()
    settings.CREDENTIALS_KEYS = [derived]
    account = MailAccount.objects.get(user=alice)
    with pytest.raises(crypto.CredentialError):
        account.imap_password  # noqa: B018


def test_rotation_leaves_every_account_working(
    alice: User, bob: User, imap_user, mail_certs, settings
):
    settings.MAIL_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    settings.MAIL_CA_FILE = str(mail_certs.ca_cert)
    server = imap_user.server
    working = MailAccount(
        user=alice,
        email=imap_user.address,
        imap_host=server.host,
        imap_port=server.imaps_port,
        imap_username=imap_user.username,
    )
    working.imap_password = imap_user.password
    working.smtp_password = "a separate smtp secret"
    working.save()
    old_key = settings.CREDENTIALS_KEYS[0]
    new_key = Fernet.generate_key().decode()

    settings.CREDENTIALS_KEYS = [new_key, old_key]
    out = io.StringIO()
    call_command("rotate_credentials", stdout=out)
    assert "Re-encrypted the passwords of 3 mail accounts" in out.getvalue()

    settings.CREDENTIALS_KEYS = [new_key]  # the old key is gone
    for account in MailAccount.objects.all():
        assert account.imap_password.startswith(("mail-secret-of-", imap_user.password))
    working.refresh_from_db()
    assert working.smtp_password == "a separate smtp secret"
    assert mailaccounts.test_account(working).ok


def test_rotation_changes_nothing_when_a_password_cannot_be_opened(
    alice: User, settings
):
    from django.core.management.base import CommandError

    settings.CREDENTIALS_KEYS = [Fernet.generate_key().decode()]
    before = MailAccount.objects.get(user=alice).imap_password_encrypted
    with pytest.raises(CommandError, match="nothing was changed"):
        call_command("rotate_credentials", stdout=io.StringIO())
    assert MailAccount.objects.get(user=alice).imap_password_encrypted == before
