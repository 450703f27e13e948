"""Desktop notifications for new mail, in real Chromium with real servers.

The permission is granted through Playwright; window.Notification is
replaced by a recorder (an init script) that asks the real API for the
permission, so the test sees each notification the page makes.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.engine.conftest import (  # noqa: F401 (fixtures)
    engine_env,
    engine_settings,
    message_bytes,
    worker,
)
from tests.fixtures.servers import ImapUser
from tests.ui.real_mail import sign_in_to_real_mailbox

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.usefixtures("worker"),
]

RECORDER = """
(() => {
  const Real = window.Notification;
  window.__notes = [];
  window.__asked = 0;
  // Playwright's pages all count as focused; the test says when this is not.
  window.__focused = true;
  document.hasFocus = () => window.__focused;
  class Recorder {
    constructor(title, options = {}) {
      this.title = title;
      this.body = options.body;
      this.tag = options.tag;
      this.onclick = null;
      window.__notes.push(this);
    }
    close() { this.closed = true; }
    static get permission() { return Real.permission; }
    static requestPermission() {
      window.__asked += 1;
      return Real.requestPermission();
    }
  }
  window.Notification = Recorder;
})();
"""


def notes(page: Page) -> list[dict[str, str]]:
    return page.evaluate(
        "() => window.__notes.map(n => ({title: n.title, body: n.body}))"
    )


def test_new_mail_makes_a_notification_that_opens_the_message(
    live_app: str, page: Page, imap_user: ImapUser, other_device
):
    page.context.grant_permissions(["notifications"], origin=live_app)
    page.add_init_script(RECORDER)
    phone = other_device(imap_user)
    mailbox = sign_in_to_real_mailbox(
        page, live_app, imap_user, phone, [message_bytes("First")]
    )
    expect(page.locator('#events[data-state="open"]')).to_have_count(1)
    # Nothing is asked on load; the button asks once clicked.
    assert page.evaluate("window.__asked") == 0
    button = page.locator('[data-action="notify"]')
    expect(button).to_have_text("Notify me of new mail")
    button.click()
    expect(button).to_have_text("Stop new mail notifications")
    assert page.evaluate("window.__asked") == 1
    assert page.evaluate("localStorage.getItem('webmail.notify')") == "on"

    # A tab the user looks at shows the new row and makes no notification.
    phone.append("INBOX", message_bytes("Seen in the list"))
    expect(page.locator("#list .row")).to_have_count(2, timeout=20_000)

    page.evaluate("window.__focused = false")
    phone.append("INBOX", message_bytes("Budget for 2027"))
    expect(page.locator("#list .row")).to_have_count(3, timeout=20_000)
    page.wait_for_function("window.__notes.length > 0")
    assert notes(page) == [{"title": "Alice", "body": "Budget for 2027"}]

    page.evaluate("window.__notes[0].onclick()")
    page.wait_for_url(re.compile(r"/3/$"))
    expect(page.locator("#reader h2.subject")).to_have_text("Budget for 2027")
    assert page.url == f"{mailbox.folder_url}3/"


def test_the_choice_is_remembered_and_can_be_undone(
    live_app: str, page: Page, imap_user: ImapUser, other_device
):
    page.context.grant_permissions(["notifications"], origin=live_app)
    page.add_init_script(RECORDER)
    phone = other_device(imap_user)
    sign_in_to_real_mailbox(page, live_app, imap_user, phone, [message_bytes("One")])
    page.click('[data-action="notify"]')
    page.reload()
    button = page.locator('[data-action="notify"]')
    expect(button).to_have_text("Stop new mail notifications")
    button.click()
    expect(button).to_have_text("Notify me of new mail")
    assert page.evaluate("localStorage.getItem('webmail.notify')") == "off"
    expect(page.locator('#events[data-state="open"]')).to_have_count(1)
    page.evaluate("window.__focused = false")
    phone.append("INBOX", message_bytes("Quiet"))
    expect(page.locator("#list .row")).to_have_count(2, timeout=20_000)
    assert notes(page) == []
    # Turning it off (after the reload) does not ask the browser.
    assert page.evaluate("window.__asked") == 0
