"""The search page: its URL, its form, other users' ids, and a real search
typed in a real browser (Dovecot, the worker, uvicorn and Chromium)."""

from __future__ import annotations

import pytest
from django.test import Client
from playwright.sync_api import Page, expect

from accounts.models import User
from tests.engine.conftest import (  # noqa: F401 (fixtures)
    account_for,
    engine_env,
    engine_settings,
    worker,
)
from tests.engine.test_search import mail, put
from tests.fixtures.servers import ImapUser
from tests.ui.mail import account_of, add_folder, standard_mailbox
from tests.ui.real_mail import sign_in_as


@pytest.fixture
def alice_client(alice: User) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def test_bob_cannot_search_alices_account_or_folders(alice: User, bob: User):
    folders = standard_mailbox(alice)
    alices = account_of(alice)
    bobs = account_of(bob)
    bobs_inbox = add_folder(bobs, "INBOX")
    client = Client()
    client.force_login(bob)
    for url in (
        f"/mail/{alices.id}/search?q=report",
        f"/mail/{alices.id}/search?q=report&folder={folders['INBOX'].id}",
        f"/mail/{bobs.id}/search?q=report&folder={folders['INBOX'].id}",
        f"/mail/{bobs.id}/search?q=report&folder=not-a-number",
    ):
        assert client.get(url).status_code == 404, url
    # His own account and folder are fine (nothing typed: no search is run).
    response = client.get(f"/mail/{bobs.id}/search?folder={bobs_inbox.id}")
    assert response.status_code == 200


def test_an_empty_search_explains_what_to_do(alice: User, alice_client):
    standard_mailbox(alice)
    account = account_of(alice)
    response = alice_client.get(f"/mail/{account.id}/search?folder=all")
    html = response.content.decode()
    assert "Type some words or pick a filter" in html
    assert '<details class="server-search" open>' in html


def test_a_date_that_cannot_be_read_is_reported_and_kept_out(alice: User, alice_client):
    standard_mailbox(alice)
    account = account_of(alice)
    response = alice_client.get(f"/mail/{account.id}/search?since=31/12/2026")
    html = response.content.decode()
    assert "From date is not a date (YYYY-MM-DD): 31/12/2026" in html


def test_a_folder_page_offers_the_server_search(alice: User, alice_client):
    folders = standard_mailbox(alice)
    account = account_of(alice)
    inbox = folders["INBOX"]
    html = alice_client.get(f"/mail/{account.id}/{inbox.id}/?q=plan").content.decode()
    assert f'action="/mail/{account.id}/search"' in html
    # The folder being read is the one searched, with the words already typed.
    assert f'<option value="{inbox.id}" selected>' in html
    assert 'name="q" value="plan" data-server-search' in html


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.usefixtures("worker")
def test_typing_a_search_lists_results_that_open(
    live_app: str, page: Page, imap_user: ImapUser, other_device
):
    phone = other_device(imap_user)
    phone.create_folder("Projects")
    put(phone, "Projects", mail("Budget 2027", "The persimmon budget is ready."))
    put(phone, "INBOX", mail("Lunch", "Soup today."))
    sign_in_as(page, live_app, imap_user, rows=1)
    page.wait_for_load_state("load")

    page.locator(".server-search summary").click()
    page.fill("[data-server-search]", "persimmon")
    page.select_option('.server-search select[name="folder"]', "all")
    page.locator('.server-search button[type="submit"]').click()

    expect(page.locator("#list h1")).to_contain_text("Search results", timeout=30_000)
    rows = page.locator("#list .row")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".in-folder")).to_have_text("Projects")
    assert "/search?" in page.url and "q=persimmon" in page.url
    rows.first.locator("a.open").click()
    expect(page.locator("#reader .subject")).to_have_text("Budget 2027")
    expect(page.frame_locator("#reader iframe.body").locator("body")).to_contain_text(
        "persimmon budget", timeout=30_000
    )


def test_the_search_form_speaks_japanese(alice: User, alice_client):
    standard_mailbox(alice)
    account = account_of(alice)
    response = alice_client.get(
        f"/mail/{account.id}/search?folder=all", HTTP_ACCEPT_LANGUAGE="ja"
    )
    html = response.content.decode()
    for words in ("サーバーで検索", "すべてのフォルダー", "開始日", "添付ファイルあり"):
        assert words in html


def test_starring_a_search_result_keeps_its_folder_on_the_row(
    alice: User, alice_client
):
    folders = standard_mailbox(alice)
    account = account_of(alice)
    inbox = folders["INBOX"]
    response = alice_client.post(
        f"/mail/{account.id}/{inbox.id}/1/flag",
        {"flagged": "1", "in": "all"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert f'id="m{inbox.id}-1"' in html
    assert '<span class="in-folder">Inbox</span>' in html
    assert 'aria-pressed="true"' in html
    assert inbox.messages.get(uid=1).flagged
