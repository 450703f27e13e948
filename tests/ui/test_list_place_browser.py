"""The list keeps its place, on a real Dovecot, through the worker, in Chromium.

311 messages are APPENDed from a second connection (the phone); uid n is
the n-th, and newer uids have later dates, so the list runs 311 down to 1
and page 3 ("101-150 of 311") holds uids 211 to 162.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.engine.conftest import (  # noqa: F401 (fixtures)
    engine_env,
    engine_settings,
    wait_for,
    worker,
)
from tests.fixtures.servers import ImapUser
from tests.ui.real_mail import sign_in_as
from webmail.models import Folder, Message

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.usefixtures("worker"),
]

COUNT = 311


def numbered(n: int) -> bytes:
    hour, minute = divmod(n, 60)
    return (
        f"From: Sender {n} <s{n}@example.net>\r\n"
        f"To: reader@example.org\r\n"
        f"Subject: Message number {n}\r\n"
        f"Message-ID: <n{n}@example.net>\r\n"
        f"Date: Sun, 01 Nov 2026 {hour:02d}:{minute:02d}:00 +0000\r\n"
        f"\r\nThe text of message {n}.\r\n"
    ).encode()


@pytest.fixture
def mailbox(live_app: str, page: Page, imap_user: ImapUser, other_device):
    """The phone, and the page signed in once the whole folder is cached."""
    phone = other_device(imap_user)
    for n in range(1, COUNT + 1):
        phone.append("INBOX", numbered(n))
    account = sign_in_as(page, live_app, imap_user, rows=50, timeout=60_000)
    inbox = Folder.objects.get(account=account, name="INBOX")
    wait_for(
        lambda: Message.objects.filter(folder=inbox).count() == COUNT,
        timeout=60,
        what="the whole folder cached",
    )
    return phone, f"{live_app}/mail/{account.id}/{inbox.id}/"


def expect_place(page: Page, text: str, timeout: int = 10_000) -> None:
    """Expect the list to say where it is ("101-150 of 311", an en dash shown)."""
    place = page.locator("#list .pager .place")
    expect(place).to_have_text(text.replace("-", "\u2013"), timeout=timeout)


def test_the_list_stays_on_page_3_while_the_phone_changes_a_message_there(
    page: Page, mailbox
):
    phone, folder_url = mailbox
    page.goto(folder_url)
    expect_place(page, "1-50 of 311")
    page.click("#list .pager a.older-page")
    expect_place(page, "51-100 of 311")
    page.click("#list .pager a.older-page")
    expect_place(page, "101-150 of 311")
    expect(page.locator("#m200")).to_have_count(1)
    expect(page.locator('#events[data-state="open"]')).to_have_count(1)

    phone.select_folder("INBOX")
    phone.add_flags([200], [b"\\Flagged"])
    # The live update redraws page 3, with the star, not page 1.
    expect(page.locator('#m200 .star[aria-pressed="true"]')).to_have_count(
        1, timeout=20_000
    )
    expect_place(page, "101-150 of 311")
    expect(page.locator("#m311")).to_have_count(0)

    # New mail above: the same rows stay, one place further down.
    phone.append("INBOX", numbered(COUNT + 1))
    expect_place(page, "102-151 of 312", timeout=20_000)
    expect(page.locator("#list .row").first).to_have_attribute("data-uid", "211")


def test_the_place_and_its_newer_and_older_links(page: Page, mailbox):
    _phone, folder_url = mailbox
    page.goto(folder_url)
    expect_place(page, "1-50 of 311")
    expect(page.locator("#list .pager a.newer")).to_have_count(0)
    page.click("#list .pager a.older-page")
    expect_place(page, "51-100 of 311")
    expect(page.locator("#list .row").first).to_have_attribute("data-uid", "261")
    assert "before=" in page.url
    page.click("#list .pager a.newer")
    expect_place(page, "1-50 of 311")
    expect(page.locator("#list .row").first).to_have_attribute("data-uid", "311")
    for first in range(51, 302, 50):
        page.click("#list .pager a.older-page")
        expect_place(page, f"{first}-{min(first + 49, COUNT)} of 311")
    expect(page.locator("#list .pager a.older-page")).to_have_count(0)
    expect(page.locator("#list .row")).to_have_count(11)


def test_a_permalink_to_an_old_message_shows_its_page_with_its_row_selected(
    page: Page, mailbox
):
    _phone, folder_url = mailbox
    page.goto(f"{folder_url}150/")
    expect(page.locator('#reader .message[data-uid="150"]')).to_have_count(1)
    # uid 150 is the 162nd newest: page 4.
    expect_place(page, "151-200 of 311")
    expect(page.locator("#m150.current")).to_have_count(1)
    expect(page.locator("#m150.cursor")).to_have_count(1)
    page.click("#list .pager a.newer")
    expect_place(page, "101-150 of 311")


def test_a_star_in_one_tab_shows_in_the_open_message_of_another(page: Page, mailbox):
    phone, folder_url = mailbox
    page.goto(f"{folder_url}5/")
    star = page.locator('#reader #pane-flags [data-action="star"]')
    expect(star).to_have_attribute("aria-pressed", "false")
    expect(page.locator('#events[data-state="open"]')).to_have_count(1)

    other = page.context.new_page()
    other.goto(f"{folder_url}5/")
    other.click('#reader #pane-flags [data-action="star"]')
    expect(other.locator('#reader #pane-flags [data-action="star"]')).to_have_attribute(
        "aria-pressed", "true"
    )
    # The first tab's open message follows, its text not reloaded.
    expect(star).to_have_attribute("aria-pressed", "true", timeout=20_000)

    # The phone marks it unread: the open message offers "Mark read".
    def seen_on_server() -> bool:
        phone.select_folder("INBOX", readonly=True)
        return b"\\Seen" in phone.get_flags([5])[5]

    wait_for(seen_on_server, what="the open message read on the server")
    phone.select_folder("INBOX")
    phone.remove_flags([5], [b"\\Seen"])
    read = page.locator('#reader #pane-flags [data-action="read"]')
    expect(read).to_have_count(1, timeout=20_000)
    read.click()
    expect(page.locator('#reader #pane-flags [data-action="unread"]')).to_have_count(1)
    wait_for(seen_on_server, what="marked read again on the server")
