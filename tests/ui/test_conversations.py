"""The conversation view: a folder's list by thread, and a thread across folders."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client

from accounts.models import MarkRead, Preference, User
from tests.ui.mail import NOW, account_of, add_folder, add_message
from webmail import conversations
from webmail.models import Folder, Message


@pytest.fixture
def client(alice: User) -> Client:
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def mail(alice: User) -> dict[str, Folder]:
    """A thread of three (two in INBOX, the reply in Sent) and a lone message."""
    account = account_of(alice)
    inbox = add_folder(account, "INBOX")
    sent = add_folder(account, "Sent", "\\Sent")
    root = "<plan@example.net>"
    add_message(
        inbox,
        1,
        "The plan",
        message_id=root,
        thread_key=root,
        seen=True,
        date=NOW - timedelta(hours=5),
    )
    add_message(
        sent,
        7,
        "Re: The plan",
        message_id="<r1@example.org>",
        thread_key=root,
        from_name="Alice",
        seen=True,
        date=NOW - timedelta(hours=3),
    )
    add_message(
        inbox,
        2,
        "Re: The plan",
        message_id="<r2@example.net>",
        thread_key=root,
        from_name="Carol",
        seen=False,
        date=NOW - timedelta(hours=1),
    )
    add_message(
        inbox, 3, "Lunch", message_id="<lunch@example.net>",
        thread_key="<lunch@example.net>", seen=True, date=NOW - timedelta(hours=2),
    )  # fmt: skip
    return {"INBOX": inbox, "Sent": sent}


def test_the_list_groups_a_folder_by_thread_newest_first(
    client: Client, mail: dict[str, Folder]
):
    inbox = mail["INBOX"]
    page = client.get(f"/mail/{inbox.account_id}/{inbox.id}/?view=threads")
    html = page.content.decode()
    rows = re.findall(r'<li id="t(\d+)" class="([^"]+)"', html)
    # One line per conversation: the plan (newest message uid 2), then lunch.
    assert rows == [("2", "row thread unread"), ("3", "row thread")]
    assert 'class="thread-count" title="2 messages">2</span>' in html
    assert "Carol" in html
    assert 'aria-current="page">Conversations</a>' in html
    assert f"/mail/{inbox.account_id}/{inbox.id}/2/thread" in html


def test_a_conversation_shows_its_messages_across_folders_newest_first(
    client: Client, mail: dict[str, Folder]
):
    inbox = mail["INBOX"]
    response = client.get(f"/mail/{inbox.account_id}/{inbox.id}/1/thread")
    assert response.status_code == 200
    html = response.content.decode()
    items = re.findall(
        r'<details class="conversation-message"( open)? data-uid="(\d+)"', html
    )
    assert items == [(" open", "2"), ("", "7"), ("", "1")]
    assert '<span class="in-folder">Sent</span>' in html
    assert f'src="/mail/{inbox.account_id}/{mail["Sent"].id}/7/body"' in html
    assert "3 messages" in html
    assert '<h2 class="subject" id="conversation-subject">The plan</h2>' in html


def test_the_reading_pane_alone_for_htmx(client: Client, mail: dict[str, Folder]):
    inbox = mail["INBOX"]
    response = client.get(
        f"/mail/{inbox.account_id}/{inbox.id}/2/thread",
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="reader",
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<article class="conversation"')
    assert 'id="list"' not in html


def test_opening_a_conversation_marks_it_read(client: Client, mail, alice: User):
    inbox = mail["INBOX"]
    client.get(f"/mail/{inbox.account_id}/{inbox.id}/1/thread")
    assert Message.objects.get(folder=inbox, uid=2).seen
    Preference.objects.create(user=alice, mark_read=MarkRead.NEVER)
    Message.objects.filter(folder=inbox, uid=2).update(seen=False)
    client.get(f"/mail/{inbox.account_id}/{inbox.id}/1/thread")
    assert not Message.objects.get(folder=inbox, uid=2).seen


def test_conversations_page_by_keyset_without_gaps_or_repeats(alice: User):
    account = account_of(alice)
    inbox = add_folder(account, "INBOX")
    uid = 0
    # 23 threads of one to three messages, some sharing dates, and five
    # messages without a Message-ID (each a conversation of its own).
    for n in range(23):
        for reply in range(n % 3 + 1):
            uid += 1
            add_message(
                inbox, uid, f"Thread {n}", thread_key=f"<t{n}@x>",
                date=NOW - timedelta(hours=n // 2, minutes=reply),
            )  # fmt: skip
    for n in range(5):
        uid += 1
        add_message(inbox, uid, f"Lone {n}", date=NOW - timedelta(hours=n * 3))
    seen: list[str] = []
    before = ""
    pages = 0
    while True:
        page = conversations.list_conversations(account, inbox, before=before, limit=4)
        seen += [c.key or f"#{c.newest.uid}" for c in page.conversations]
        pages += 1
        before = page.next_before
        if not before:
            break
    assert pages == 7
    assert len(seen) == len(set(seen)) == 28
    whole = conversations.list_conversations(account, inbox, limit=100)
    assert [c.key or f"#{c.newest.uid}" for c in whole.conversations] == seen
    dates = [c.newest.date for c in whole.conversations]
    assert dates == sorted(dates, reverse=True)
    counts = {c.key: c.count for c in whole.conversations}
    assert counts["<t2@x>"] == 3 and counts["<t3@x>"] == 1


def test_the_older_link_keeps_the_conversation_view(client: Client, alice: User):
    inbox = add_folder(account_of(alice), "INBOX")
    for uid in range(1, 56):
        add_message(inbox, uid, f"Topic {uid}", thread_key=f"<{uid}@x>")
    html = client.get(f"/mail/{inbox.account_id}/{inbox.id}/?view=threads")
    older = re.search(r'class="older" href="([^"]+)"', html.content.decode())
    assert older is not None
    link = older.group(1).replace("&amp;", "&")
    assert "view=threads" in link
    second = client.get(link).content.decode()
    assert re.findall(r'<li id="t(\d+)"', second) == ["51", "52", "53", "54", "55"]


def test_bob_cannot_open_alices_conversations(mail: dict[str, Folder], bob: User):
    inbox = mail["INBOX"]
    bobs = add_folder(account_of(bob), "INBOX")
    add_message(bobs, 1, "Bob's", thread_key="<plan@example.net>")
    client = Client()
    client.force_login(bob)
    paths = [
        f"/mail/{inbox.account_id}/{inbox.id}/1/thread",
        f"/mail/{bobs.account_id}/{inbox.id}/1/thread",
        f"/mail/{inbox.account_id}/{bobs.id}/1/thread",
        f"/mail/{inbox.account_id}/{inbox.id}/?view=threads",
    ]
    for path in paths:
        assert client.get(path).status_code == 404, path
    # His own conversation with the same thread key shows only his message.
    html = client.get(f"/mail/{bobs.account_id}/{bobs.id}/1/thread").content.decode()
    assert re.findall(r'data-uid="(\d+)"', html.split('class="conversation"')[1]) == [
        "1"
    ]
    assert "The plan" not in html
