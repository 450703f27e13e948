"""Opening a message marks it read at once, after some seconds, or never."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from playwright.sync_api import Page, expect

from accounts.models import MarkRead, Preference, User
from tests.ui.mail import standard_mailbox
from tests.ui.test_browser import sign_in
from webmail.models import Folder, Message


@pytest.fixture
def inbox(alice: User) -> Folder:
    return standard_mailbox(alice)["INBOX"]


def choose(user: User, mode: str, delay: int = 3) -> None:
    Preference.objects.update_or_create(
        user=user, defaults={"mark_read": mode, "mark_read_delay": delay}
    )


def open_message(user: User, folder: Folder, uid: int) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(f"/mail/{folder.account_id}/{folder.id}/{uid}/")
    assert response.status_code == 200
    return response.content.decode()


def seen(folder: Folder, uid: int) -> bool:
    return bool(Message.objects.get(folder=folder, uid=uid).seen)


@pytest.mark.django_db
def test_by_default_opening_marks_read_at_once(alice: User, inbox: Folder):
    html = open_message(alice, inbox, 2)
    assert seen(inbox, 2)
    assert "data-seen-url" not in html


@pytest.mark.django_db
def test_never_leaves_an_opened_message_unread(alice: User, inbox: Folder):
    choose(alice, MarkRead.NEVER)
    html = open_message(alice, inbox, 2)
    assert "Lunch on Friday?" in html
    assert not seen(inbox, 2)
    assert "data-seen-url" not in html


@pytest.mark.django_db
def test_a_changed_setting_holds_from_the_next_open(alice: User, inbox: Folder):
    # The setting is kept in the cache between opens; saving drops it.
    client = Client()
    client.force_login(alice)
    base = f"/mail/{inbox.account_id}/{inbox.id}"
    assert client.get(f"{base}/1/").status_code == 200
    choose(alice, MarkRead.NEVER)
    assert client.get(f"{base}/2/").status_code == 200
    assert not seen(inbox, 2)


@pytest.mark.django_db
def test_after_a_delay_the_pane_asks_to_be_marked_read_later(
    alice: User, inbox: Folder
):
    choose(alice, MarkRead.AFTER_DELAY, 7)
    html = open_message(alice, inbox, 2)
    assert not seen(inbox, 2)
    url = f"/mail/{inbox.account_id}/{inbox.id}/2/seen"
    assert f'data-seen-url="{url}" data-seen-after="7"' in html

    client = Client()
    client.force_login(alice)
    assert client.get(url).status_code == 405
    response = client.post(url)
    assert response.status_code == 200
    assert seen(inbox, 2)
    row = response.content.decode()
    assert 'id="m2"' in row and 'hx-swap-oob="true"' in row
    assert not re.search(r'class="[^"]*\bunread\b', row)


@pytest.mark.django_db
def test_bob_cannot_mark_alices_message_read(alice: User, bob: User, inbox: Folder):
    client = Client()
    client.force_login(bob)
    url = f"/mail/{inbox.account_id}/{inbox.id}/2/seen"
    assert client.post(url).status_code == 404
    assert not seen(inbox, 2)


@pytest.mark.django_db
def test_the_settings_page_saves_the_choice(alice: User):
    client = Client()
    client.force_login(alice)
    page = client.get("/accounts/settings/").content.decode()
    assert "Opening a message marks it read" in page
    assert (
        'href="/accounts/settings/"'
        in client.get("/accounts/security/").content.decode()
    )

    bad = client.post(
        "/accounts/settings/", {"mark_read": "after_delay", "mark_read_delay": "0"}
    )
    assert bad.status_code == 200
    assert "Ensure this value is greater than or equal to 1" in bad.content.decode()
    assert not Preference.objects.filter(user=alice).exists()

    saved = client.post(
        "/accounts/settings/",
        {"mark_read": "after_delay", "mark_read_delay": "5"},
        follow=True,
    )
    assert "Your settings are saved." in saved.content.decode()
    preference = Preference.objects.get(user=alice)
    assert (preference.mark_read, preference.mark_read_delay) == ("after_delay", 5)


@pytest.mark.browser
def test_after_one_second_the_open_message_turns_read(
    live_app: str, page: Page, inbox: Folder, alice: User
):
    choose(alice, MarkRead.AFTER_DELAY, 1)
    sign_in(page, live_app)
    page.click("#m2 a.open")
    expect(page.locator("#reader h2.subject")).to_have_text("Lunch on Friday?")
    # Open, but not read yet.
    expect(page.locator("#m2")).to_have_class(re.compile(r"\bunread\b"))
    expect(page.locator("#m2")).not_to_have_class(
        re.compile(r"\bunread\b"), timeout=10_000
    )
    assert seen(inbox, 2)


@pytest.mark.browser
def test_a_message_left_before_the_delay_stays_unread(
    live_app: str, page: Page, inbox: Folder, alice: User
):
    choose(alice, MarkRead.AFTER_DELAY, 2)
    sign_in(page, live_app)
    page.click("#m2 a.open")
    expect(page.locator("#reader h2.subject")).to_have_text("Lunch on Friday?")
    # Another message opens before two seconds are up; wait until a marking
    # from that one (it is read already) would have been made.
    page.click("#m4 a.open")
    expect(page.locator("#reader h2.subject")).to_have_text("お知らせ メンテナンス")
    with page.expect_response(re.compile(r"/4/seen$"), timeout=10_000):
        pass
    assert not seen(inbox, 2)
    expect(page.locator("#m2")).to_have_class(re.compile(r"\bunread\b"))
