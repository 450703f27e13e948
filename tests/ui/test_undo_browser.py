"""Undo in a real browser: the notice's button, the z key, and a second tab.

The mailbox is in the cache only (no worker runs for it), so each move
waits in the outbox and an undo cancels it: what the page shows is the
point here; tests/engine/test_undo.py checks the server.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.ui.mail import standard_mailbox
from tests.ui.test_browser import sign_in
from webmail.models import Message, PendingOperation

pytestmark = pytest.mark.browser


def test_clicking_undo_puts_the_archived_message_back(
    live_app: str, page: Page, alice, settings
):
    settings.UNDO_SECONDS = 3
    inbox = standard_mailbox(alice)["INBOX"]
    sign_in(page, live_app)
    status = page.locator("#bulk-status")
    page.click("#m1 a.open")
    expect(page.locator("#reader h2.subject")).to_have_text("Quarterly report")
    page.keyboard.press("e")
    expect(page.locator("#m1")).to_have_count(0)
    expect(status.locator(".notice-text")).to_have_text("Archived.")
    expect(page.locator("#reader h2.subject")).to_have_text("Lunch on Friday?")
    # A second action's notice replaces the first one's.
    page.keyboard.press("#")
    expect(page.locator("#m2")).to_have_count(0)
    expect(status.locator(".notice-text")).to_have_text("Moved to the trash.")
    expect(status.locator("button[data-action=undo]")).to_have_count(1)

    status.locator("button[data-action=undo]").click()

    expect(status.locator(".notice-text")).to_have_text(
        "Undone: 1 message is back where it was."
    )
    expect(page.locator("#m2")).to_have_count(1)
    expect(page.locator("#m1")).to_have_count(0)  # the first action stays done
    # With its star, and read: it was open when it was deleted.
    message = Message.objects.get(folder=inbox, uid=2)
    assert message.flagged and message.seen
    assert PendingOperation.objects.filter(state="cancelled").count() == 1
    # The notice goes away by itself.
    expect(status).to_be_empty(timeout=15_000)


def test_z_in_another_tab_undoes_a_delete(live_app: str, page: Page, alice):
    inbox = standard_mailbox(alice)["INBOX"]
    sign_in(page, live_app)
    other = page.context.new_page()
    other.goto(page.url)
    expect(other.locator("#events")).to_have_attribute("data-state", "open")
    expect(page.locator("#events")).to_have_attribute("data-state", "open")

    page.click("#m3 a.open")
    expect(page.locator("#reader h2.subject")).to_have_text("Re: the plan")
    page.keyboard.press("#")
    expect(page.locator("#m3")).to_have_count(0)
    # The other tab hears of it: its list follows, its notice offers Undo.
    expect(other.locator("#m3")).to_have_count(0)
    expect(other.locator("#bulk-status .notice-text")).to_have_text(
        "1 message deleted."
    )
    other.locator("body").press("z")

    expect(other.locator("#bulk-status .notice-text")).to_have_text(
        "Undone: 1 message is back where it was."
    )
    expect(other.locator("#m3")).to_have_count(1)
    # The first tab's list follows, and its notice has nothing left to offer.
    expect(page.locator("#m3")).to_have_count(1)
    expect(page.locator("#bulk-status")).to_be_empty()
    assert Message.objects.filter(folder=inbox, uid=3).exists()
    other.close()
