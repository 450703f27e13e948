"""Headers, cookies and CSRF: what a browser is told to enforce."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import User
from tests.accounts.conftest import PASSWORD, sign_in

pytestmark = pytest.mark.django_db


def test_pages_carry_a_strict_content_security_policy(client: Client):
    response = client.get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    directives = {}
    for part in policy.split(";"):
        name, _, value = part.strip().partition(" ")
        directives[name] = value
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    assert directives["frame-ancestors"] == "'none'"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_sign_in_pages_are_not_cached(client: Client):
    response = client.get("/accounts/login/")
    assert "no-store" in response["Cache-Control"]


def test_state_changes_need_the_csrf_token(alice: User):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": PASSWORD}
    )
    assert response.status_code == 403
    client.force_login(alice)
    for path in (
        "/accounts/mail/add/",
        "/accounts/security/sessions/end-all/",
        "/accounts/logout/",
    ):
        assert client.post(path, {}).status_code == 403


def test_production_cookies_are_secure_httponly_and_samesite(alice: User, settings):
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_SSL_REDIRECT = False
    client = Client()
    page = client.get("/accounts/login/", secure=True)
    assert page["Strict-Transport-Security"].startswith("max-age=31536000")
    csrf_cookie = client.cookies[settings.CSRF_COOKIE_NAME]
    assert csrf_cookie["secure"]
    response = client.post(
        "/accounts/login/",
        {
            "username": "alice",
            "password": PASSWORD,
            "csrfmiddlewaretoken": csrf_cookie.value,
        },
        secure=True,
    )
    assert response.status_code == 302
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["secure"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"


def test_the_deploy_settings_turn_https_protections_on():
    # tests.settings runs without HTTPS; the production defaults are what
    # webmail/settings.py derives from WEBMAIL_HTTPS (checked by
    # `manage.py check --deploy` in CI). Here: the invariants that hold in
    # both.
    assert settings.SESSION_COOKIE_HTTPONLY
    assert settings.SESSION_COOKIE_SAMESITE in ("Lax", "Strict")
    assert settings.X_FRAME_OPTIONS == "DENY"


def test_signin_page_has_no_inline_script(client: Client):
    page = client.get("/accounts/login/").content.decode()
    assert "<script>" not in page
    assert "onclick=" not in page


def test_two_factor_page_uses_no_inline_markup_for_the_qr_code(alice: User):
    client = Client()
    sign_in(client, "alice")
    page = client.get("/accounts/security/2fa/").content.decode()
    assert "<svg" not in page
    assert "<script" not in page
