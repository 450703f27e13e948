"""Attaching files in Chromium: pick a file, watch it go up, send it; a cut-off
upload says so and goes on after Retry."""

from __future__ import annotations

import email
import os
from email import policy
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route, expect

from tests.engine.conftest import (  # noqa: F401 (fixtures)
    engine_env,
    engine_settings,
    wait_for,
    worker,
)
from tests.fixtures.servers import SUBMISSION_LOGIN, ImapUser
from tests.ui.real_mail import sign_in_as
from webmail.models import Upload

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.usefixtures("worker"),
]


def _with_smtp(account, server) -> None:
    account.smtp_host, account.smtp_port = server.host, server.port
    account.smtp_security = "starttls"
    account.smtp_username, account.smtp_password = SUBMISSION_LOGIN
    account.save()


def test_a_picked_file_shows_its_progress_and_goes_out_with_the_message(
    live_app: str,
    page: Page,
    imap_user: ImapUser,
    submission_outbox,
    tmp_path: Path,
):
    account = sign_in_as(page, live_app, imap_user, rows=0)
    _with_smtp(account, submission_outbox)
    data = os.urandom(2 * 1024 * 1024 + 999)
    picked = tmp_path / "報告書.pdf"
    picked.write_bytes(data)
    page.goto(f"{live_app}/mail/{account.id}/compose/")
    page.fill("#compose-to", "bob@example.org")
    page.fill("#compose-subject", "報告書")

    page.set_input_files("#compose-files", str(picked))

    row = page.locator("[data-attachment-list] li.attachment")
    expect(row).to_have_count(1)
    expect(row.locator(".name")).to_have_text("報告書.pdf")
    expect(row.locator("progress")).to_be_visible()
    expect(row).to_have_attribute("data-state", "done", timeout=20_000)
    progress = row.locator("progress")
    assert progress.evaluate("p => p.value === p.max && p.max > 2000000")
    expect(row.locator('input[type="hidden"][name="upload"]')).to_have_count(1)
    expect(row.locator("[data-remove]")).to_be_visible()

    page.click('button[data-action="send"]')

    expect(page.locator("main")).to_contain_text("Sent", timeout=30_000)
    [received] = wait_for(lambda: submission_outbox.messages, what="the message")
    parsed = email.message_from_bytes(received.data, policy=policy.default)
    [part] = parsed.iter_attachments()
    assert (part.get_filename(), part.get_payload(decode=True)) == ("報告書.pdf", data)


def test_a_cut_off_upload_says_so_and_retry_finishes_it(
    live_app: str, page: Page, imap_user: ImapUser, tmp_path: Path
):
    account = sign_in_as(page, live_app, imap_user, rows=0)
    picked = tmp_path / "big.bin"
    picked.write_bytes(os.urandom(3 * 1024 * 1024))
    page.goto(f"{live_app}/mail/{account.id}/compose/")
    page.fill("#compose-to", "bob@example.org")

    def cut_off(route: Route) -> None:
        route.abort("connectionreset")

    second_chunk = "**/compose/uploads/*?offset=1048576"
    page.route(second_chunk, cut_off)
    page.set_input_files("#compose-files", str(picked))

    row = page.locator("[data-attachment-list] li.attachment")
    expect(row).to_have_attribute("data-state", "interrupted", timeout=20_000)
    expect(row.locator(".status")).to_have_text(
        "The upload stopped. Retry it, or remove the file."
    )
    # Sending now would lose the file: the page says what to do instead.
    page.click('button[data-action="send"]')
    expect(page.locator("[data-attach-alert]")).to_be_visible()
    assert page.url.endswith("/compose/")

    page.unroute(second_chunk)
    row.locator("[data-retry]").click()

    expect(row).to_have_attribute("data-state", "done", timeout=20_000)
    assert row.locator("progress").evaluate("p => p.value === p.max")


def test_a_removed_file_leaves_the_form(
    live_app: str, page: Page, imap_user: ImapUser, tmp_path: Path
):
    account = sign_in_as(page, live_app, imap_user, rows=0)
    picked = tmp_path / "a.txt"
    picked.write_bytes(b"hello")
    page.goto(f"{live_app}/mail/{account.id}/compose/")
    page.set_input_files("#compose-files", str(picked))
    row = page.locator("[data-attachment-list] li.attachment")
    expect(row).to_have_attribute("data-state", "done", timeout=20_000)

    row.locator("[data-remove]").click()

    expect(row).to_have_count(0)
    expect(page.locator('input[name="upload"]')).to_have_count(0)
    wait_for(lambda: not Upload.objects.exists(), what="the upload removed")


_GIVE_FILE = """([kind, name]) => {
  const transfer = new DataTransfer();
  transfer.items.add(new File(["dropped bytes"], name, {type: "text/plain"}));
  if (kind === "drop") {
    const target = document.querySelector("#compose-body");
    target.dispatchEvent(new DragEvent("dragover", {dataTransfer: transfer,
      bubbles: true, cancelable: true}));
    target.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer,
      bubbles: true, cancelable: true}));
  } else {
    document.querySelector("#compose-body").dispatchEvent(new ClipboardEvent(
      "paste", {clipboardData: transfer, bubbles: true, cancelable: true}));
  }
}"""


def test_a_file_dropped_on_the_page_or_pasted_is_attached(
    live_app: str, page: Page, imap_user: ImapUser
):
    account = sign_in_as(page, live_app, imap_user, rows=0)
    page.goto(f"{live_app}/mail/{account.id}/compose/")

    page.evaluate(_GIVE_FILE, ["drop", "dropped.txt"])
    page.evaluate(_GIVE_FILE, ["paste", "pasted.txt"])

    rows = page.locator("[data-attachment-list] li.attachment")
    expect(rows).to_have_count(2)
    for name in ("dropped.txt", "pasted.txt"):
        row = rows.filter(has_text=name)
        expect(row).to_have_attribute("data-state", "done", timeout=20_000)
    assert page.url.endswith("/compose/")  # the browser did not open the file
    names = sorted(Upload.objects.values_list("filename", flat=True))
    assert names == ["dropped.txt", "pasted.txt"]
