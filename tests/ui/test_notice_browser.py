"""The notice of an action, in Chromium: the next one replaces it, and each
goes away by itself after its own full time (UNDO_SECONDS), not on the
clock of the one before."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.ui.mail import account_of, standard_mailbox
from tests.ui.test_browser import sign_in
from webmail.models import UndoableAction
from webmail.shared import events

pytestmark = pytest.mark.browser


def test_a_new_notice_replaces_the_last_and_leaves_on_its_own(
    live_app: str, page: Page, alice, settings
):
    settings.UNDO_SECONDS = 4
    standard_mailbox(alice)
    sign_in(page, live_app)
    status = page.locator("#bulk-status")
    page.click("#m1 a.open")
    expect(page.locator("#reader h2.subject")).to_have_text("Quarterly report")

    page.keyboard.press("e")
    expect(status.locator(".notice-text")).to_have_text("Archived.")
    first = time.monotonic()
    page.wait_for_timeout(2_500)
    page.keyboard.press("#")
    expect(status.locator(".notice-text")).to_have_text("Moved to the trash.")
    second = time.monotonic()

    # One notice at a time, and the first one's time does not cut the
    # second one short.
    expect(status.locator(".notice-text")).to_have_count(1)
    page.wait_for_timeout(max(0, (first + 5.0 - time.monotonic()) * 1000))
    expect(status.locator(".notice-text")).to_have_text("Moved to the trash.")
    expect(status).to_be_empty(timeout=(second + 6.0 - time.monotonic()) * 1000)
    assert time.monotonic() - second >= 3.5

    # A notice with nothing to undo goes too.
    page.click("#m3 a.open")
    page.keyboard.press("Shift+U")
    expect(status.locator(".notice-text")).to_have_text("Marked unread.")
    expect(status).to_be_empty(timeout=8_000)


def test_a_notice_heard_late_from_another_tab_leaves_when_undo_ends(
    live_app: str, page: Page, alice, settings
):
    settings.UNDO_SECONDS = 6
    folders = standard_mailbox(alice)
    sign_in(page, live_app)
    expect(page.locator("#events")).to_have_attribute("data-state", "open")
    account = account_of(alice)
    # Another tab archived a message 4 seconds ago; its event comes late.
    action = UndoableAction.objects.create(
        account=account, verb="move", count=1, target=folders["Archive"]
    )
    UndoableAction.objects.filter(id=action.id).update(
        created_at=timezone.now() - timedelta(seconds=4)
    )
    status = page.locator("#bulk-status")

    events.publish(
        alice.id, {"type": events.UNDOABLE, "account": account.id, "id": action.id}
    )

    expect(status.locator("[data-action=undo]")).to_have_count(1)
    shown = time.monotonic()
    expect(status).to_be_empty(timeout=5_000)
    # Gone when its undo ends (2 s left), not a whole 6 s later.
    assert time.monotonic() - shown < 4
