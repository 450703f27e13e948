"""The session list, signing out one or every session, changing password."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts import audit
from accounts.models import AuditKind, User, UserSession
from tests.accounts.conftest import PASSWORD, sign_in

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a much longer new passphrase 2"


CHROME_ON_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36"
)
FIREFOX_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
)


def test_it_lists_sessions_by_browser_and_system(alice: User):
    laptop = Client(HTTP_USER_AGENT=FIREFOX_ON_WINDOWS)
    phone = Client(HTTP_USER_AGENT=CHROME_ON_ANDROID)
    sign_in(laptop, "alice")
    sign_in(phone, "alice")
    page = laptop.get("/accounts/security/").content.decode()
    assert "Firefox on Windows" in page
    assert "Chrome Mobile on Android" in page
    # The raw string only as a tooltip, and this browser marked.
    assert f'title="{FIREFOX_ON_WINDOWS}"' in page
    assert "<strong>this browser</strong>" in page


def test_a_browser_nobody_knows_is_said_so(alice: User):
    odd = Client(HTTP_USER_AGENT="")
    sign_in(odd, "alice")
    assert "Unknown browser" in odd.get("/accounts/security/").content.decode()


def test_the_sessions_list_pages_past_50(alice: User):
    browsers = [Client(HTTP_USER_AGENT=CHROME_ON_ANDROID) for _ in range(54)]
    for browser in browsers:
        sign_in(browser, "alice")
    laptop = browsers[-1]

    first = laptop.get("/accounts/security/").content.decode()
    second = laptop.get("/accounts/security/?page=2").content.decode()

    assert first.count("Chrome Mobile on Android") == 50
    assert "Page 1 of 2" in first
    assert 'href="?page=2"' in first
    assert second.count("Chrome Mobile on Android") == 4


def test_the_audit_log_pages_past_50(staff: User, alice: User):
    for n in range(60):
        audit.record(AuditKind.SIGNIN_FAILED, user=alice, detail=f"try {n}")
    operator = Client()
    sign_in(operator, staff.username)

    first = operator.get("/manage/audit/?kind=signin_failed").content.decode()
    second = operator.get("/manage/audit/?kind=signin_failed&page=2")

    assert first.count("try ") == 50
    assert "try 59" in first and "try 9<" not in first
    assert 'href="?kind=signin_failed&amp;page=2"' in first
    assert second.content.decode().count("try ") == 10


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
