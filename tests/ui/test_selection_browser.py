"""Selecting messages and the conversation view in a real browser."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, expect

from accounts.models import User
from tests.ui.mail import (
    NOW,
    account_of,
    add_folder,
    add_message,
    cache_body,
    html_mail,
)
from tests.ui.test_browser import sign_in
from webmail.models import Folder, Message, PendingOperation
from webmail.shared import events

pytestmark = pytest.mark.browser
UNREAD = re.compile(r"\bunread\b")


@pytest.fixture
def inbox(alice: User) -> Folder:
    """Six unread messages, uid 1 the newest (at the top of the list)."""
    folder = add_folder(account_of(alice), "INBOX", unseen=6)
    add_folder(account_of(alice), "Archive", "\\Archive")
    for uid in range(1, 7):
        add_message(folder, uid, f"Message {uid}", seen=False)
    return folder


def test_shift_click_selects_a_range_and_mark_read_unbolds_those_rows(
    live_app: str, page: Page, inbox: Folder
):
    sign_in(page, live_app)
    actions = page.locator("#bulk .bulk-actions")
    expect(actions).to_be_hidden()
    page.click("#m2 input[data-pick]")
    expect(actions).to_be_visible()
    page.click("#m4 input[data-pick]", modifiers=["Shift"])
    expect(page.locator("#bulk [data-picked]")).to_have_text("3 selected")
    for uid in (2, 3, 4):
        expect(page.locator(f"#m{uid} input[data-pick]")).to_be_checked()
    for uid in (1, 5, 6):
        expect(page.locator(f"#m{uid} input[data-pick]")).not_to_be_checked()
    page.click("#bulk button[value='read']")
    expect(page.locator("#bulk-status .notice-text")).to_have_text(
        "3 messages marked read."
    )
    for uid in (2, 3, 4):
        expect(page.locator(f"#m{uid}")).not_to_have_class(UNREAD)
        weight = page.locator(f"#m{uid} .subject").evaluate(
            "e => getComputedStyle(e).fontWeight"
        )
        assert weight == "400"
    for uid in (1, 5, 6):
        expect(page.locator(f"#m{uid}")).to_have_class(UNREAD)
    # The list came back fresh: nothing is selected any more.
    expect(page.locator("#list input[data-pick]:checked")).to_have_count(0)
    expect(actions).to_be_hidden()
    seen = set(
        Message.objects.filter(folder=inbox, seen=True).values_list("uid", flat=True)
    )
    assert seen == {2, 3, 4}
    assert PendingOperation.objects.count() == 1


def test_x_selects_and_select_all_offers_the_whole_folder(
    live_app: str, page: Page, inbox: Folder
):
    for uid in range(7, 61):
        add_message(inbox, uid, f"Message {uid}", seen=False)
    sign_in(page, live_app)
    expect(page.locator("#m1")).to_have_class(re.compile(r"\bcursor\b"))
    page.keyboard.press("x")
    expect(page.locator("#m1 input[data-pick]")).to_be_checked()
    page.keyboard.press("j")
    page.keyboard.press("x")
    expect(page.locator("#bulk [data-picked]")).to_have_text("2 selected")
    page.keyboard.press("x")
    expect(page.locator("#bulk [data-picked]")).to_have_text("1 selected")
    page.check("#bulk [data-pick-all]")
    expect(page.locator("#list input[data-pick]:checked")).to_have_count(50)
    offer = page.locator('[data-action="select-everything"]')
    expect(offer).to_have_text("Select all 60 messages in this folder")
    offer.click()
    expect(page.locator("#bulk [data-picked]")).to_have_text(
        "All 60 messages in this folder are selected."
    )
    page.select_option("#bulk select[name='target']", label="Archive")
    page.click("#bulk button[value='move']")
    expect(page.locator("#bulk-status .notice-text")).to_have_text(
        "60 messages moved to Archive."
    )
    expect(page.locator("#list .row")).to_have_count(0)
    assert not Message.objects.filter(folder=inbox).exists()


def test_a_phone_selects_by_tapping_the_checkbox_area(
    live_app: str, browser: Browser, inbox: Folder
):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True
    )
    try:
        page = context.new_page()
        sign_in(page, live_app)
        # A tap beside the box, still in its area, selects rather than opens.
        box = page.locator("#m3 .pick").bounding_box()
        assert box is not None and box["width"] >= 40
        page.touchscreen.tap(box["x"] + 6, box["y"] + box["height"] - 6)
        expect(page.locator("#m3 input[data-pick]")).to_be_checked()
        expect(page.locator("#list")).to_be_visible()
        assert page.url == f"{live_app}/"
        actions = page.locator("#bulk .bulk-actions")
        expect(actions).to_be_visible()
        width = page.evaluate(
            "[document.documentElement.scrollWidth,"
            " document.documentElement.clientWidth]"
        )
        assert width[0] <= width[1]
        page.locator("#bulk button[value='star']").tap()
        expect(page.locator("#bulk-status .notice-text")).to_have_text(
            "1 message starred."
        )
        expect(page.locator('#m3 .star[aria-pressed="true"]')).to_have_count(1)
    finally:
        context.close()


def test_the_conversation_view_groups_a_thread_and_shows_both_messages(
    live_app: str, page: Page, alice: User
):
    account = account_of(alice)
    inbox = add_folder(account, "INBOX")
    sent = add_folder(account, "Sent", "\\Sent")
    root = "<trip@example.net>"
    add_message(
        inbox,
        1,
        "Trip to Kyoto",
        message_id=root,
        thread_key=root,
        date=NOW - timedelta(hours=4),
        seen=True,
    )
    add_message(
        sent,
        1,
        "Re: Trip to Kyoto",
        message_id="<reply@example.org>",
        thread_key=root,
        from_name="Alice",
        date=NOW - timedelta(hours=1),
        seen=True,
    )
    add_message(inbox, 2, "Other", message_id="<o@x>", thread_key="<o@x>",
                date=NOW - timedelta(hours=2))  # fmt: skip
    add_message(inbox, 3, "Re: Trip to Kyoto", thread_key=root,
                date=NOW - timedelta(hours=3), seen=True)  # fmt: skip
    cache_body(inbox, 1, html_mail("<p>Shall we go in April?</p>"))
    cache_body(inbox, 3, html_mail("<p>April works.</p>"))
    cache_body(sent, 1, html_mail("<p>Yes, let us book it.</p>"))
    sign_in(page, live_app)
    expect(page.locator("#list .row")).to_have_count(3)
    page.click(".view-toggle [data-view='threads']")
    page.wait_for_url(re.compile(r"\?view=threads$"))
    rows = page.locator("#list .row")
    expect(rows).to_have_count(2)
    # Newest conversation first: the thread, whose reply in Sent is newer
    # than "Other" and counts too (webmail/mail/conversations.py).
    expect(rows.nth(1).locator(".subject")).to_have_text("Unread: Other")
    thread = rows.first
    expect(thread.locator(".subject")).to_have_text("Re: Trip to Kyoto")
    expect(thread.locator(".thread-count")).to_have_text("3")
    thread.locator("a.open").click()
    page.wait_for_url(re.compile(r"/3/thread$"))
    items = page.locator("#reader .conversation-message")
    # Both messages of the inbox and the reply in Sent, newest first.
    expect(items).to_have_count(3)
    expect(items.nth(0).locator(".in-folder")).to_have_text("Sent")
    newest = page.frame_locator("#reader .conversation-message >> nth=0 >> iframe")
    expect(newest.locator("body")).to_contain_text("let us book it")
    items.nth(2).locator("summary").click()
    oldest = page.frame_locator("#reader .conversation-message >> nth=2 >> iframe")
    expect(oldest.locator("body")).to_contain_text("Shall we go in April?")


def test_the_selection_survives_a_live_refresh_of_the_list(
    live_app: str, page: Page, alice: User, inbox: Folder
):
    sign_in(page, live_app)
    page.click("#m3 input[data-pick]")
    page.click("#m5 input[data-pick]")
    expect(page.locator('#events[data-state="open"]')).to_have_count(1)
    # Another device reads message 1: the list is fetched again.
    inbox.messages.filter(uid=1).update(seen=True)
    first_row = page.locator("#m1")
    for _ in range(20):
        events.publish(alice.pk, {"type": "flags", "folder": inbox.id, "uids": [1]})
        try:
            expect(first_row).not_to_have_class(UNREAD, timeout=500)
            break
        except AssertionError:
            continue
    expect(first_row).not_to_have_class(UNREAD)
    for uid in (3, 5):
        expect(page.locator(f"#m{uid} input[data-pick]")).to_be_checked()
    expect(page.locator("#bulk [data-picked]")).to_have_text("2 selected")
    expect(page.locator("#bulk .bulk-actions")).to_be_visible()


def test_a_selection_over_the_servers_limit_says_what_to_do(
    live_app: str, page: Page, inbox: Folder, settings
):
    # Django takes at most this many form fields: fewer than the rows here.
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 8
    sign_in(page, live_app)
    page.check("#bulk [data-pick-all]")
    expect(page.locator("#bulk [data-picked]")).to_have_text("6 selected")
    page.click("#bulk button[value='read']")
    expect(page.locator("#bulk-status")).to_have_text(
        "Too many messages were selected to act on at once. Select fewer, or "
        "choose the whole folder or search with its “Select all” link, and try "
        "again."
    )
    # Nothing changed, and the selection is still there for another try.
    expect(page.locator("#list input[data-pick]:checked")).to_have_count(6)
    assert not Message.objects.filter(folder=inbox, seen=True).exists()
    assert not PendingOperation.objects.exists()
