"""Search as you type: the list filters from the cache as the user types.

The cache matches the subject, the sender, the recipients and the preview;
Enter searches the whole text on the server (the search page).
"""

from __future__ import annotations

import pytest
from django.test import Client
from playwright.sync_api import Page, expect

from tests.ui.mail import account_of, add_message, standard_mailbox
from tests.ui.test_browser import sign_in

pytestmark = pytest.mark.django_db


def typed(client: Client, url: str, words: str) -> str:
    """The list as the search box asks for it while the user types."""
    answer = client.get(
        url, {"q": words}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="list"
    )
    assert answer.status_code == 200
    return answer.content.decode()


def test_typing_finds_words_of_the_preview_and_the_recipients(alice):
    inbox = standard_mailbox(alice)["INBOX"]
    add_message(inbox, 50, "Plans", preview="Meet at the teahouse by the river")
    add_message(inbox, 51, "Numbers", to=[["Zed", "zed@far.example"]])
    client = Client()
    client.force_login(alice)
    url = f"/mail/{account_of(alice).id}/{inbox.id}/"

    found = typed(client, url, "teahouse")
    assert "Plans" in found and "Numbers" not in found and "Quarterly" not in found
    found = typed(client, url, "zed@far")
    assert "Numbers" in found and "Plans" not in found
    # What stays a filter of the list: its refreshes keep the words.
    assert 'data-refresh-url="' in found and "q=zed%40far" in found


def test_enter_searches_the_server(alice):
    inbox = standard_mailbox(alice)["INBOX"]
    client = Client()
    client.force_login(alice)
    account = account_of(alice)
    page = client.get(f"/mail/{account.id}/{inbox.id}/").content.decode()
    # The box's own form goes to the server search, for this folder.
    assert f'action="/mail/{account.id}/search"' in page
    assert f'name="folder" value="{inbox.id}"' in page


@pytest.mark.browser
def test_a_word_only_in_a_preview_shows_its_message_as_it_is_typed(
    live_app: str, page: Page, alice
):
    inbox = standard_mailbox(alice)["INBOX"]
    add_message(inbox, 50, "Plans", preview="Meet at the teahouse by the river")
    sign_in(page, live_app)
    expect(page.locator("#list .row")).to_have_count(5)

    page.locator("[data-shortcut=search]").press_sequentially("teaho", delay=50)

    expect(page.locator("#list .row")).to_have_count(1)
    expect(page.locator("#list .row")).to_contain_text("Plans")
