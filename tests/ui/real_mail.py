"""Reading many messages through the real path, for the corpus browser tests.

Messages are APPENDed to a real Dovecot from a second connection; the
worker syncs them, and fetches, parses and sanitizes each body when the
page opens it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from imapclient import IMAPClient
from playwright.sync_api import Dialog, Frame, Page, Request, expect

from accounts.models import MailAccount
from tests.engine.conftest import account_for
from tests.fixtures.servers import ImapUser
from tests.ui.conftest import PASSWORD


@dataclass
class Mailbox:
    """A signed-in page on a real mailbox; uid n is the n-th appended message."""

    page: Page
    base: str
    folder_url: str
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def open(self, uid: int) -> Frame:
        """Open a message by its permalink; return the body frame once loaded."""
        self.page.goto(f"{self.folder_url}{uid}/")
        expect(self.page.locator(f'#reader .message[data-uid="{uid}"]')).to_have_count(
            1
        )
        handle = self.page.locator("#reader iframe.body").element_handle()
        assert handle is not None, f"message {uid} has no body frame"
        frame = handle.content_frame()
        assert frame is not None
        frame.wait_for_load_state("load")
        return frame

    def foreign_requests(self) -> list[str]:
        """Return the URLs of requests that left the app's origin."""
        return [url for url in self.requests if not _same_origin(url, self.base)]


def _same_origin(url: str, base: str) -> bool:
    # data: images are allowed by the body's policy and never leave the page.
    return url == base or url.startswith((base + "/", "data:", "about:"))


def sign_in_as(
    page: Page, base: str, imap_user: ImapUser, rows: int, timeout: int = 30_000
) -> MailAccount:
    """Sign the server user in and wait until the list shows rows messages.

    The first visit waits (reloading itself) until the worker has synced.
    """
    account = account_for(imap_user)
    account.user.set_password(PASSWORD)
    account.user.save()
    page.goto(f"{base}/accounts/login/")
    page.fill('input[name="username"]', account.user.username)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    expect(page.locator("#list .row")).to_have_count(rows, timeout=timeout)
    return account


def sign_in_to_real_mailbox(
    page: Page,
    base: str,
    imap_user: ImapUser,
    phone: IMAPClient,
    messages: list[bytes],
) -> Mailbox:
    """APPEND messages, sign in, and wait until the worker has synced them."""
    for raw in messages:
        phone.append("INBOX", raw)
    requests: list[str] = []
    dialogs: list[str] = []

    def on_request(request: Request) -> None:
        requests.append(request.url)

    page.on("request", on_request)

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    # Popups (links open in a new tab) are watched as well.
    page.context.on("page", lambda popup: popup.on("dialog", on_dialog))
    sign_in_as(page, base, imap_user, len(messages), timeout=60_000)
    folder_path = page.locator("#list").get_attribute("data-refresh-url")
    assert folder_path
    return Mailbox(page, base, f"{base}{folder_path}", requests, dialogs)
