"""Reading real mail: Dovecot, the Celery worker, uvicorn and Chromium together."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.engine.conftest import (  # noqa: F401 (fixtures)
    account_for,
    engine_env,
    engine_settings,
    worker,
)
from tests.fixtures.servers import ImapUser
from tests.ui.real_mail import sign_in_as

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.usefixtures("worker"),
]

NEWSLETTER = (
    b"From: News <news@example.net>\r\n"
    b"To: reader@example.org\r\n"
    b"Subject: =?UTF-8?B?5LuK5pel44Gu44OL44Ol44O844K5?=\r\n"
    b"Date: Sat, 28 Nov 2026 09:00:00 +0900\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n\r\n"
    b"<p>Big news today.</p>"
    b'<img src="https://tracker.example.com/pixel.gif">'
    b"<script>alert(1)</script>\r\n"
)
NOTE = (
    b"From: Carol <carol@example.org>\r\n"
    b"To: reader@example.org\r\n"
    b"Subject: A short note\r\n"
    b"Date: Sat, 28 Nov 2026 08:00:00 +0900\r\n\r\n"
    b"See you at 3.\r\n"
)


def test_reading_real_mail_from_a_real_server(
    live_app: str, page: Page, imap_user: ImapUser, other_device
):
    phone = other_device(imap_user)
    phone.append("INBOX", NOTE)
    phone.append("INBOX", NEWSLETTER)
    sign_in_as(page, live_app, imap_user, rows=2)
    expect(page.locator("#m2 .subject")).to_contain_text("今日のニュース")

    page.click("#m2 a.open")
    frame = page.frame_locator("#reader iframe.body")
    expect(frame.locator("body")).to_contain_text("Big news today.", timeout=20_000)
    expect(page.locator(".remote-bar")).to_be_visible()

    # The phone stars the note; the open page shows it without a reload.
    expect(page.locator('#events[data-state="open"]')).to_have_count(1)
    phone.select_folder("INBOX")
    phone.add_flags([1], [b"\\Flagged"])
    expect(page.locator('#m1 .star[aria-pressed="true"]')).to_have_count(
        1, timeout=20_000
    )
