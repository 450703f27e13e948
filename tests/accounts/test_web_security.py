"""Headers, cookies and CSRF: what a browser is told to enforce."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter

from accounts.models import User
from tests.accounts.conftest import PASSWORD, sign_in
from tests.test_settings import REPO, production_env

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
    # Scripts come from files (the CSP allows no other): none is written inline.
    assert re.findall(r"<script(?![^>]*\ssrc=)", page) == []


def _named_routes(
    patterns: list[Any], namespace: str = "", converters: dict[str, Any] | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(name with namespace, argument name -> converter) for every route."""
    for entry in patterns:
        inner = {**(converters or {}), **getattr(entry.pattern, "converters", {})}
        if isinstance(entry, URLResolver):
            space = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _named_routes(entry.url_patterns, space, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            yield namespace + entry.name, inner


def test_every_post_without_the_csrf_token_is_refused(db: None):
    # A superuser, so that no other refusal (staff only) can stand in for it.
    root = User.objects.create_superuser("root", "root@example.org", PASSWORD)
    client = Client(enforce_csrf_checks=True)
    client.force_login(root)
    checked = []
    for name, converters in _named_routes(get_resolver().url_patterns):
        if name.startswith("admin:"):
            continue  # regular-expression routes; a sample is below
        kwargs = {
            argument: 1 if isinstance(converter, IntConverter) else "x"
            for argument, converter in converters.items()
        }
        url = reverse(name, kwargs=kwargs)
        response = client.post(url, {})
        assert response.status_code == 403, f"POST {url}: {response.status_code}"
        assert b"CSRF" in response.content, url
        checked.append(url)
    for url in ("/admin/accounts/user/add/", f"/admin/accounts/user/{root.id}/change/"):
        response = client.post(url, {})
        assert response.status_code == 403 and b"CSRF" in response.content, url
    assert "/accounts/mail/add/" in checked and "/manage/import/" in checked
    # The control: with the token, the same client's POST goes through.
    token = client.get("/accounts/security/").cookies[settings.CSRF_COOKIE_NAME].value
    response = client.post("/accounts/logout/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/", "/accounts/security/", "/manage/"])
def test_signed_in_pages_carry_the_same_policy(staff: User, path: str):
    client = Client()
    sign_in(client, staff.username)
    response = client.get(path)
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    script = next(p for p in policy.split(";") if p.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script
    assert "frame-ancestors 'none'" in policy
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


PRODUCTION_VALUES = """
import json
import django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "hasher": s.PASSWORD_HASHERS[0],
    "validators": len(s.AUTH_PASSWORD_VALIDATORS),
    "ssl_redirect": s.SECURE_SSL_REDIRECT,
    "hsts": s.SECURE_HSTS_SECONDS,
    "hsts_subdomains": s.SECURE_HSTS_INCLUDE_SUBDOMAINS,
    "session_secure": s.SESSION_COOKIE_SECURE,
    "session_httponly": s.SESSION_COOKIE_HTTPONLY,
    "session_samesite": s.SESSION_COOKIE_SAMESITE,
    "csrf_secure": s.CSRF_COOKIE_SECURE,
    "csrf_samesite": s.CSRF_COOKIE_SAMESITE,
    "referrer": s.SECURE_REFERRER_POLICY,
    "frames": s.X_FRAME_OPTIONS,
    "keys_apart": s.CREDENTIALS_KEYS != [s.SECRET_KEY],
}))
"""


def test_production_settings_turn_every_protection_on():
    # What a deployment gets from its environment alone (no WEBMAIL_HTTPS).
    result = subprocess.run(
        [sys.executable, "-c", PRODUCTION_VALUES],
        cwd=REPO,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values == {
        "hasher": "accounts.passwords.Argon2Hasher",
        "validators": 5,
        "ssl_redirect": True,
        "hsts": 31536000,
        "hsts_subdomains": True,
        "session_secure": True,
        "session_httponly": True,
        "session_samesite": "Lax",
        "csrf_secure": True,
        "csrf_samesite": "Lax",
        "referrer": "same-origin",
        "frames": "DENY",
        "keys_apart": True,
    }
