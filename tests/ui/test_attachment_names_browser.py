"""In Chromium, a padded or long attachment name shows its real extension."""

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
from tests.ui.test_pdf_preview import mail

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.usefixtures("worker"),
]

NAMES = [
    ("invoice.pdf" + "\u00a0" * 80 + ".exe", "invoice.pdf .exe"),
    ("report.pdf" + "_" * 150 + ".exe", "report.pdf" + "_" * 150 + ".exe"),
    ("a" * 190 + ".exe", "a" * 190 + ".exe"),
]


def test_the_extension_of_a_padded_or_long_name_stays_in_view(
    live_app: str, page: Page, imap_user: ImapUser, other_device
):
    files = [(name, "application/octet-stream", b"MZ") for name, _ in NAMES]
    other_device(imap_user).append("INBOX", mail("Invoices", files))
    sign_in_as(page, live_app, imap_user, rows=1)
    page.click("#m1 a.open")
    links = page.locator("#reader ul.attachments a[download]")
    expect(links).to_have_count(len(NAMES), timeout=20_000)

    reader = page.locator("#reader").bounding_box()
    assert reader
    for index, (_, shown) in enumerate(NAMES):
        link = links.nth(index)
        assert link.inner_text() == shown
        box = link.bounding_box()
        assert box
        # Wrapped inside the pane: the end of the name is not cut off.
        assert box["x"] + box["width"] <= reader["x"] + reader["width"], shown
