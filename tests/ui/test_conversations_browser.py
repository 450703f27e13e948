"""The conversation list in a real browser: threads counted across folders."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from accounts.models import MarkRead, Preference, User
from tests.ui.mail import (
    NOW,
    account_of,
    add_folder,
    add_message,
    cache_body,
    html_mail,
)
from tests.ui.test_browser import errors, sign_in  # noqa: F401 (fixture)
from webmail.models import Message

pytestmark = pytest.mark.browser


def test_a_thread_across_folders_reads_me_and_three_and_opening_unbolds_it(
    live_app: str,
    page: Page,
    alice: User,
    errors: list[str],  # noqa: F811
):
    account = account_of(alice)
    inbox = add_folder(account, "INBOX")
    sent = add_folder(account, "Sent", "\\Sent")
    archive = add_folder(account, "Archive", "\\Archive")
    trash = add_folder(account, "Trash", "\\Trash")
    root = "<kyoto@example.net>"
    carol = {"from_name": "Carol", "from_address": "carol@example.net"}
    add_message(archive, 1, "Trip to Kyoto", message_id=root, thread_key=root,
                seen=False, date=NOW - timedelta(hours=9), **carol)  # fmt: skip
    add_message(inbox, 1, "Re: Trip to Kyoto", thread_key=root, seen=False,
                date=NOW - timedelta(hours=5), **carol)  # fmt: skip
    add_message(inbox, 2, "Lunch", thread_key="<lunch@x>", seen=True,
                date=NOW - timedelta(hours=2))  # fmt: skip
    add_message(sent, 1, "Re: Trip to Kyoto", thread_key=root, seen=True,
                from_name="Alice", from_address="alice@example.org",
                date=NOW - timedelta(hours=1), preview="Let us book it.")  # fmt: skip
    add_message(trash, 1, "Re: Trip to Kyoto", thread_key=root, seen=False,
                date=NOW, preview="Thrown away")  # fmt: skip
    # No worker runs here: the frames show bodies the cache has.
    for folder in (archive, inbox, sent):
        cache_body(folder, 1, html_mail("<p>Kyoto in May?</p>"))
    sign_in(page, live_app)
    errors.clear()
    page.click(".view-toggle [data-view='threads']")
    page.wait_for_url(re.compile(r"\?view=threads$"))
    rows = page.locator("#list .row")
    expect(rows).to_have_count(2)
    # The trip is first (the answer in Sent is newer than Lunch), by "me",
    # with my answer's text, three messages (the one in Trash left out).
    trip = page.locator("#t1")
    expect(rows.first).to_have_id("t1")
    expect(trip.locator(".from")).to_have_text("me 3")
    expect(trip.locator(".thread-count")).to_have_attribute("title", "3 messages")
    expect(trip.locator(".preview")).to_have_text("Let us book it.")
    expect(trip).to_have_class(re.compile(r"\bunread\b"))
    weight = "e => getComputedStyle(e).fontWeight"
    assert trip.locator(".subject").evaluate(weight) == "700"

    trip.locator("a.open").click()
    page.wait_for_url(re.compile(r"/1/thread$"))
    items = page.locator("#reader .conversation-message")
    expect(items).to_have_count(3)
    expect(items.locator(".in-folder")).to_have_text(["Sent", "Inbox", "Archive"])
    # Read in every folder it was counted in: the line is no longer bold.
    expect(trip).not_to_have_class(re.compile(r"\bunread\b"))
    assert trip.locator(".subject").evaluate(weight) == "400"
    expect(trip.locator(".from")).to_have_text("me 3")
    assert Message.objects.get(folder=archive, uid=1).seen
    assert not Message.objects.get(folder=trash, uid=1).seen
    assert errors == []


def test_with_a_one_second_delay_an_open_conversation_turns_read(
    live_app: str,
    page: Page,
    alice: User,
    errors: list[str],  # noqa: F811
):
    Preference.objects.create(
        user=alice, mark_read=MarkRead.AFTER_DELAY, mark_read_delay=1
    )
    account = account_of(alice)
    inbox = add_folder(account, "INBOX")
    archive = add_folder(account, "Archive", "\\Archive")
    root = "<tea@example.net>"
    add_message(archive, 1, "Tea", message_id=root, thread_key=root, seen=False,
                date=NOW - timedelta(hours=3))  # fmt: skip
    add_message(inbox, 1, "Re: Tea", thread_key=root, seen=False,
                date=NOW - timedelta(hours=1))  # fmt: skip
    for folder in (archive, inbox):
        cache_body(folder, 1, html_mail("<p>Green or black?</p>"))
    sign_in(page, live_app)
    errors.clear()
    page.click(".view-toggle [data-view='threads']")
    page.wait_for_url(re.compile(r"\?view=threads$"))
    line = page.locator("#t1")
    line.locator("a.open").click()
    expect(page.locator("#reader .conversation-message")).to_have_count(2)
    # Open but not read yet; a second later the whole thread is.
    expect(line).to_have_class(re.compile(r"\bunread\b"))
    expect(line).not_to_have_class(re.compile(r"\bunread\b"), timeout=10_000)
    assert Message.objects.get(folder=archive, uid=1).seen
    assert Message.objects.get(folder=inbox, uid=1).seen
    assert errors == []
