"""Undo send in Chromium: the Undo in the "Sent" notice, or the scheduled list of
another tab, stops the message before it reaches the SMTP server, and brings it
back for editing."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from tests.engine.conftest import (  # noqa: F401 (fixtures)
    engine_env,
    engine_settings,
    wait_for,
    worker,
)
from tests.fixtures.servers import ImapUser
from tests.ui.real_mail import sign_in_as
from tests.ui.test_attachments_browser import _with_smtp
from webmail.models import OutgoingMessage, SendState

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.usefixtures("worker"),
]

UNDO_SECONDS = 10


@pytest.fixture
def undo_time(settings) -> None:
    # The page runs in this process (live_app): its send waits this long.
    settings.UNDO_SEND_SECONDS = UNDO_SECONDS


def _write_and_send(page: Page, base: str, account) -> OutgoingMessage:
    page.goto(f"{base}/mail/{account.id}/compose/")
    page.fill("#compose-to", "bob@example.org")
    page.fill("#compose-subject", "Oops")
    page.fill("#compose-body", "Not meant to go yet.")
    page.click('button[data-action="send"]')
    expect(page.locator("#sent-status")).to_contain_text("Sending in a moment")
    return OutgoingMessage.objects.get(account=account)


def _nothing_sent_after_its_time(row: OutgoingMessage, server) -> None:
    """Wait past the moment it would have gone; the server got nothing."""
    left = (row.next_attempt_at - timezone.now()).total_seconds()
    time.sleep(max(0.0, left) + 3)
    assert server.messages == []
    assert OutgoingMessage.objects.get(id=row.id).state == SendState.CANCELLED


def _back_in_compose(page: Page) -> None:
    expect(page.locator("main")).to_contain_text(
        "Not sent. The message is back for you to edit."
    )
    expect(page.locator("input[type=hidden][name=to]")).to_have_value("bob@example.org")
    expect(page.locator("#compose-subject")).to_have_value("Oops")
    # As sent: the text ends with a line break.
    expect(page.locator("#compose-body")).to_have_value("Not meant to go yet.\n")


@pytest.mark.usefixtures("undo_time")
def test_undo_in_the_sent_notice_stops_the_message_and_brings_it_back(
    live_app: str, page: Page, imap_user: ImapUser, submission_outbox
):
    account = sign_in_as(page, live_app, imap_user, rows=0)
    _with_smtp(account, submission_outbox)
    row = _write_and_send(page, live_app, account)

    page.click('[data-action="undo-send"]')

    _back_in_compose(page)
    _nothing_sent_after_its_time(row, submission_outbox)


@pytest.mark.usefixtures("undo_time")
def test_a_send_called_off_in_another_tab_never_goes(
    live_app: str, browser: Browser, imap_user: ImapUser, submission_outbox
):
    context = browser.new_context()
    first = context.new_page()
    account = sign_in_as(first, live_app, imap_user, rows=0)
    _with_smtp(account, submission_outbox)
    row = _write_and_send(first, live_app, account)
    second = context.new_page()
    second.goto(f"{live_app}/mail/{account.id}/scheduled/")

    second.get_by_role("button", name="Cancel sending").click()

    _back_in_compose(second)
    # The first tab's notice follows: it was called off.
    expect(first.locator("#sent-status")).to_contain_text(
        "Not sent: it was called off.", timeout=5_000
    )
    _nothing_sent_after_its_time(row, submission_outbox)
    context.close()
