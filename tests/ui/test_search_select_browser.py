"""Selecting search results in a real browser and acting on them.

Real Dovecot, the real worker, uvicorn and Chromium; the phone (a second
IMAP connection) checks the server.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.engine.conftest import (  # noqa: F401 (fixtures)
    account_for,
    engine_env,
    engine_settings,
    wait_for,
    worker,
)
from tests.engine.test_search import mail, put, ready
from tests.fixtures.servers import ImapUser
from tests.ui.conftest import PASSWORD
from tests.ui.test_browser import sign_in

UNREAD = re.compile(r"\bunread\b")


def seen_on_server(phone, folder: str) -> set[int]:
    phone.select_folder(folder, readonly=True)
    return set(phone.search(["SEEN"]))


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.usefixtures("worker")
def test_marking_results_of_two_folders_read_reaches_the_server(
    live_app: str, page: Page, imap_user: ImapUser, other_device
):
    phone = other_device(imap_user)
    phone.create_folder("Projects")
    # Newest first in the results: Tea order, Plum jam, Budget.
    put(phone, "INBOX", mail("Tea order", "persimmon tea", day=22), day=22)
    put(phone, "INBOX", mail("Plum jam", "persimmon jam", day=21), day=21)
    put(phone, "Projects", mail("Budget", "persimmon budget", day=20), day=20)
    put(phone, "INBOX", mail("Lunch", "Soup today.", day=19), day=19)
    account = account_for(imap_user)
    ready(account, "Projects")
    account.user.set_password(PASSWORD)
    account.user.save()

    sign_in(page, live_app, username=account.user.username)
    page.locator(".server-search summary").click()
    page.fill("[data-server-search]", "persimmon")
    page.select_option('.server-search select[name="folder"]', "all")
    page.locator('.server-search button[type="submit"]').click()
    expect(page.locator("#list h1")).to_contain_text("Search results", timeout=30_000)

    rows = page.locator("#list .row")
    expect(rows).to_have_count(3)
    tea, jam, budget = (rows.filter(has_text=s) for s in ("Tea", "Plum", "Budget"))
    expect(budget.locator(".in-folder")).to_have_text("Projects")
    actions = page.locator("#bulk .bulk-actions")
    expect(actions).to_be_hidden()
    # A click and a shift+click take the range; a click drops the middle one.
    tea.locator("input[data-pick]").click()
    budget.locator("input[data-pick]").click(modifiers=["Shift"])
    expect(page.locator("#bulk [data-picked]")).to_have_text("3 selected")
    jam.locator("input[data-pick]").click()
    expect(page.locator("#bulk [data-picked]")).to_have_text("2 selected")
    expect(actions).to_be_visible()
    page.click("#bulk button[value='read']")

    expect(page.locator("#bulk-status .notice-text")).to_have_text(
        "2 messages marked read."
    )
    expect(tea).not_to_have_class(UNREAD)
    expect(budget).not_to_have_class(UNREAD)
    expect(jam).to_have_class(UNREAD)
    # Still the same results, now with nothing selected.
    expect(rows).to_have_count(3)
    expect(page.locator("#list input[data-pick]:checked")).to_have_count(0)
    assert "/search?" in page.url

    wait_for(
        lambda: (
            seen_on_server(phone, "Projects") == {1}
            and seen_on_server(phone, "INBOX") == {1}
        ),
        timeout=30,
        what="\\Seen on both results on the server",
    )
    # Plum jam (INBOX 2) and Lunch (INBOX 3) stay unread there.
    assert seen_on_server(phone, "INBOX") == {1}


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.usefixtures("worker")
def test_select_all_offers_every_result_of_the_search(
    live_app: str, page: Page, imap_user: ImapUser, other_device
):
    phone = other_device(imap_user)
    phone.create_folder("Projects")
    for n in range(54):
        put(phone, "INBOX" if n % 2 else "Projects", mail(f"Kiwi {n}", "fruit"))
    put(phone, "INBOX", mail("Lunch", "Soup today."))
    account = account_for(imap_user)
    ready(account, "Projects")
    account.user.set_password(PASSWORD)
    account.user.save()

    sign_in(page, live_app, username=account.user.username)
    page.goto(f"{live_app}/mail/{account.id}/search?q=kiwi&field=subject&folder=all")
    expect(page.locator("#list .row")).to_have_count(50, timeout=30_000)
    page.wait_for_selector("html.js", state="attached")
    page.check("#bulk [data-pick-all]")
    expect(page.locator("#list input[data-pick]:checked")).to_have_count(50)
    offer = page.locator('[data-action="select-everything"]')
    expect(offer).to_have_text("Select all 54 results of this search")
    offer.click()
    expect(page.locator("#bulk [data-picked]")).to_have_text(
        "All 54 results of this search are selected."
    )
    page.click("#bulk button[value='star']")
    expect(page.locator("#bulk-status .notice-text")).to_have_text(
        "54 messages starred."
    )
    expect(page.locator('#list .star[aria-pressed="true"]')).to_have_count(50)

    def flagged() -> int:
        total = 0
        for folder in ("INBOX", "Projects"):
            phone.select_folder(folder, readonly=True)
            total += len(phone.search(["FLAGGED"]))
        return total

    wait_for(lambda: flagged() == 54, timeout=30, what="54 flagged on the server")
