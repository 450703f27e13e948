"""Nobody reaches another user's mail accounts or sessions; only staff manage."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import MailAccount, User, UserSession
from tests.accounts.conftest import sign_in

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    assert sign_in(client, user.username).status_code == 302
    return client


def account_of(user: User) -> MailAccount:
    return MailAccount.objects.get(user=user)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/accounts/mail/{id}/"),
        ("post", "/accounts/mail/{id}/"),
        ("post", "/accounts/mail/{id}/test/"),
        ("post", "/accounts/mail/{id}/delete/"),
    ],
)
def test_another_users_mail_account_is_404(
    alice: User, bob: User, charlie: User, method: str, path: str
):
    target = account_of(alice)
    for intruder in (bob, charlie):
        client = signed_in(intruder)
        response = getattr(client, method)(path.format(id=target.id))
        assert response.status_code == 404
    assert MailAccount.objects.filter(id=target.id).exists()
    # Alice herself gets her page.
    assert signed_in(alice).get(f"/accounts/mail/{target.id}/").status_code == 200


def test_a_missing_mail_account_is_the_same_404(alice: User):
    assert signed_in(alice).get("/accounts/mail/999999/").status_code == 404


def test_alice_sees_only_her_mail_accounts(alice: User, bob: User):
    page = signed_in(alice).get("/accounts/mail/").content.decode()
    assert "alice@example.org" in page
    assert "bob@example.org" not in page


def test_another_users_session_cannot_be_ended(alice: User, bob: User, charlie: User):
    alice_client = signed_in(alice)
    record = UserSession.objects.get(user=alice)
    for intruder in (bob, charlie):
        response = signed_in(intruder).post(
            f"/accounts/security/sessions/{record.id}/end/"
        )
        assert response.status_code == 404
    assert alice_client.get("/").status_code == 200


def test_alice_sees_only_her_sessions(alice: User, bob: User):
    signed_in(bob)
    page = signed_in(alice).get("/accounts/security/")
    keys = {s.session_key for s in page.context["sessions"]}
    assert keys == set(
        UserSession.objects.filter(user=alice).values_list("session_key", flat=True)
    )


MANAGE_PAGES = [
    ("get", "/manage/"),
    ("get", "/manage/users/new/"),
    ("get", "/manage/users/{id}/"),
    ("post", "/manage/users/{id}/"),
    ("post", "/manage/users/{id}/password/"),
    ("post", "/manage/users/{id}/2fa/reset/"),
    ("post", "/manage/users/{id}/sessions/end/"),
    ("post", "/manage/users/{id}/unlock/"),
    ("post", "/manage/users/{id}/delete/"),
    ("get", "/manage/import/"),
    ("get", "/manage/audit/"),
    ("get", "/manage/audit/export.csv"),
]


@pytest.mark.parametrize(("method", "path"), MANAGE_PAGES)
def test_a_non_staff_user_gets_no_operator_page(
    alice: User, bob: User, method: str, path: str
):
    response = getattr(signed_in(bob), method)(path.format(id=alice.id))
    assert response.status_code == 403
    alice.refresh_from_db()  # still there, unchanged


@pytest.mark.parametrize(("method", "path"), MANAGE_PAGES)
def test_an_anonymous_visitor_is_sent_to_sign_in(
    alice: User, client: Client, method: str, path: str
):
    response = getattr(client, method)(path.format(id=alice.id))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    "path", ["/admin/", "/admin/accounts/user/", "/admin/accounts/mailaccount/"]
)
def test_a_non_staff_user_gets_no_django_admin_page(bob: User, path: str):
    response = signed_in(bob).get(path, follow=True)
    assert response.status_code == 403
    assert "Site administration" not in response.content.decode()


def test_staff_reach_the_operator_and_admin_pages(staff: User, alice: User):
    client = signed_in(staff)
    assert client.get("/manage/").status_code == 200
    assert client.get(f"/manage/users/{alice.id}/").status_code == 200
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/security/",
        "/accounts/security/2fa/",
        "/accounts/security/password/",
        "/accounts/mail/",
        "/accounts/mail/add/",
        "/manage/",
        "/manage/users/new/",
        "/manage/import/",
        "/manage/audit/",
        "/manage/audit/?kind=signin&username=x&since=2026-01-01&until=2026-12-31",
    ],
)
def test_every_page_renders_for_an_operator(staff: User, path: str):
    response = signed_in(staff).get(path)
    assert response.status_code == 200
    assert "<form" in response.content.decode()
