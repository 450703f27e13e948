"""Drafts in a real browser: Chromium, uvicorn, the worker and Dovecot together."""

from __future__ import annotations

import email
import os
from email import policy

import pytest
from playwright.sync_api import Browser, Page, expect

from accounts.models import MailAccount
from devtools.smtp_server import SmtpServer
from tests.engine.conftest import (  # noqa: F401 (fixtures)
    account_for,
    engine_env,
    engine_settings,
    synced_inbox,
    wait_for,
    worker,
)
from tests.engine.test_send_attachments import _original_with_files
from tests.fixtures.servers import ImapUser
from tests.ui.conftest import PASSWORD
from tests.ui.test_attachments_browser import _with_smtp
from webmail.models import Draft, Message

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.usefixtures("worker"),
]

STORED = "Draft saved in Drafts."


def _account(imap_user: ImapUser) -> MailAccount:
    account = account_for(imap_user)
    account.user.set_password(PASSWORD)
    account.user.save()
    return account


def _sign_in(page: Page, base: str, account: MailAccount, then: str = "") -> None:
    page.goto(f"{base}/accounts/login/{'?next=' + then if then else ''}")
    page.fill('input[name="username"]', account.user.username)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_load_state()


def _drafts_on_server(phone) -> list[email.message.EmailMessage]:
    phone.select_folder("Drafts", readonly=True)
    uids = phone.search(["ALL"])
    fetched = phone.fetch(uids, ["RFC822"]) if uids else {}
    # A copy the worker expunged between the SEARCH and the FETCH has none.
    return [
        email.message_from_bytes(d[b"RFC822"], policy=policy.default)
        for d in fetched.values()
        if d.get(b"RFC822") is not None
    ]


def _note(page: Page):
    return page.locator("#draft-status [data-draft-note]")


def test_a_draft_written_in_one_browser_opens_in_another(
    live_app: str,
    browser: Browser,
    imap_user: ImapUser,
    other_device,
    submission_outbox: SmtpServer,
):
    account = _account(imap_user)
    _with_smtp(account, submission_outbox)
    phone = other_device(imap_user)
    laptop = browser.new_context().new_page()
    _sign_in(laptop, live_app, account)
    laptop.goto(f"{live_app}/mail/{account.id}/compose/")
    laptop.fill("#compose-to", "Carol <carol@example.org>")
    laptop.fill("#compose-subject", "Plans for Monday")
    laptop.fill("#compose-body", "First the budget, then lunch.")

    expect(_note(laptop)).to_have_text(STORED, timeout=20_000)
    [copy] = wait_for(lambda: _drafts_on_server(phone), what="the draft")
    assert copy["Subject"] == "Plans for Monday"

    row = Draft.objects.get(account=account)
    tablet = browser.new_context().new_page()
    _sign_in(tablet, live_app, account)
    tablet.goto(f"{live_app}/mail/{account.id}/{row.folder_id}/{row.uid}/")
    tablet.click('[data-action="edit-draft"]')

    # The recipients as the form sends them (the field itself shows chips).
    to = tablet.locator("input[type=hidden][name=to]")
    expect(to).to_have_value("Carol <carol@example.org>")
    expect(tablet.locator("#compose-subject")).to_have_value("Plans for Monday")
    expect(tablet.locator("#compose-body")).to_have_value(
        "First the budget, then lunch."
    )
    # Sending it from there takes it out of Drafts.
    tablet.click('[data-action="send"]')
    expect(tablet.locator("body")).to_contain_text("Plans for Monday")
    wait_for(lambda: submission_outbox.messages, what="the message sent")
    wait_for(lambda: not _drafts_on_server(phone), what="Drafts to be empty")
    laptop.context.close()
    tablet.context.close()


def test_two_tabs_editing_one_draft_are_told_and_may_keep_theirs(
    live_app: str, browser: Browser, imap_user: ImapUser, other_device
):
    account = _account(imap_user)
    context = browser.new_context()
    first = context.new_page()
    _sign_in(first, live_app, account)
    first.goto(f"{live_app}/mail/{account.id}/compose/")
    first.fill("#compose-subject", "Shared")
    first.fill("#compose-body", "Version from the start.")
    expect(_note(first)).to_have_text(STORED, timeout=20_000)
    draft_id = Draft.objects.get(account=account).id
    second = context.new_page()
    second.goto(f"{live_app}/mail/{account.id}/compose/?edit={draft_id}")

    first.fill("#compose-body", "Written in the first tab.")
    expect(_note(first)).to_have_text(STORED, timeout=20_000)
    second.fill("#compose-body", "Written in the second tab.")

    expect(_note(second)).to_contain_text("changed in another window", timeout=10_000)
    assert Draft.objects.get(id=draft_id).fields["body"] == "Written in the first tab."
    second.click('[data-action="keep-mine"]')
    expect(_note(second)).to_have_text(STORED, timeout=20_000)
    assert Draft.objects.get(id=draft_id).fields["body"] == "Written in the second tab."
    phone = other_device(imap_user)
    [copy] = wait_for(lambda: _drafts_on_server(phone), what="one copy")
    assert "second tab" in copy.get_body().get_content()
    context.close()


def test_text_written_as_the_session_ended_is_kept_and_offered_back(
    live_app: str, browser: Browser, imap_user: ImapUser, other_device
):
    account = _account(imap_user)
    context = browser.new_context()
    page = context.new_page()
    _sign_in(page, live_app, account)
    page.goto(f"{live_app}/mail/{account.id}/compose/")
    # The session ends (it expired, or the user signed out in another tab).
    kept_cookies = [c for c in context.cookies() if c["name"] != "sessionid"]
    context.clear_cookies()
    context.add_cookies(kept_cookies)

    page.fill("#compose-subject", "Long letter")
    page.fill("#compose-body", "Three hours of careful writing.")

    expect(_note(page)).to_contain_text("Your session has ended", timeout=10_000)
    assert not Draft.objects.filter(account=account).exists()
    page.click('[data-action="sign-in-again"]')
    page.fill('input[name="username"]', account.user.username)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')

    expect(page.locator('[data-action="restore-kept"]')).to_be_visible()
    expect(page.locator("#compose-body")).to_have_value("")
    page.click('[data-action="restore-kept"]')
    expect(page.locator("#compose-body")).to_have_value(
        "Three hours of careful writing."
    )
    expect(_note(page)).to_have_text(STORED, timeout=20_000)
    phone = other_device(imap_user)
    [copy] = wait_for(lambda: _drafts_on_server(phone), what="the draft")
    assert copy["Subject"] == "Long letter"
    context.close()


def test_leaving_the_page_at_once_still_saves_what_was_typed(
    live_app: str, page: Page, imap_user: ImapUser, other_device
):
    account = _account(imap_user)
    _sign_in(page, live_app, account)
    page.goto(f"{live_app}/mail/{account.id}/compose/")
    page.fill("#compose-subject", "Quick note")
    page.fill("#compose-body", "Typed just before leaving.")

    page.goto(f"{live_app}/mail/{account.id}/folders/")  # before the autosave

    phone = other_device(imap_user)
    [copy] = wait_for(lambda: _drafts_on_server(phone), what="the draft")
    assert copy["Subject"] == "Quick note"
    row = Draft.objects.get(account=account)
    assert row.fields["body"] == "Typed just before leaving."


def test_a_full_mailbox_is_said_and_the_text_stays(
    live_app: str, page: Page, make_imap_user
):
    account = _account(make_imap_user(quota_mb=1))
    _sign_in(page, live_app, account)
    page.goto(f"{live_app}/mail/{account.id}/compose/")
    text = "A long report. " * 100_000  # 1.5 MB, over the 1 MB quota

    page.fill("#compose-body", text)

    expect(_note(page)).to_contain_text("your mailbox is full", timeout=20_000)
    assert page.input_value("#compose-body") == text
    kept = page.evaluate(f"localStorage.getItem('webmail.draft.{account.id}')")
    assert kept is not None and "A long report." in kept


def _files_in_drafts(phone) -> list | None:
    """The files of the one copy in Drafts; None while there is not one."""
    copies = _drafts_on_server(phone)
    if len(copies) != 1:
        return None
    return [
        (p.get_filename(), p.get_payload(decode=True))
        for p in copies[0].iter_attachments()
    ]


def _write_with_file(page: Page, base: str, account, folder, data: bytes) -> None:
    picked = folder / "見積書.pdf"
    picked.write_bytes(data)
    _sign_in(page, base, account)
    page.goto(f"{base}/mail/{account.id}/compose/")
    page.fill("#compose-to", "Carol <carol@example.org>")
    page.fill("#compose-subject", "Estimate")
    page.set_input_files("#compose-files", str(picked))


def test_a_draft_with_a_file_opens_with_it_in_another_browser(
    live_app: str,
    browser: Browser,
    imap_user: ImapUser,
    other_device,
    submission_outbox: SmtpServer,
    tmp_path,
):
    account = _account(imap_user)
    _with_smtp(account, submission_outbox)
    phone = other_device(imap_user)
    data = os.urandom(1024 * 1024 + 4321)
    laptop = browser.new_context().new_page()
    _write_with_file(laptop, live_app, account, tmp_path, data)
    wait_for(
        lambda: _files_in_drafts(phone) == [("見積書.pdf", data)],
        what="the draft with its file in Drafts",
    )
    row = wait_for(
        lambda: next(
            (d for d in Draft.objects.filter(account=account) if d.files), None
        ),
        what="the draft's row to name its copy",
    )
    laptop.context.close()

    tablet = browser.new_context().new_page()
    _sign_in(tablet, live_app, account)
    tablet.goto(f"{live_app}/mail/{account.id}/{row.folder_id}/{row.uid}/")
    tablet.click('[data-action="edit-draft"]')

    listed = tablet.locator("[data-attachment-list] li[data-draft-file]")
    expect(listed.locator(".name")).to_have_text(["見積書.pdf"])
    tablet.click('[data-action="send"]')
    expect(tablet.locator("body")).to_contain_text("Estimate")
    [received] = wait_for(lambda: submission_outbox.messages, what="the message")
    sent = email.message_from_bytes(received.data, policy=policy.default)
    files = [
        (p.get_filename(), p.get_payload(decode=True)) for p in sent.iter_attachments()
    ]
    assert files == [("見積書.pdf", data)]
    tablet.context.close()


def test_a_file_removed_in_compose_leaves_the_draft(
    live_app: str, page: Page, imap_user: ImapUser, other_device, tmp_path
):
    account = _account(imap_user)
    phone = other_device(imap_user)
    data = os.urandom(50_000)
    _write_with_file(page, live_app, account, tmp_path, data)
    wait_for(
        lambda: _files_in_drafts(phone) == [("見積書.pdf", data)],
        what="the draft with its file in Drafts",
    )

    page.locator("[data-attachment-list] li.attachment [data-remove]").click()

    wait_for(lambda: _files_in_drafts(phone) == [], what="the draft without it")
    assert _drafts_on_server(phone)[0]["Subject"] == "Estimate"


def test_a_forwards_draft_carries_the_files_left_ticked(
    live_app: str, page: Page, imap_user: ImapUser, other_device
):
    account = _account(imap_user)
    phone = other_device(imap_user)
    raw, pdf, _ = _original_with_files()
    phone.append("INBOX", raw)
    inbox = synced_inbox(account)
    uid = Message.objects.get(folder=inbox).uid
    _sign_in(page, live_app, account)
    page.goto(f"{live_app}/mail/{account.id}/compose/?forward={inbox.id}:{uid}")

    page.locator('input[name="forward_part"][value="3"]').uncheck()

    wait_for(
        lambda: _files_in_drafts(phone) == [("見積書.pdf", pdf)],
        what="the draft with the ticked file only",
    )


def test_a_forwards_files_count_toward_the_attachment_limit(
    live_app: str, page: Page, imap_user: ImapUser, other_device, tmp_path, settings
):
    settings.COMPOSE_MAX_ATTACHMENT_MB = 1
    account = _account(imap_user)
    raw, _, _ = _original_with_files()  # 300 KB and 5 KB
    other_device(imap_user).append("INBOX", raw)
    inbox = synced_inbox(account)
    uid = Message.objects.get(folder=inbox).uid
    _sign_in(page, live_app, account)
    page.goto(f"{live_app}/mail/{account.id}/compose/?forward={inbox.id}:{uid}")
    picked = tmp_path / "写真.jpg"
    picked.write_bytes(os.urandom(800_000))

    page.set_input_files("#compose-files", str(picked))

    added = page.locator("[data-attachment-list] li.attachment:not(.forwarded)")
    expect(added).to_have_attribute("data-state", "refused")
    expect(added).to_contain_text("“写真.jpg” is too large")

    # Leaving the forwarded document out makes room for the photo.
    added.locator("[data-remove]").click()
    page.locator('input[name="forward_part"]').first.uncheck()
    page.set_input_files("#compose-files", str(picked))
    expect(added).to_have_attribute("data-state", "done", timeout=20_000)
