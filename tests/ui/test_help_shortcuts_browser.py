"""Every shortcut the help overlay lists does what it says, in Chromium.

The list of keys is read from the overlay itself: a row added there without
a working key (and a step here) fails the first assertion.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.ui.mail import account_of, add_folder, standard_mailbox
from tests.ui.test_browser import sign_in

pytestmark = pytest.mark.browser

LISTED = [
    ["j", "k"],
    ["o", "Enter"],
    ["u"],
    ["x"],
    ["s"],
    ["#"],
    ["Shift", "u"],
    ["e"],
    ["v", "m"],
    ["!"],
    ["z"],
    ["c"],
    ["r"],
    ["a"],
    ["f"],
    ["/"],
    ["?"],
]


def ready(page: Page) -> None:
    page.wait_for_load_state("load")
    page.wait_for_selector("html.js", state="attached")


def opened(page: Page, subject: str) -> None:
    expect(page.locator("#reader h2.subject")).to_have_text(subject)


def test_every_listed_shortcut_works(live_app: str, page: Page, alice, settings):
    settings.UNDO_SECONDS = 30
    standard_mailbox(alice)
    add_folder(account_of(alice), "Junk", "\\Junk")
    sign_in(page, live_app)
    page.keyboard.press("?")
    help_box = page.locator("#help")
    expect(help_box).to_be_visible()
    rows = help_box.locator("tr")
    listed = [rows.nth(i).locator("kbd").all_inner_texts() for i in range(rows.count())]
    assert listed == LISTED
    page.keyboard.press("Escape")
    expect(help_box).to_be_hidden()
    status = page.locator("#bulk-status .notice-text")

    # j / k move the cursor down and up the list; x selects.
    expect(page.locator("#m1")).to_have_class(re.compile(r"\bcursor\b"))
    page.keyboard.press("j")
    expect(page.locator("#m2")).to_have_class(re.compile(r"\bcursor\b"))
    page.keyboard.press("k")
    expect(page.locator("#m1")).to_have_class(re.compile(r"\bcursor\b"))
    page.keyboard.press("x")
    expect(page.locator("#m1 input[type=checkbox]")).to_be_checked()
    page.keyboard.press("x")
    expect(page.locator("#m1 input[type=checkbox]")).not_to_be_checked()

    # o opens, u goes back to the list, Enter opens again.
    page.keyboard.press("o")
    opened(page, "Quarterly report")
    page.keyboard.press("u")
    expect(page.locator("#reader h2.subject")).to_have_count(0)
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("Enter")
    opened(page, "Quarterly report")

    # s stars, Shift+u marks unread (and goes back to the list).
    page.keyboard.press("s")
    expect(page.locator('#reader [data-action="star"]')).to_have_attribute(
        "aria-pressed", "true"
    )
    page.keyboard.press("Shift+U")
    expect(page.locator("#m1")).to_have_class(re.compile(r"\bunread\b"))
    expect(page.locator("#bulk-status .notice-text")).to_have_text("Marked unread.")
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("o")
    opened(page, "Quarterly report")

    # v and m open the "Move to" menu with its folder list focused.
    for key in ("v", "m"):
        page.locator("#reader h2.subject").focus()
        page.evaluate("document.querySelector('#reader .move-menu').open = false")
        page.keyboard.press(key)
        expect(page.locator("#reader .move-menu")).to_have_attribute("open", "")
        expect(page.locator("#reader [data-move-target]")).to_be_focused()
    page.locator("#reader h2.subject").focus()

    # r, a, f write a reply, a reply to all, a forward.
    for key, asked in (("r", "reply="), ("a", "reply_all="), ("f", "forward=")):
        page.keyboard.press(key)
        page.wait_for_url(re.compile(f"/compose/\\?{asked}"))
        page.go_back()
        ready(page)
        opened(page, "Quarterly report")

    # e archives, # deletes, z undoes the delete, ! reports spam.
    page.keyboard.press("e")
    expect(status).to_have_text("Archived.")
    expect(page.locator("#m1")).to_have_count(0)
    opened(page, "Lunch on Friday?")
    page.keyboard.press("#")
    expect(status).to_have_text("Moved to the trash.")
    expect(page.locator("#m2")).to_have_count(0)
    page.keyboard.press("z")
    expect(status).to_contain_text("Undone")
    expect(page.locator("#m2")).to_have_count(1)
    opened(page, "Re: the plan")
    page.keyboard.press("!")
    expect(status).to_have_text("Reported as spam.")
    expect(page.locator("#m3")).to_have_count(0)

    # / goes to the search box; c writes a new message.
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("/")
    expect(page.locator('[data-shortcut="search"]')).to_be_focused()
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("c")
    page.wait_for_url(re.compile(r"/compose/$"))
