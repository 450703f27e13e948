"""A keyboard user's way around the mailbox, in Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.ui.mail import standard_mailbox
from tests.ui.test_browser import sign_in

pytestmark = pytest.mark.browser


def test_the_first_tab_offers_the_messages(live_app: str, page: Page, alice):
    standard_mailbox(alice)
    sign_in(page, live_app)

    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.locator("#list")).to_be_focused()


def test_enter_puts_focus_on_the_message_and_escape_back_on_its_row(
    live_app: str, page: Page, alice
):
    standard_mailbox(alice)
    sign_in(page, live_app)
    page.keyboard.press("j")

    page.keyboard.press("Enter")

    heading = page.locator("#reader h2.subject")
    expect(heading).to_be_focused()
    opened = heading.inner_text()
    page.keyboard.press("Escape")
    focused_row = page.locator("#list .row a.open:focus")
    expect(focused_row).to_have_count(1)
    expect(focused_row).to_contain_text(opened)


def test_the_message_frame_has_a_title_and_a_language(live_app: str, page: Page, alice):
    standard_mailbox(alice)
    sign_in(page, live_app)
    page.locator("#list .row a.open").first.click()

    subject = page.locator("#reader h2.subject").inner_text()
    frame = page.frame_locator("#reader iframe")
    expect(frame.locator("html")).to_have_attribute("lang", "und")
    expect(frame.locator("head > title")).to_have_count(1)
    assert frame.locator("head > title").text_content() == subject
