"""TOTP keys and recovery codes: unreadable in a dump, and rotatable."""

from __future__ import annotations

import base64
import io
import time

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django_otp.oath import TOTP

from accounts.models import EncryptedTOTPDevice, RecoveryCode, User
from tests.accounts.conftest import sign_in
from tests.accounts.test_twofactor import enrol


def code_for(secret: bytes, offset_steps: int = 0) -> str:
    """The code an app holding this secret shows (a later step if asked)."""
    totp = TOTP(secret, 30, 0, 6, 0)
    totp.time = time.time() + offset_steps * 30
    return f"{totp.token():06d}"


def whole_database() -> str:
    """Every row of every table, as raw SQL returns it."""
    rows: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            # Table names come from the database itself, not from input.
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608
            rows.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(rows)


@pytest.mark.django_db
def test_a_database_dump_holds_neither_the_secret_nor_the_recovery_codes(
    alice: User, client: Client
):
    sign_in(client, "alice")
    codes = enrol(client, alice)
    device = EncryptedTOTPDevice.objects.get(user=alice, confirmed=True)
    secret_hex = device.key
    secret_b32 = base64.b32encode(device.bin_key).decode().rstrip("=")

    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    for text in (dump.getvalue(), whole_database()):
        assert secret_hex not in text
        assert secret_b32 not in text
        assert secret_b32.lower() not in text
        for code in codes:
            assert code not in text
    # The codes are still there, only sealed.
    assert RecoveryCode.objects.filter(device__user=alice).count() == len(codes)


@pytest.mark.django_db
def test_after_key_rotation_two_factor_sign_in_still_works(
    alice: User, client: Client, settings
):
    sign_in(client, "alice")
    codes = enrol(client, alice)
    client.post("/accounts/logout/")
    secret = EncryptedTOTPDevice.objects.get(user=alice).bin_key
    old_key = settings.CREDENTIALS_KEYS[0]
    new_key = Fernet.generate_key().decode()

    settings.CREDENTIALS_KEYS = [new_key, old_key]
    out = io.StringIO()
    call_command("rotate_credentials", stdout=out)
    assert "1 TOTP keys and 10 recovery codes" in out.getvalue()
    settings.CREDENTIALS_KEYS = [new_key]  # the old key is gone

    app = Client()
    sign_in(app, "alice")
    # The enrolment used this time step's code; the app's next one is due.
    response = app.post("/accounts/login/code/", {"code": code_for(secret, 1)})
    assert response.status_code == 302
    assert app.get("/").status_code == 200

    recovery = Client()
    sign_in(recovery, "alice")
    recovery.post("/accounts/login/code/", {"code": codes[3]})
    assert recovery.get("/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_existing_devices(alice: User):
    before = [
        ("accounts", "0002_security"),
        ("otp_totp", "0003_add_timestamps"),
        ("otp_static", "0003_add_timestamps"),
    ]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old_apps = executor.loader.project_state(before).apps
    old_totp = old_apps.get_model("otp_totp", "TOTPDevice")
    old_static = old_apps.get_model("otp_static", "StaticDevice")
    old_token = old_apps.get_model("otp_static", "StaticToken")
    secret_hex = "3132333435363738393031323334353637383930"
    old_totp.objects.create(
        user_id=alice.pk, name="phone", confirmed=True, key=secret_hex
    )
    recovery = old_static.objects.create(user_id=alice.pk, name="codes", confirmed=True)
    old_token.objects.create(device=recovery, token="abcd2345")

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert secret_hex not in whole_database()
    assert "abcd2345" not in whole_database()
    device = EncryptedTOTPDevice.objects.get(user=alice)
    assert (device.name, device.confirmed, device.key) == ("phone", True, secret_hex)
    assert device.verify_token(code_for(bytes.fromhex(secret_hex)))
    assert [c.code for c in RecoveryCode.objects.filter(device__user=alice)] == [
        "abcd2345"
    ]


@pytest.mark.django_db
def test_the_admin_lists_devices_without_their_secrets(alice: User, client: Client):
    sign_in(client, "alice")
    enrol(client, alice)
    device = EncryptedTOTPDevice.objects.get(user=alice)
    admin = User.objects.create_superuser("root", "root@example.org", "pw-for-root-1")
    staff = Client()
    staff.force_login(admin)
    listing = staff.get("/admin/accounts/encryptedtotpdevice/")
    assert listing.status_code == 200
    assert "alice" in listing.content.decode()
    page = staff.get(f"/admin/accounts/encryptedtotpdevice/{device.pk}/change/")
    assert page.status_code == 200
    assert device.key not in page.content.decode()
    assert device.key_encrypted not in page.content.decode()
    # django-otp's own (plain-text) models are not offered.
    assert staff.get("/admin/otp_totp/totpdevice/").status_code == 404
