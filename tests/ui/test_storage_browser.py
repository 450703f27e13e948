"""The quota meter and the storage page in Chromium, on a desktop and a phone,
with a real Dovecot near its 1 MB quota."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.engine.conftest import (  # noqa: F401 (fixtures)
    engine_env,
    engine_settings,
    wait_for,
    worker,
)
from tests.ui.real_mail import sign_in_as
from tests.ui.storage_mail import fill_near_quota, server_sizes

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.usefixtures("worker"),
]

# INBOX rows of storage_mail.NEAR_FULL.
INBOX_ROWS = 4


def _no_sideways_scrolling(page: Page) -> None:
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1]


def _meter_then_storage(page: Page) -> None:
    """The meter warns; it leads to the storage page, which deletes to Trash."""
    meter = page.locator("#folders a.quota")
    expect(meter).to_have_class(re.compile(r"\bwarn\b"), timeout=20_000)
    expect(meter).to_contain_text(re.compile(r"\d+ KB of 1 MB"))
    expect(meter).to_contain_text("Your mailbox is filling up.")
    meter.click()
    page.wait_for_url(re.compile(r"/mail/\d+/storage/$"))
    expect(page.locator("h1")).to_have_text("Storage")
    largest = page.locator("#storage table.storage-messages").first
    expect(largest.locator("tbody tr").first).to_contain_text("Big report")
    _no_sideways_scrolling(page)


def test_the_meter_and_the_storage_page_on_a_desktop(
    live_app: str, browser: Browser, make_imap_user, other_device
):
    imap_user = make_imap_user(quota_mb=1)
    phone = other_device(imap_user)
    fill_near_quota(phone)
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        page = context.new_page()
        sign_in_as(page, live_app, imap_user, rows=INBOX_ROWS)
        expect(page.locator("#folders a.quota")).to_be_visible(timeout=20_000)
        _meter_then_storage(page)

        page.locator("tr", has_text="Holiday photos").first.locator(
            "input[type=checkbox]"
        ).check()
        page.locator('[data-action="storage-delete"]').first.click()
        expect(page.locator("ul.messages")).to_contain_text("1 message moved to Trash.")
        # Gone from the inbox's rows (once synced, Trash lists it instead).
        moved = page.locator("#storage tr", has_text="Holiday photos")
        expect(moved.filter(has_text="Inbox")).to_have_count(0)
        wait_for(
            lambda: "Holiday photos" in server_sizes(phone, "Trash"),
            what="moved to Trash on the server",
        )
    finally:
        context.close()


def test_the_meter_and_the_storage_page_on_a_phone(
    live_app: str, browser: Browser, make_imap_user, other_device
):
    imap_user = make_imap_user(quota_mb=1)
    fill_near_quota(other_device(imap_user))
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        sign_in_as(page, live_app, imap_user, rows=INBOX_ROWS)
        _no_sideways_scrolling(page)
        # The meter sits with the folders, which open from the Folders button.
        page.click('[data-action="folders"]')
        expect(page.locator("#folders a.quota")).to_be_visible(timeout=20_000)
        box = page.locator("#folders a.quota").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        _meter_then_storage(page)
    finally:
        context.close()
