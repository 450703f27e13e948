"""Where a page sits in its list: "51-100 of 311", newer and older, permalinks.

From the cache; tests/ui/test_list_place_browser.py does the same on a real
Dovecot through the worker and Chromium.
"""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.test import Client

from accounts.models import User
from tests.ui.mail import NOW, account_of, add_folder, add_message
from webmail.models import Folder

pytestmark = pytest.mark.django_db


@pytest.fixture
def inbox(alice: User) -> Folder:
    """311 messages; dates repeat in fours, so pages split equal dates."""
    folder = add_folder(account_of(alice), "INBOX")
    for uid in range(1, 312):
        add_message(
            folder,
            uid,
            f"Message {uid}",
            size=(uid * 37) % 11 * 1000,
            date=NOW - timedelta(hours=uid // 4),
        )
    return folder


@pytest.fixture
def client(alice: User) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def link(html: str, name: str) -> str | None:
    found = re.search(rf'class="{name}" href="([^"]+)"', html)
    return unescape(found.group(1)) if found else None


def place(html: str) -> str:
    found = re.search(r'<span class="place">([^<]+)</span>', html)
    assert found is not None, "the list does not say where it is"
    # The page prints an en dash between the numbers.
    return found.group(1).replace("\u2013", "-")


def uids(html: str) -> list[int]:
    return [
        int(uid)
        for uid in re.findall(r'<li id="m\d+" class="row[^"]*" data-uid="(\d+)"', html)
    ]


@pytest.mark.parametrize("sort", ["date", "size"])
def test_older_and_newer_walk_the_list_and_say_where_they_are(
    client: Client, inbox: Folder, sort: str
):
    url = f"/mail/{inbox.account_id}/{inbox.id}/?sort={sort}"
    pages = []
    html = client.get(url).content.decode()
    while True:
        pages.append((place(html), uids(html), html))
        older = link(html, "older-page")
        if older is None:
            break
        html = client.get(older).content.decode()
    assert [p for p, _u, _h in pages] == [
        "1-50 of 311", "51-100 of 311", "101-150 of 311", "151-200 of 311",
        "201-250 of 311", "251-300 of 311", "301-311 of 311",
    ]  # fmt: skip
    listed = [uid for _p, page_uids, _h in pages for uid in page_uids]
    assert sorted(listed) == list(range(1, 312))
    # Newer goes back page by page to the same rows.
    assert link(pages[0][2], "newer") is None
    for number in range(len(pages) - 1, 0, -1):
        newer = link(pages[number][2], "newer")
        assert newer is not None
        back = client.get(newer).content.decode()
        assert uids(back) == pages[number - 1][1]
        assert place(back) == pages[number - 1][0]


def test_a_page_keeps_its_rows_when_new_mail_arrives_above(
    client: Client, inbox: Folder
):
    first = client.get(f"/mail/{inbox.account_id}/{inbox.id}/").content.decode()
    second_url = link(first, "older-page")
    assert second_url is not None
    before = client.get(second_url).content.decode()
    for uid in range(400, 405):
        add_message(inbox, uid, f"New {uid}", date=NOW + timedelta(hours=1))
    after = client.get(second_url).content.decode()
    assert uids(after) == uids(before)
    assert place(after) == "56-105 of 316"
    # The refresh of the page is that page, not page 1.
    refresh = re.search(r'data-refresh-url="([^"]+)"', after)
    assert refresh is not None and unescape(refresh.group(1)) == second_url


def test_a_permalink_to_an_old_message_shows_its_page_with_its_row_current(
    client: Client, inbox: Folder
):
    html = client.get(f"/mail/{inbox.account_id}/{inbox.id}/180/").content.decode()
    assert place(html) == "151-200 of 311"
    assert re.search(r'class="row[^"]*current[^"]*" data-uid="180"', html)
    assert 'data-uid="180" data-url=' in html  # the message is open too
    recent = client.get(f"/mail/{inbox.account_id}/{inbox.id}/7/").content.decode()
    assert place(recent) == "1-50 of 311"
    assert link(recent, "newer") is None


def test_an_action_from_the_pane_comes_back_to_the_users_page(
    client: Client, inbox: Folder
):
    page_three = client.get(
        f"/mail/{inbox.account_id}/{inbox.id}/120/"
    ).content.decode()
    cursor = re.search(r'data-list="([^"]*)"', page_three)
    assert cursor is not None and "before=" in cursor.group(1)
    answer = client.post(
        f"/mail/{inbox.account_id}/{inbox.id}/120/unread",
        {"list": unescape(cursor.group(1))},
        HTTP_HX_REQUEST="true",
    )
    html = answer.content.decode()
    assert place(html) == "101-150 of 311"
    assert "before=" in answer["HX-Push-Url"]
