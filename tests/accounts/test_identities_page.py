"""The identities page of a mail account: list, add, change, remove, the default."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Identity, MailAccount, User
from webmail.mail import compose

pytestmark = pytest.mark.django_db


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _form(**fields: str) -> dict[str, str]:
    return {"name": "", "email": "", "reply_to": "", "signature": "", **fields}


def test_the_account_list_links_each_accounts_identities(alice):
    account = MailAccount.objects.get(user=alice)
    page = _client(alice).get("/accounts/mail/").content.decode()
    assert f"/accounts/mail/{account.id}/identities/" in page


def test_the_first_identity_added_is_the_default(alice):
    account = MailAccount.objects.get(user=alice)
    client = _client(alice)
    url = f"/accounts/mail/{account.id}/identities/add/"
    assert 'value="alice@example.org"' in client.get(url).content.decode()

    response = client.post(
        url,
        _form(
            name="山田 花子",
            email="hanako@example.jp",
            reply_to="team@example.jp",
            signature="山田 花子\r\n営業部",
        ),
    )

    assert response.status_code == 302
    identity = Identity.objects.get(account=account)
    assert identity.is_default
    assert identity.signature == "山田 花子\n営業部"
    listed = client.get(f"/accounts/mail/{account.id}/identities/").content.decode()
    assert "山田 花子" in listed and "team@example.jp" in listed


def test_a_bad_address_is_said_and_the_typing_kept(alice):
    account = MailAccount.objects.get(user=alice)
    response = _client(alice).post(
        f"/accounts/mail/{account.id}/identities/add/",
        _form(name="Alice", email="not an address", signature="Kept text"),
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Kept text" in page and "not an address" in page
    assert not Identity.objects.exists()


def test_editing_and_making_another_the_default(alice):
    account = MailAccount.objects.get(user=alice)
    work = Identity.objects.create(
        account=account, email="a@work.example", is_default=True
    )
    home = Identity.objects.create(account=account, email="a@home.example")
    client = _client(alice)

    client.post(
        f"/accounts/mail/{account.id}/identities/{home.id}/",
        _form(name="Alice", email="a@home.example", signature="Home"),
    )
    client.post(f"/accounts/mail/{account.id}/identities/{home.id}/default/")

    home.refresh_from_db()
    work.refresh_from_db()
    assert (home.name, home.signature, home.is_default) == ("Alice", "Home", True)
    assert not work.is_default


def test_removing_the_default_makes_the_next_one_default(alice):
    account = MailAccount.objects.get(user=alice)
    work = Identity.objects.create(
        account=account, email="a@work.example", is_default=True
    )
    home = Identity.objects.create(account=account, email="a@home.example")

    response = _client(alice).post(
        f"/accounts/mail/{account.id}/identities/{work.id}/delete/"
    )

    assert response.status_code == 302
    assert list(Identity.objects.filter(account=account)) == [home]
    home.refresh_from_db()
    assert home.is_default


def test_the_compose_form_offers_the_identities_with_their_signatures(alice):
    account = MailAccount.objects.get(user=alice)
    Identity.objects.create(
        account=account, email="a@work.example", signature="Work sig", is_default=True
    )
    Identity.objects.create(account=account, email="a@home.example", signature="Home")
    page = _client(alice).get(f"/mail/{account.id}/compose/").content.decode()
    assert 'data-signature="Work sig"' in page and 'data-signature="Home"' in page
    assert "-- \nWork sig" in page


def test_another_users_identities_are_not_listed(alice, bob):
    account = MailAccount.objects.get(user=alice)
    Identity.objects.create(account=account, email="secret@alice.example")
    bob_account = MailAccount.objects.get(user=bob)
    page = _client(bob).get(f"/accounts/mail/{bob_account.id}/identities/")
    assert "secret@alice.example" not in page.content.decode()
    assert (
        _client(bob).get(f"/accounts/mail/{account.id}/identities/").status_code == 404
    )


def test_an_html_signature_is_kept_sanitized_and_starts_html_messages(alice):
    account = MailAccount.objects.get(user=alice)
    client = _client(alice)
    markup = (
        '<p><b>山田 花子</b> <a href="https://example.jp" onclick="steal()">Web</a>'
        '<script>steal()</script><img src="https://tracker.example/p.gif"></p>'
    )
    client.post(
        f"/accounts/mail/{account.id}/identities/add/",
        _form(email="hanako@example.jp", signature="山田 花子", signature_html=markup),
    )

    identity = Identity.objects.get(account=account)
    kept = identity.signature_html
    assert "<b>山田 花子</b>" in kept and 'href="https://example.jp"' in kept
    assert "script" not in kept and "onclick" not in kept and "tracker" not in kept
    # A new message in the editor starts with it, below the "-- " line.
    start = compose.start_new(account)
    assert start.html.endswith("<div>-- </div>" + kept)
    assert start.text.endswith("-- \n山田 花子")
