"""Signing in and out: passwords, lockout, disabled users, expired sessions."""

from __future__ import annotations

import logging
from datetime import timedelta
from importlib import import_module

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.test import Client
from django.utils import timezone

import webmail.settings as production
from accounts.models import AuditEvent, User
from tests.accounts.conftest import PASSWORD, sign_in

pytestmark = pytest.mark.django_db


def test_it_signs_in_and_rotates_the_session_key(alice: User, client: Client):
    client.get("/accounts/login/")
    client.session.save()  # an anonymous session, as a pending 2FA would make
    before = client.cookies[settings.SESSION_COOKIE_NAME].value
    response = sign_in(client, "alice")
    assert response.status_code == 302
    assert response["Location"] == "/"
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after and after != before
    assert client.get("/").status_code == 200


def test_a_wrong_password_gets_a_clear_message(alice: User, client: Client):
    response = sign_in(client, "alice", "not the password")
    assert response.status_code == 200
    assert "The user name or password is wrong." in response.content.decode()
    assert client.get("/").status_code == 302


def test_a_disabled_user_is_told_so(alice: User, client: Client):
    alice.is_active = False
    alice.save()
    response = sign_in(client, "alice")
    assert "This account has been disabled" in response.content.decode()
    assert client.get("/").status_code == 302


def test_a_disabled_user_with_a_wrong_password_learns_nothing(
    alice: User, client: Client
):
    alice.is_active = False
    alice.save()
    response = sign_in(client, "alice", "guess")
    assert "The user name or password is wrong." in response.content.decode()


def test_a_disabled_users_open_session_stops_working(alice: User, client: Client):
    sign_in(client, "alice")
    alice.is_active = False
    alice.save()
    assert client.get("/").status_code == 302


def test_it_locks_out_a_user_name_after_repeated_failures(alice: User, client: Client):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "alice", "wrong")
    # Even the right password is refused while the lockout lasts, from
    # another address too.
    other = Client(REMOTE_ADDR="192.0.2.7")
    response = sign_in(other, "alice")
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert other.get("/").status_code == 302
    assert AuditEvent.objects.filter(kind="locked_out", username="alice").exists()


def test_it_locks_out_an_address_that_tries_many_names(alice: User, bob: User):
    attacker = Client(REMOTE_ADDR="198.51.100.9")
    for n in range(settings.AXES_FAILURE_LIMIT):
        sign_in(attacker, f"nobody{n}", "wrong")
    response = sign_in(attacker, "bob")
    assert response.status_code == 429
    # Bob, elsewhere, is not affected.
    assert sign_in(Client(REMOTE_ADDR="192.0.2.8"), "bob").status_code == 302


def _session_stores() -> list[SessionBase]:
    engine = import_module(settings.SESSION_ENGINE)
    keys = Session.objects.values_list("session_key", flat=True)
    return [engine.SessionStore(key) for key in keys]


def test_an_expired_session_gets_a_clear_message(alice: User, client: Client):
    sign_in(client, "alice")
    for store in _session_stores():
        store.delete()
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/login/")
    assert "Your session has ended" in response.content.decode()


def test_a_session_past_its_expiry_gets_a_clear_message(alice: User, client: Client):
    sign_in(client, "alice")
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    for store in _session_stores():
        # Redis drops its copy at the same time (the key's TTL).
        caches[settings.SESSION_CACHE_ALIAS].delete(store.cache_key)
    response = client.get("/accounts/mail/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/login/")
    assert "Your session has ended" in response.content.decode()


def test_a_session_from_before_the_backend_was_renamed_stays_signed_in(
    alice: User, client: Client
):
    sign_in(client, "alice")
    (store,) = _session_stores()
    assert store[BACKEND_SESSION_KEY] == "accounts.backends.LocalUserBackend"
    # What a sign-in wrote before LocalUserBackend took ModelBackend's place.
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store.save()
    response = client.get("/accounts/mail/")
    assert response.status_code == 200
    assert response.wsgi_request.user == alice


def test_a_fresh_visit_gets_no_session_message(client: Client):
    response = client.get("/accounts/login/")
    assert "Your session has ended" not in response.content.decode()


def test_sign_out_needs_a_post(alice: User, client: Client):
    sign_in(client, "alice")
    assert client.get("/accounts/logout/").status_code == 405
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302


def test_the_admin_sign_in_goes_through_the_sign_in_page(client: Client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/admin/"


def test_sign_in_records_audit_events(alice: User, client: Client):
    sign_in(client, "alice", "wrong")
    sign_in(client, "alice")
    kinds = list(
        AuditEvent.objects.filter(username="alice").values_list("kind", flat=True)
    )
    assert "signin_failed" in kinds
    assert "signin" in kinds


def test_no_password_reaches_the_logs(
    alice: User, client: Client, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    sign_in(client, "alice", "wrong-secret-123")
    sign_in(client, "alice")
    assert caplog.records  # the sign-in code does log
    assert "wrong-secret-123" not in caplog.text
    assert PASSWORD not in caplog.text
    assert "mail-secret-of-alice" not in caplog.text


def test_passwords_are_hashed_with_argon2(alice: User, settings):
    # The suite hashes with MD5 for speed; production's list is used here.
    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS
    assert production.PASSWORD_HASHERS[0] == "accounts.passwords.Argon2Hasher"
    alice.set_password(PASSWORD)
    alice.save()
    assert alice.password.startswith("argon2$argon2id$")
    assert sign_in(Client(), "alice").status_code == 302


def test_an_older_hash_becomes_argon2_at_sign_in(alice: User, settings):
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        *production.PASSWORD_HASHERS,
    ]
    alice.set_password(PASSWORD)
    alice.save()
    assert alice.password.startswith("pbkdf2_sha256$")
    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS
    assert sign_in(Client(), "alice").status_code == 302
    alice.refresh_from_db()
    assert alice.password.startswith("argon2$")


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("x7#k", "too short"),
        ("qwertyuiop", "too common"),
        ("4815162342", "entirely numeric"),
        ("alice.example.org", "too similar"),
    ],
)
def test_djangos_password_validators_apply(
    alice: User, client: Client, password: str, reason: str
):
    sign_in(client, "alice")
    response = client.post(
        "/accounts/security/password/",
        {
            "old_password": PASSWORD,
            "new_password1": password,
            "new_password2": password,
        },
    )
    assert reason in response.content.decode()
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)
