"""Two-factor sign-in: enrolment by QR code, codes, recovery, requirement."""

from __future__ import annotations

import base64
import io
import re

import pytest
import qrcode
import qrcode.image.svg
from django.conf import settings
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


def test_the_qr_code_carries_the_apps_key(alice: User, client: Client, settings):
    sign_in(client, "alice")
    page = client.get("/accounts/security/2fa/")
    device = EncryptedTOTPDevice.objects.get(user=alice, confirmed=False)
    key = base64.b32encode(device.bin_key).decode().rstrip("=")
    # The enrolment address an app reads: the key, the issuer and the user.
    url = device.config_url
    assert url.startswith("otpauth://totp/")
    assert f"secret={key}" in url
    assert f"issuer={settings.OTP_TOTP_ISSUER}" in url
    assert "alice" in url
    # The image on the page is that address drawn as a QR code.
    html = page.content.decode()
    shown = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', html)
    assert shown is not None
    drawn = io.BytesIO()
    qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage).save(drawn)
    assert base64.b64decode(shown.group(1)) == drawn.getvalue()
    # And for apps without a camera, the same key to type.
    assert page.context["secret"].replace(" ", "") == key


def test_a_wrong_code_holds_back_the_next_try(alice: User, client: Client, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 60
    settings.OTP_STATIC_THROTTLE_FACTOR = 60
    sign_in(client, "alice")
    codes = enrol(client, alice)
    client.post("/accounts/logout/")
    device = EncryptedTOTPDevice.objects.get(user=alice, confirmed=True)

    guesser = Client()
    sign_in(guesser, "alice")
    guesser.post("/accounts/login/code/", {"code": "135791"})
    # Even the right code, or a recovery code, is refused for a while.
    for code in (totp_code(device, 1), codes[0]):
        page = guesser.post("/accounts/login/code/", {"code": code})
        assert "That code is not right" in page.content.decode()
    assert guesser.get("/").status_code == 302
    assert AuditEvent.objects.filter(kind="totp_failed", username="alice").count() == 3


def test_the_code_step_rotates_the_session_key(alice: User, client: Client):
    sign_in(client, "alice")
    enrol(client, alice)
    client.post("/accounts/logout/")
    device = EncryptedTOTPDevice.objects.get(user=alice, confirmed=True)

    fresh = Client()
    sign_in(fresh, "alice")
    pending = fresh.cookies[settings.SESSION_COOKIE_NAME].value
    assert pending
    fresh.post("/accounts/login/code/", {"code": totp_code(device, 1)})
    signed_in = fresh.cookies[settings.SESSION_COOKIE_NAME].value
    assert signed_in and signed_in != pending
    assert fresh.get("/").status_code == 200
    # The key that stood for the half-finished sign-in leads nowhere.
    old = Client()
    old.cookies[settings.SESSION_COOKIE_NAME] = pending
    assert old.get("/").status_code == 302
