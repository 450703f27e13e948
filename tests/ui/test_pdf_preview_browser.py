"""Chromium opens a PDF attachment's preview, and nothing in it runs as us."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from playwright.sync_api import Page, Response, expect

from tests.engine.conftest import (  # noqa: F401 (fixtures)
    account_for,
    engine_env,
    engine_settings,
    worker,
)
from tests.fixtures.servers import ImapUser
from tests.ui.real_mail import sign_in_as
from tests.ui.test_pdf_preview import tiny_pdf

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.usefixtures("worker"),
]

# A PDF that is also HTML with a script: a browser that parsed it as a page
# of this site would store a mark, change the title and call home.
SCRIPT = (
    b"<html><body><script>localStorage.setItem('pwned', '1');"
    b"document.title = 'pwned'; fetch('/pwned');</script></body></html>"
)
HOSTILE_PDF = tiny_pdf("Quarterly plan", extra=SCRIPT)


def _mail() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Alice <alice@example.org>"
    msg["To"] = "reader@example.org"
    msg["Subject"] = "The plan"
    msg["Date"] = "Sat, 28 Nov 2026 10:00:00 +0900"
    msg.set_content("The plan is attached.\n")
    msg.add_attachment(
        HOSTILE_PDF, maintype="application", subtype="pdf", filename="plan.pdf"
    )
    return msg.as_bytes()


def test_preview_opens_a_pdf_and_runs_no_script(
    live_app: str, page: Page, imap_user: ImapUser, other_device
):
    other_device(imap_user).append("INBOX", _mail())
    responses: list[Response] = []
    requested: list[str] = []
    page.context.on("response", lambda response: responses.append(response))
    page.context.on("request", lambda request: requested.append(request.url))

    sign_in_as(page, live_app, imap_user, rows=1)
    page.click("#m1 a.open")
    attachment = page.locator("#reader .attachments li")
    expect(attachment).to_contain_text("plan.pdf", timeout=20_000)
    title = page.title()

    with page.context.expect_page() as opened:
        attachment.locator("a.preview").click()
    preview = opened.value
    preview.wait_for_load_state("load")

    shown = [r for r in responses if r.url.endswith("/part/2?inline=1")]
    assert len(shown) == 1, [r.url for r in responses]
    assert shown[0].status == 200
    headers = shown[0].all_headers()
    assert headers["content-type"] == "application/pdf"
    assert headers["content-disposition"] == 'inline; filename="plan.pdf"'
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-security-policy"].startswith("sandbox;")
    # (Chromium reports its viewer's page as the body; test_pdf_preview.py
    # checks the bytes.)
    # Chromium took it as a PDF (its viewer), not as a page.
    assert preview.evaluate("document.contentType") == "application/pdf"

    # No script ran: no call home, no mark in this site's storage, no title.
    preview.wait_for_timeout(500)
    assert not [url for url in requested if "/pwned" in url]
    assert page.evaluate("localStorage.getItem('pwned')") is None
    assert preview.title() != "pwned"
    assert page.title() == title
    # The mail pages keep their own policy: nothing was loosened for PDFs.
    pages = [
        r
        for r in responses
        if r.frame == page.main_frame and r.request.resource_type == "document"
    ]
    assert pages
    for response in pages:
        policy = response.all_headers()["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "object-src 'none'" in policy
        assert "frame-ancestors 'none'" in policy
