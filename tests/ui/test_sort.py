"""Sorting a folder's list: every order, across page boundaries, in the URL."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client

from accounts.models import User
from tests.ui.mail import NOW, account_of, add_folder, add_message
from webmail.mail import reading
from webmail.models import Folder, Message

SENDERS = ["bob", "Alice", "", "carol", "Erin", "dave"]
ADDRESSES = ["b@x.org", "a@x.org", "zed@x.org", "c@x.org", "e@x.org", "d@x.org"]
SUBJECTS = ["Re: apples", "bananas", "FWD: cherries", "apples", "Dates", "fw: eggs"]


@pytest.fixture
def inbox(alice: User) -> Folder:
    """Thirty messages whose senders, subjects, sizes and dates repeat."""
    folder = add_folder(account_of(alice), "INBOX")
    for uid in range(1, 31):
        n = uid % 6
        add_message(
            folder,
            uid,
            f"{SUBJECTS[n]} {uid % 4}",
            from_name=SENDERS[n],
            from_address=ADDRESSES[n],
            size=(uid * 37) % 11 * 1000,
            date=NOW - timedelta(hours=(uid * 7) % 13),
        )
    return folder


def expected(folder: Folder, sort: str, descending: bool) -> list[int]:
    """The order worked out in Python from what the list shows."""

    def key(m: Message) -> object:
        if sort == "from":
            return (m.from_name or m.from_address).lower()
        if sort == "subject":
            return re.sub(r"^(re|fwd?):", "", m.subject, flags=re.I).strip().lower()
        return getattr(m, sort)

    rows = sorted(Message.objects.filter(folder=folder), key=lambda m: (key(m), m.uid))
    uids = [m.uid for m in rows]
    return uids[::-1] if descending else uids


@pytest.mark.parametrize("sort", ["date", "from", "subject", "size"])
@pytest.mark.parametrize("descending", [True, False], ids=["desc", "asc"])
def test_every_order_pages_through_the_whole_folder(
    alice: User, inbox: Folder, sort: str, descending: bool
):
    account = account_of(alice)
    uids: list[int] = []
    before = ""
    pages = 0
    while True:
        page = reading.list_messages(
            account, inbox, before=before, limit=7, sort=sort, descending=descending
        )
        uids += [m.uid for m in page.messages]
        pages += 1
        before = page.next_before
        if not before:
            break
    assert pages == 5
    assert uids == expected(inbox, sort, descending)


def test_the_order_is_kept_in_the_url_and_the_older_link(alice: User, inbox: Folder):
    client = Client()
    client.force_login(alice)
    account = account_of(alice)
    # Sixty messages: two pages of the list.
    for uid in range(31, 61):
        add_message(inbox, uid, f"Zebra {uid}", from_name="Zoe", size=uid)
    url = f"/mail/{account.id}/{inbox.id}/?sort=size&dir=asc"
    first = client.get(url).content.decode()
    shown = [int(u) for u in re.findall(r'data-uid="(\d+)"', first)]
    older = re.search(r'class="older" href="([^"]+)"', first)
    assert older is not None
    link = older.group(1).replace("&amp;", "&")
    assert "sort=size" in link and "dir=asc" in link
    second = client.get(link).content.decode()
    shown += [int(u) for u in re.findall(r'data-uid="(\d+)"', second)]
    assert 'class="older"' not in second
    assert shown == expected(inbox, "size", descending=False)
    assert '<option value="size" selected>' in first
    assert '<option value="asc" selected>' in first


def test_a_cursor_from_another_order_starts_again(alice: User, inbox: Folder):
    account = account_of(alice)
    by_date = reading.list_messages(account, inbox, limit=5)
    page = reading.list_messages(
        account, inbox, before=by_date.next_before, limit=5, sort="from"
    )
    assert [m.uid for m in page.messages] == expected(inbox, "from", False)[:5]
