"""The operator pages: users, passwords, 2FA, import, audit log."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts import twofactor
from accounts.models import AuditEvent, User
from tests.accounts.conftest import PASSWORD, sign_in
from tests.accounts.test_twofactor import enrol

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "another long passphrase 9"


@pytest.fixture
def operator_client(staff: User) -> Client:
    client = Client()
    sign_in(client, staff.username)
    return client


def test_it_lists_users_with_sign_in_and_session_facts(
    operator_client: Client, alice: User
):
    sign_in(Client(), "alice")
    page = operator_client.get("/manage/")
    row = next(r for r in page.context["rows"] if r.user == alice)
    assert row.sessions == 1
    assert row.last_sign_in is not None
    assert row.usage is None  # filled in by the IMAP engine later


def test_it_creates_a_user_with_a_checked_password(operator_client: Client):
    weak = operator_client.post(
        "/manage/users/new/", {"username": "dave", "password": "dave"}
    )
    assert weak.status_code == 200
    assert not User.objects.filter(username="dave").exists()
    operator_client.post(
        "/manage/users/new/",
        {"username": "dave", "email": "dave@example.org", "password": NEW_PASSWORD},
    )
    dave = User.objects.get(username="dave")
    assert dave.check_password(NEW_PASSWORD)
    event = AuditEvent.objects.get(kind="admin", username="dave")
    assert event.actor == "operator"


def test_disabling_a_user_ends_their_sessions(operator_client: Client, alice: User):
    alice_client = Client()
    sign_in(alice_client, "alice")
    operator_client.post(
        f"/manage/users/{alice.id}/",
        {"username": "alice", "email": "alice@example.org", "is_active": ""},
    )
    alice.refresh_from_db()
    assert not alice.is_active
    assert alice_client.get("/").status_code == 302
    assert "is_active=False" in AuditEvent.objects.filter(kind="admin").first().detail


def test_setting_a_password_signs_the_user_out(operator_client: Client, alice: User):
    alice_client = Client()
    sign_in(alice_client, "alice")
    operator_client.post(
        f"/manage/users/{alice.id}/password/", {"password": NEW_PASSWORD}
    )
    assert alice_client.get("/").status_code == 302
    assert sign_in(Client(), "alice", NEW_PASSWORD).status_code == 302


def test_requiring_2fa_for_a_user(operator_client: Client, alice: User):
    operator_client.post(
        f"/manage/users/{alice.id}/",
        {
            "username": "alice",
            "email": "alice@example.org",
            "is_active": "on",
            "require_2fa": "on",
        },
    )
    alice.refresh_from_db()
    assert twofactor.is_required(alice)


def test_deleting_a_user_keeps_the_audit_trail(operator_client: Client, alice: User):
    sign_in(Client(), "alice")
    operator_client.post(f"/manage/users/{alice.id}/delete/")
    assert not User.objects.filter(username="alice").exists()
    assert AuditEvent.objects.filter(username="alice", kind="signin").exists()
    assert AuditEvent.objects.filter(username="alice", detail="user deleted").exists()


def test_deleting_a_user_asks_first_and_says_what_goes(
    operator_client: Client, alice: User
):
    page = operator_client.get(f"/manage/users/{alice.id}/").content.decode()
    assert f'href="/manage/users/{alice.id}/delete/"' in page
    asked = operator_client.get(f"/manage/users/{alice.id}/delete/").content.decode()
    assert "Delete alice?" in asked
    assert "The mail stays on the mail server." in asked
    assert User.objects.filter(id=alice.id).exists()
    japanese = Client(headers={"Accept-Language": "ja"})
    japanese.force_login(User.objects.get(is_staff=True))
    asked = japanese.get(f"/manage/users/{alice.id}/delete/").content.decode()
    assert "alice を削除しますか" in asked


def test_an_operator_cannot_delete_themselves(operator_client: Client, staff: User):
    operator_client.post(f"/manage/users/{staff.id}/delete/")
    assert User.objects.filter(id=staff.id).exists()


CSV_TEXT = (
    "username,email,password,is_staff,require_2fa\n"
    "erin,erin@example.org,,no,yes\n"
    "frank,frank@example.org,a fine long passphrase 7,no,no\n"
)


def upload(client: Client, text: str, dry_run: bool):
    data: dict[str, Any] = {
        "file": SimpleUploadedFile("users.csv", text.encode(), "text/csv")
    }
    if dry_run:
        data["dry_run"] = "on"
    return client.post("/manage/import/", data)


def test_an_import_dry_run_changes_nothing(operator_client: Client):
    response = upload(operator_client, CSV_TEXT, dry_run=True)
    report = response.context["report"]
    assert report.created == ["erin", "frank"]
    assert "Dry run: nothing was changed" in response.content.decode()
    assert not User.objects.filter(username__in=["erin", "frank"]).exists()


def test_an_import_creates_users(operator_client: Client):
    upload(operator_client, CSV_TEXT, dry_run=False)
    erin = User.objects.get(username="erin")
    assert erin.require_2fa and not erin.has_usable_password()
    assert User.objects.get(username="frank").check_password("a fine long passphrase 7")


def test_an_import_with_a_bad_line_imports_nothing(operator_client: Client):
    text = CSV_TEXT + "grace,not-an-address,,no,no\n"
    response = upload(operator_client, text, dry_run=False)
    assert "line 4" in response.content.decode()
    assert not User.objects.filter(username="erin").exists()


def test_the_audit_log_filters_and_exports(operator_client: Client, alice: User):
    sign_in(Client(), "alice", "wrong")
    sign_in(Client(), "bob-not-here", "wrong")
    AuditEvent.objects.create(kind="signin_failed", username="=HYPERLINK(1)")
    page = operator_client.get("/manage/audit/?kind=signin_failed&username=alice")
    assert [e.username for e in page.context["events"]] == ["alice"]

    export = operator_client.get(
        "/manage/audit/export.csv?kind=signin_failed&username="
    )
    assert export["Content-Type"].startswith("text/csv")
    text = b"".join(export.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["time", "kind", "user", "actor", "ip", "detail"]
    users = {row[2] for row in rows[1:]}
    assert {"alice", "bob-not-here", "'=HYPERLINK(1)"} <= users
    assert "operator" not in users


def test_an_operator_can_clear_a_lockout(operator_client: Client, alice: User):
    from django.conf import settings

    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(Client(REMOTE_ADDR="192.0.2.50"), "alice", "wrong")
    assert sign_in(Client(REMOTE_ADDR="192.0.2.51"), "alice").status_code == 429
    operator_client.post(f"/manage/users/{alice.id}/unlock/")
    assert sign_in(Client(REMOTE_ADDR="192.0.2.51"), "alice").status_code == 302


def test_django_admin_changes_reach_the_audit_log(operator_client: Client):
    staff = User.objects.get(username="operator")
    staff.is_superuser = True
    staff.save()
    operator_client.post(
        "/admin/accounts/maildomain/add/",
        {
            "domain": "example.net",
            "imap_host": "imap.example.net",
            "imap_port": "993",
            "imap_security": "ssl",
            "smtp_host": "",
            "smtp_port": "465",
            "smtp_security": "ssl",
        },
    )
    event = AuditEvent.objects.get(kind="admin", username="example.net")
    assert event.actor == "operator"
    assert "Django admin" in event.detail


def test_staff_cannot_take_over_a_superuser(operator_client: Client, alice: User):
    alice.is_superuser = True
    alice.save()
    response = operator_client.post(
        f"/manage/users/{alice.id}/password/", {"password": NEW_PASSWORD}
    )
    assert response.status_code == 403
    assert operator_client.get(f"/manage/users/{alice.id}/").status_code == 403
    alice.refresh_from_db()
    assert not alice.check_password(NEW_PASSWORD)


def test_an_import_cannot_change_a_superuser(operator_client: Client, alice: User):
    alice.is_superuser = True
    alice.save()
    text = "username,password\nalice,a fine long passphrase 7\n"
    response = upload(operator_client, text, dry_run=False)
    assert "only a superuser may change alice" in response.content.decode()
    alice.refresh_from_db()
    assert not alice.check_password("a fine long passphrase 7")


def test_an_operator_edits_a_user(operator_client: Client, alice: User):
    operator_client.post(
        f"/manage/users/{alice.id}/",
        {
            "username": "alice",
            "email": "alice@example.net",
            "first_name": "Alice",
            "is_active": "on",
        },
    )
    alice.refresh_from_db()
    assert (alice.email, alice.first_name) == ("alice@example.net", "Alice")
    event = AuditEvent.objects.get(kind="admin", username="alice")
    assert "email=alice@example.net" in event.detail
    assert event.actor == "operator"


def test_a_password_an_operator_sets_must_pass_the_validators(
    operator_client: Client, alice: User
):
    response = operator_client.post(
        f"/manage/users/{alice.id}/password/", {"password": "alice"}, follow=True
    )
    assert "too short" in response.content.decode()
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_an_operator_can_remove_a_users_two_factor_sign_in(
    operator_client: Client, alice: User
):
    alice_client = Client()
    sign_in(alice_client, "alice")
    enrol(alice_client, alice)
    page = operator_client.get(f"/manage/users/{alice.id}/").content.decode()
    assert "<dt>Two-factor sign-in</dt><dd>on</dd>" in page
    operator_client.post(f"/manage/users/{alice.id}/2fa/reset/")
    assert not twofactor.is_enabled(alice)
    # The password alone signs Alice in again.
    assert sign_in(Client(), "alice").status_code == 302
    event = AuditEvent.objects.get(kind="totp_disabled", username="alice")
    assert (event.actor, event.detail) == ("operator", "reset by an admin")


def test_the_user_page_shows_last_sign_in_and_sessions(
    operator_client: Client, alice: User
):
    page = operator_client.get(f"/manage/users/{alice.id}/").content.decode()
    assert "<dt>Last sign-in</dt><dd>never</dd>" in page
    sign_in(Client(HTTP_USER_AGENT="Alice Phone Browser"), "alice")
    alice.refresh_from_db()
    page = operator_client.get(f"/manage/users/{alice.id}/").content.decode()
    assert f"<dt>Last sign-in</dt><dd>{alice.last_login:%Y-%m-%d %H:%M}</dd>" in page
    assert "Alice Phone Browser" in page
    listing = operator_client.get("/manage/").content.decode()
    assert f"{alice.last_login:%Y-%m-%d %H:%M}" in listing
