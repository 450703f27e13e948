"""Writing in HTML in Chromium: the toolbar and keys format the text, a pasted
image stays inside it, and the SMTP server gets the HTML and its plain text."""

from __future__ import annotations

import base64
import email
import re
from email import policy

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Preference
from tests.engine.conftest import (  # noqa: F401 (fixtures)
    engine_env,
    engine_settings,
    wait_for,
    worker,
)
from tests.fixtures.servers import SUBMISSION_LOGIN, ImapUser
from tests.ui.real_mail import sign_in_as

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.usefixtures("worker"),
]

# A 1x1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
    "AAAABJRU5ErkJggg=="
)

_GIVE_IMAGE = """([kind, bytes]) => {
  const transfer = new DataTransfer();
  transfer.items.add(new File([new Uint8Array(bytes)], "dot.png", {type: "image/png"}));
  const editor = document.querySelector("#compose-editor");
  if (kind === "drop") {
    editor.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer,
      bubbles: true, cancelable: true}));
  } else {
    editor.dispatchEvent(new ClipboardEvent("paste", {clipboardData: transfer,
      bubbles: true, cancelable: true}));
  }
}"""
# Another image: the server takes any bytes of the type.
DROPPED = PNG + b"dropped"


def _with_smtp(account, server) -> None:
    account.smtp_host, account.smtp_port = server.host, server.port
    account.smtp_security = "starttls"
    account.smtp_username, account.smtp_password = SUBMISSION_LOGIN
    account.save()


def _content(part) -> str:
    return str(part.get_content()).replace("\r\n", "\n")


def test_bold_and_a_list_typed_in_the_editor_arrive_as_html_and_text(
    live_app: str, page: Page, imap_user: ImapUser, submission_outbox
):
    account = sign_in_as(page, live_app, imap_user, rows=0)
    _with_smtp(account, submission_outbox)
    page.goto(f"{live_app}/mail/{account.id}/compose/")
    page.fill("#compose-to", "bob@example.org")
    page.fill("#compose-subject", "書式")
    # New messages start in plain text; the checkbox switches this one.
    expect(page.locator("#compose-body")).to_be_visible()
    page.get_by_label("Formatted text (HTML)").check()
    expect(page.locator("#compose-body")).to_be_hidden()
    editor = page.locator("#compose-editor")
    expect(editor).to_be_visible()

    editor.click()
    page.keyboard.type("Hello world")
    page.keyboard.press("Shift+Control+ArrowLeft")
    page.keyboard.press("Control+b")
    expect(editor.locator("b")).to_have_text("world")
    expect(page.get_by_role("button", name="Bold")).to_have_attribute(
        "aria-pressed", "true"
    )
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Bulleted list").click()
    page.keyboard.type("first")
    page.keyboard.press("Enter")
    page.keyboard.type("二番目")
    expect(editor.locator("ul li")).to_have_count(2)
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")  # an empty item ends the list
    page.evaluate(_GIVE_IMAGE, ["paste", list(PNG)])
    expect(editor.locator("img")).to_have_count(1)
    page.evaluate(_GIVE_IMAGE, ["drop", list(DROPPED)])
    expect(editor.locator("img")).to_have_count(2)
    # The images are the text's, not attachments of the form.
    expect(page.locator("[data-attachment-list] li")).to_have_count(0)

    page.click('button[data-action="send"]')

    expect(page.locator("main")).to_contain_text("Sent", timeout=30_000)
    [received] = wait_for(lambda: submission_outbox.messages, what="the message")
    message = email.message_from_bytes(received.data, policy=policy.default)
    assert message.get_content_type() == "multipart/alternative"
    text_part, related = message.iter_parts()
    text = _content(text_part)
    assert "Hello world\n" in text
    assert "- first\n- 二番目\n" in text
    html_part, *image_parts = related.iter_parts()
    html = _content(html_part)
    assert re.search(r"Hello <b>world</b>", html)
    assert re.search(r"<ul><li>first(<br>)?</li><li>二番目(<br>)?</li></ul>", html)
    assert sorted(part.get_content() for part in image_parts) == [PNG, DROPPED]
    sources = re.findall(r'<img[^>]*src="([^"]*)"', html)
    assert sorted(sources) == sorted(
        f"cid:{part['Content-ID'].strip('<>')}" for part in image_parts
    )


def test_the_users_default_opens_the_editor_and_plain_text_still_works(
    live_app: str, page: Page, imap_user: ImapUser, submission_outbox
):
    account = sign_in_as(page, live_app, imap_user, rows=0)
    _with_smtp(account, submission_outbox)
    Preference.objects.create(user=account.user, compose_format="html")
    page.goto(f"{live_app}/mail/{account.id}/compose/")
    expect(page.locator("#compose-editor")).to_be_visible()
    page.fill("#compose-to", "bob@example.org")
    page.locator("#compose-editor").click()
    page.keyboard.type("ただのテキスト")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Numbered list").click()
    page.keyboard.type("一つ目")
    page.keyboard.press("Enter")
    page.keyboard.type("二つ目")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_label("Formatted text (HTML)").uncheck()

    expect(page.locator("#compose-body")).to_have_value(
        "ただのテキスト\n1. 一つ目\n2. 二つ目"
    )
    page.click('button[data-action="send"]')
    expect(page.locator("main")).to_contain_text("Sent", timeout=30_000)
    [received] = wait_for(lambda: submission_outbox.messages, what="the message")
    message = email.message_from_bytes(received.data, policy=policy.default)
    assert message.get_content_type() == "text/plain"
    assert _content(message).strip() == "ただのテキスト\n1. 一つ目\n2. 二つ目"
