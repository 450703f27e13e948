"""Two-factor sign-in: enrolment by QR code, codes, recovery, requirement."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from accounts import twofactor
from accounts.models import AuditEvent, EncryptedTOTPDevice, User
from tests.accounts.conftest import PASSWORD, sign_in, totp_code

pytestmark = pytest.mark.django_db


def enrol(client: Client, user: User) -> list[str]:
    """Set up an app for the signed-in user; return the recovery codes."""
    page = client.get("/accounts/security/2fa/")
    assert page.status_code == 200
    assert 'src="data:image/svg+xml;base64,' in page.content.decode()
    device = EncryptedTOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post("/accounts/security/2fa/", {"code": totp_code(device)})
    assert response.status_code == 200
    codes = response.context["codes"]
    assert len(codes) == twofactor.RECOVERY_CODES
    return list(codes)


def test_enrolment_turns_on_two_factor_sign_in(alice: User, client: Client):
    sign_in(client, "alice")
    enrol(client, alice)
    assert twofactor.is_enabled(alice)
    assert AuditEvent.objects.filter(kind="totp_enabled", username="alice").exists()
    # The session that enrolled stays signed in.
    assert client.get("/").status_code == 200
    page = client.get("/accounts/security/").content.decode()
    assert f"{twofactor.RECOVERY_CODES} recovery codes left" in page


def test_enrolment_refuses_a_wrong_code(alice: User, client: Client):
    sign_in(client, "alice")
    client.get("/accounts/security/2fa/")
    response = client.post("/accounts/security/2fa/", {"code": "000000"})
    assert "That code is not right" in response.content.decode()
    assert not twofactor.is_enabled(alice)


def test_sign_in_asks_for_the_code_after_the_password(alice: User, client: Client):
    sign_in(client, "alice")
    enrol(client, alice)
    client.post("/accounts/logout/")

    fresh = Client()
    response = sign_in(fresh, "alice")
    assert response["Location"].startswith("/accounts/login/code/")
    # The password alone does not sign in.
    assert fresh.get("/").status_code == 302

    wrong = fresh.post("/accounts/login/code/", {"code": "123456"})
    assert "That code is not right" in wrong.content.decode()
    assert fresh.get("/").status_code == 302

    device = EncryptedTOTPDevice.objects.get(user=alice, confirmed=True)
    device.throttle_reset()
    # The enrolment used this time step's code; the app's next one is due.
    ok = fresh.post("/accounts/login/code/", {"code": totp_code(device, 1)})
    assert ok.status_code == 302
    assert fresh.get("/").status_code == 200


def test_a_recovery_code_works_once(alice: User, client: Client):
    sign_in(client, "alice")
    codes = enrol(client, alice)
    client.post("/accounts/logout/")

    first = Client()
    sign_in(first, "alice")
    first.post("/accounts/login/code/", {"code": codes[0]})
    assert first.get("/").status_code == 200
    assert AuditEvent.objects.filter(kind="recovery_used").exists()

    second = Client()
    sign_in(second, "alice")
    response = second.post("/accounts/login/code/", {"code": codes[0]})
    assert "That code is not right" in response.content.decode()
    assert second.get("/").status_code == 302


def test_a_user_required_to_use_2fa_must_enrol_first(alice: User, client: Client):
    alice.require_2fa = True
    alice.save()
    sign_in(client, "alice")
    response = client.get("/accounts/mail/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/security/2fa/"
    page = client.get("/accounts/security/2fa/")
    assert "Your administrator requires two-factor sign-in" in page.content.decode()
    enrol(client, alice)
    assert client.get("/accounts/mail/").status_code == 200


@override_settings(REQUIRE_2FA=True)
def test_an_admin_can_require_2fa_for_everyone(bob: User, client: Client):
    sign_in(client, "bob")
    assert client.get("/")["Location"] == "/accounts/security/2fa/"


def test_a_session_that_skipped_the_code_is_signed_out(alice: User, client: Client):
    sign_in(client, "alice")
    enrol(client, alice)
    other = Client()
    other.force_login(alice)  # a sign-in that never saw a code
    response = other.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_turning_off_needs_the_password(alice: User, client: Client):
    sign_in(client, "alice")
    enrol(client, alice)
    client.post("/accounts/security/2fa/disable/", {"password": "wrong"})
    assert twofactor.is_enabled(alice)
    client.post("/accounts/security/2fa/disable/", {"password": PASSWORD})
    assert not twofactor.is_enabled(alice)
