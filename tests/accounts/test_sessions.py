"""The session list, signing out one or every session, changing password."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User, UserSession
from tests.accounts.conftest import PASSWORD, sign_in

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a much longer new passphrase 2"


def test_it_lists_sessions_with_their_browsers(alice: User):
    laptop = Client(HTTP_USER_AGENT="Laptop Browser")
    phone = Client(HTTP_USER_AGENT="Phone Browser")
    sign_in(laptop, "alice")
    sign_in(phone, "alice")
    page = laptop.get("/accounts/security/").content.decode()
    assert "Laptop Browser" in page
    assert "Phone Browser" in page


def test_it_signs_out_one_other_session(alice: User):
    laptop, phone = Client(), Client()
    sign_in(laptop, "alice")
    sign_in(phone, "alice")
    phone_key = phone.session.session_key
    record = UserSession.objects.get(session_key=phone_key)
    laptop.post(f"/accounts/security/sessions/{record.id}/end/")
    assert phone.get("/").status_code == 302
    assert laptop.get("/").status_code == 200


def test_sign_out_everywhere_ends_every_session(alice: User):
    laptop, phone = Client(), Client()
    sign_in(laptop, "alice")
    sign_in(phone, "alice")
    laptop.post("/accounts/security/sessions/end-all/")
    assert phone.get("/").status_code == 302
    assert laptop.get("/").status_code == 302
    assert not UserSession.objects.filter(user=alice).exists()


def test_password_change_keeps_this_session_and_ends_the_others(alice: User):
    laptop, phone = Client(), Client()
    sign_in(laptop, "alice")
    sign_in(phone, "alice")
    response = laptop.post(
        "/accounts/security/password/",
        {
            "old_password": PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert laptop.get("/").status_code == 200
    assert phone.get("/").status_code == 302
    assert sign_in(Client(), "alice", NEW_PASSWORD).status_code == 302


def test_password_change_applies_the_validators(alice: User, client: Client):
    sign_in(client, "alice")
    response = client.post(
        "/accounts/security/password/",
        {"old_password": PASSWORD, "new_password1": "123", "new_password2": "123"},
    )
    assert response.status_code == 200
    assert "too short" in response.content.decode()


def test_a_redis_restart_keeps_everyone_signed_in(alice: User, redis_server):
    # Sessions are read from Redis, but the database has them too.
    laptop = Client()
    sign_in(laptop, "alice")
    assert laptop.get("/accounts/security/").status_code == 200
    redis_server.restart()  # every cached session is gone
    page = laptop.get("/accounts/security/")
    assert page.status_code == 200
    assert "Change your password" in page.content.decode()
