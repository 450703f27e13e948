"""Attachments and inline images in Chromium, from a real server and worker."""

from __future__ import annotations

import re
from email.message import EmailMessage
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.engine.conftest import (  # noqa: F401 (fixtures)
    account_for,
    engine_env,
    engine_settings,
    worker,
)
from tests.fixtures.servers import ImapUser
from tests.ui.conftest import PIXEL_PNG
from tests.ui.real_mail import sign_in_as

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.usefixtures("worker"),
]


def _mail_with_logo_and_file() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Alice <alice@example.org>"
    msg["To"] = "reader@example.org"
    msg["Subject"] = "Logo and plan"
    msg["Date"] = "Sat, 28 Nov 2026 10:00:00 +0900"
    msg.set_content("Our logo and the plan.\n")
    msg.add_alternative(
        '<p>Our logo:</p><img id="logo" src="cid:logo@example.org" alt="logo">',
        subtype="html",
    )
    msg.get_payload()[1].add_related(
        PIXEL_PNG, maintype="image", subtype="png", cid="<logo@example.org>"
    )
    msg.add_attachment(
        b"%PDF-1.4 plan", maintype="application", subtype="pdf", filename="計画.pdf"
    )
    return msg.as_bytes()


def test_attachments_are_listed_and_an_inline_image_shows_in_the_frame(
    live_app: str, page: Page, imap_user: ImapUser, other_device
):
    other_device(imap_user).append("INBOX", _mail_with_logo_and_file())
    account = sign_in_as(page, live_app, imap_user, rows=1)
    page.click("#m1 a.open")

    attachment = page.locator("#reader .attachments li")
    expect(attachment).to_have_count(1, timeout=20_000)
    expect(attachment).to_contain_text("計画.pdf")
    # Its kind in words, its type in the tooltip.
    expect(attachment).to_contain_text("PDF")
    expect(attachment.locator(".type")).to_have_attribute("title", "application/pdf")
    link = attachment.locator("a[download]")
    expect(link).to_have_attribute("href", re.compile(r"^/mail/\d+/\d+/1/part/2$"))
    frame = page.frame_locator("#reader iframe.body")
    expect(frame.locator("body")).to_contain_text("Our logo:", timeout=20_000)
    # The frame sends no cookies: the image comes through its signed URL.
    logo = frame.locator("img")
    signed = re.compile(rf"^/mail/part/{account.user_id}/\S+$")
    expect(logo).to_have_attribute("src", signed)
    expect(logo).to_have_js_property("naturalWidth", 1, timeout=20_000)

    with page.expect_download() as download:
        link.click()
    assert Path(download.value.path()).read_bytes() == b"%PDF-1.4 plan"
    assert download.value.suggested_filename == "計画.pdf"
