"""A session signed in with a code, when its device changes elsewhere.

django-otp checks on every request that the device which verified the
session is still there, confirmed and the user's; whether the user has
any device at all is cached (accounts.twofactor.has_any_device_cached),
so each change must reach the next request all the same.
"""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import EncryptedTOTPDevice, RecoveryCodeDevice, User
from tests.accounts.conftest import sign_in, totp_code

pytestmark = pytest.mark.django_db

PAGE = "/accounts/mail/"


def enrol(client: Client, user: User) -> EncryptedTOTPDevice:
    """Sign in and set up an app; the session is then verified by it."""
    sign_in(client, user.username)
    client.get("/accounts/security/2fa/")
    device = EncryptedTOTPDevice.objects.get(user=user, confirmed=False)
    answer = client.post("/accounts/security/2fa/", {"code": totp_code(device)})
    assert answer.status_code == 200
    assert client.get(PAGE).status_code == 200
    return EncryptedTOTPDevice.objects.get(user=user, confirmed=True)


def test_an_app_removed_by_an_admin_no_longer_verifies_the_session(
    alice: User, client: Client
):
    alice.require_2fa = True
    alice.save()
    enrol(client, alice)
    # What an admin's reset does (twofactor.disable).
    EncryptedTOTPDevice.objects.filter(user=alice).delete()
    RecoveryCodeDevice.objects.filter(user=alice).delete()
    answer = client.get(PAGE)
    assert answer.status_code == 302
    assert answer["Location"] == "/accounts/security/2fa/"


def test_a_session_verified_by_a_replaced_app_is_signed_out(
    alice: User, client: Client
):
    enrol(client, alice)
    # Another browser sets up a new app, which deletes the old one.
    EncryptedTOTPDevice.objects.filter(user=alice).delete()
    EncryptedTOTPDevice.objects.create(user=alice, name="New phone", confirmed=True)
    answer = client.get(PAGE)
    assert answer.status_code == 302
    assert answer["Location"].startswith("/accounts/login/")


def test_an_app_no_longer_confirmed_no_longer_verifies_the_session(
    alice: User, client: Client
):
    device = enrol(client, alice)
    device.confirmed = False
    device.save()
    # Her recovery codes are still a device, so the session is signed out.
    answer = client.get(PAGE)
    assert answer.status_code == 302
    assert answer["Location"].startswith("/accounts/login/")
