"""The conversation view: a folder's list by thread, and a thread across folders."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import MarkRead, Preference, User
from tests.ui.mail import NOW, account_of, add_folder, add_message
from webmail.mail import conversations
from webmail.models import Folder, Message, PendingOperation


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
    # The plan counts its reply in Sent too.
    assert 'class="thread-count" title="3 messages">3</span>' in html
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


@pytest.fixture
def spread(alice: User) -> dict[str, Folder]:
    """Threads with messages in several folders, Trash and Junk among them.

    Budget: the first message in Archive (unread), a reply in INBOX
    (unread), Alice's answer in Sent, the newest. Party: a message in INBOX,
    newer replies in Trash and Junk. Lunch and News: one INBOX message each.
    """
    account = account_of(alice)
    names = {
        "INBOX": "",
        "Sent": "\\Sent",
        "Archive": "\\Archive",
        "Trash": "\\Trash",
        "Junk": "\\Junk",
    }
    folders = {name: add_folder(account, name, use) for name, use in names.items()}
    inbox = folders["INBOX"]
    budget, party = "<budget@example.net>", "<party@example.net>"
    carol = {"from_name": "Carol", "from_address": "carol@example.net"}
    add_message(
        folders["Archive"], 1, "Budget", message_id=budget, thread_key=budget,
        seen=False, date=NOW - timedelta(hours=10), **carol,
    )  # fmt: skip
    add_message(
        inbox, 5, "Re: Budget", thread_key=budget, seen=False,
        date=NOW - timedelta(hours=6), preview="Can we cut travel?", **carol,
    )  # fmt: skip
    add_message(
        folders["Sent"], 3, "Re: Budget", thread_key=budget, seen=True,
        from_name="Alice", from_address="alice@example.org",
        date=NOW - timedelta(hours=1), preview="Fine by me, cut it.",
    )  # fmt: skip
    add_message(inbox, 6, "Lunch", thread_key="<lunch@x>", seen=True,
                date=NOW - timedelta(hours=3))  # fmt: skip
    add_message(inbox, 7, "News", thread_key="<news@x>", seen=True,
                date=NOW - timedelta(minutes=30))  # fmt: skip
    add_message(inbox, 4, "Party", message_id=party, thread_key=party, seen=True,
                date=NOW - timedelta(hours=8))  # fmt: skip
    add_message(folders["Trash"], 2, "Re: Party", thread_key=party, seen=False,
                date=NOW - timedelta(minutes=20), preview="Binned")  # fmt: skip
    add_message(folders["Junk"], 1, "Re: Party", thread_key=party, seen=False,
                date=NOW - timedelta(minutes=10), preview="Spam")  # fmt: skip
    return folders


def lines(folder: Folder) -> list[tuple[int, int, int, str]]:
    """(uid, count, unread, subject of the newest) of each line, in order."""
    account = account_of(folder.account.user)
    page = conversations.list_conversations(account, folder)
    return [(c.uid, c.count, c.unread, c.newest.subject) for c in page.conversations]


def test_a_thread_across_inbox_sent_and_archive_is_one_line_of_three(
    client: Client, spread: dict[str, Folder]
):
    inbox = spread["INBOX"]
    # Budget sits at the date of the answer in Sent (1 hour ago): after News
    # (30 minutes ago), before Lunch, though its INBOX message is older.
    assert lines(inbox) == [
        (7, 1, 0, "News"),
        (5, 3, 2, "Re: Budget"),
        (6, 1, 0, "Lunch"),
        (4, 1, 0, "Party"),
    ]
    html = client.get(f"/mail/{inbox.account_id}/{inbox.id}/?view=threads")
    text = html.content.decode()
    assert re.findall(r'<li id="t(\d+)" class="([^"]+)"', text) == [
        ("7", "row thread"),
        ("5", "row thread unread"),
        ("6", "row thread"),
        ("4", "row thread"),
    ]
    budget = text.split('id="t5"')[1].split("</li>")[0]
    # The newest message is Alice's own answer: "me", and its text.
    assert '<span class="from">me <span class="thread-count"' in budget
    assert 'title="3 messages">3</span>' in budget
    assert "Fine by me, cut it." in budget
    assert "Can we cut travel?" not in budget
    assert f'href="/mail/{inbox.account_id}/{inbox.id}/5/thread"' in budget
    # The same thread, listed from the other folders, counts the same three.
    assert lines(spread["Archive"]) == [(1, 3, 2, "Re: Budget")]
    assert lines(spread["Sent"]) == [(3, 3, 2, "Re: Budget")]


def test_a_thread_whose_other_messages_are_in_trash_and_junk_counts_one(
    client: Client, spread: dict[str, Folder]
):
    inbox = spread["INBOX"]
    party = conversations.list_conversations(account_of(inbox.account.user), inbox)
    line = party.conversations[-1]
    # Neither the unread replies nor their later dates count in INBOX.
    assert (line.uid, line.count, line.unread) == (4, 1, 0)
    assert line.newest.subject == "Party" and line.latest == NOW - timedelta(hours=8)
    html = client.get(f"/mail/{inbox.account_id}/{inbox.id}/?view=threads")
    row = html.content.decode().split('id="t4"')[1].split("</li>")[0]
    assert "thread-count" not in row and "Binned" not in row
    opened = client.get(f"/mail/{inbox.account_id}/{inbox.id}/4/thread")
    assert re.findall(r'conversation-message"(?: open)? data-uid="(\d+)"',
                      opened.content.decode()) == ["4"]  # fmt: skip
    # Seen from Trash, the thread counts its message there (not Junk's).
    assert lines(spread["Trash"]) == [(2, 2, 1, "Re: Party")]


def test_opening_a_conversation_marks_it_read_in_every_folder_it_counts(
    client: Client, spread: dict[str, Folder]
):
    inbox, archive = spread["INBOX"], spread["Archive"]
    response = client.get(
        f"/mail/{inbox.account_id}/{inbox.id}/5/thread",
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="reader",
    )
    html = response.content.decode()
    assert Message.objects.get(folder=inbox, uid=5).seen
    assert Message.objects.get(folder=archive, uid=1).seen
    queued = PendingOperation.objects.filter(payload__add=["\\Seen"])
    assert sorted(queued.values_list("folder__name", "uids")) == [
        ("Archive", [1]),
        ("INBOX", [5]),
    ]
    # The list's line comes along, read, to replace the bold one.
    assert '<li id="t5" class="row thread" data-uid="5" hx-swap-oob="true">' in html
    assert 'title="3 messages">3</span>' in html
    assert lines(inbox)[1] == (5, 3, 0, "Re: Budget")
    # Opening Party from INBOX leaves its binned replies alone.
    client.get(f"/mail/{inbox.account_id}/{inbox.id}/4/thread")
    assert not Message.objects.get(folder=spread["Trash"], uid=2).seen
    assert not Message.objects.get(folder=spread["Junk"], uid=1).seen


def test_with_a_delay_a_conversation_is_marked_read_when_its_time_is_up(
    client: Client, alice: User, bob: User, spread: dict[str, Folder]
):
    Preference.objects.update_or_create(
        user=alice, defaults={"mark_read": MarkRead.AFTER_DELAY, "mark_read_delay": 4}
    )
    inbox, archive = spread["INBOX"], spread["Archive"]
    html = client.get(
        f"/mail/{inbox.account_id}/{inbox.id}/5/thread",
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="reader",
    ).content.decode()
    url = f"/mail/{inbox.account_id}/{inbox.id}/5/thread/seen"
    # Open, not read yet: the pane asks to be marked read in 4 seconds.
    assert f'data-seen-url="{url}" data-seen-after="4"' in html
    assert not Message.objects.get(folder=inbox, uid=5).seen
    assert not Message.objects.get(folder=archive, uid=1).seen

    intruder = Client()
    intruder.force_login(bob)
    assert intruder.post(url).status_code == 404
    assert not Message.objects.get(folder=inbox, uid=5).seen

    assert client.get(url).status_code == 405
    line = client.post(url).content.decode()
    assert Message.objects.get(folder=inbox, uid=5).seen
    assert Message.objects.get(folder=archive, uid=1).seen
    assert '<li id="t5" class="row thread" data-uid="5" hx-swap-oob="true">' in line
    assert lines(inbox)[1] == (5, 3, 0, "Re: Budget")
    # A thread already read asks for nothing.
    again = client.get(f"/mail/{inbox.account_id}/{inbox.id}/5/thread")
    assert "data-seen-url" not in again.content.decode()


def _cross_folder_mailbox(account) -> dict[str, Folder]:
    """30 INBOX threads reordered by replies in Sent, older mail in Archive,
    newer mail in Trash, equal dates, and messages without a thread."""
    folders = {
        name: add_folder(account, name, use)
        for name, use in (("INBOX", ""), ("Sent", "\\Sent"),
                          ("Archive", "\\Archive"), ("Trash", "\\Trash"))
    }  # fmt: skip
    inbox, uids = folders["INBOX"], dict.fromkeys(folders, 0)

    def add(name: str, key: str, when: timedelta) -> None:
        uids[name] += 1
        add_message(folders[name], uids[name], key or "Lone", thread_key=key,
                    date=NOW - when)  # fmt: skip

    for n in range(30):
        key = f"<t{n}@x>"
        # Threads 20 and 21 end at the same moment.
        add("INBOX", key, timedelta(hours=20 if n == 21 else n))
        if n % 3 == 0:
            add("INBOX", key, timedelta(hours=n, minutes=20))
        if n % 4 == 1:
            add("Sent", key, timedelta(hours=n) - timedelta(minutes=150))
        if n % 5 == 2:
            add("Archive", key, timedelta(days=3, hours=n))
        if n % 7 == 3:
            add("Trash", key, timedelta(hours=-1))
    for k in range(4):
        add("INBOX", "", timedelta(hours=20 if k == 2 else k * 7, minutes=3))
    # A thread of Sent alone has no line in INBOX.
    add("Sent", "<sent-only@x>", timedelta(0))
    assert inbox.messages.count() == 44
    return folders


def _expected(folders: dict[str, Folder]) -> list[tuple[str, int]]:
    """The INBOX lines worked out from the rows: (key or #uid, count)."""
    inbox = folders["INBOX"]
    counted = [f.id for name, f in folders.items() if name != "Trash"]
    latest: dict[str, tuple] = {}
    counts: dict[str, int] = {}
    keys = set(
        inbox.messages.exclude(thread_key="").values_list("thread_key", flat=True)
    )
    for m in Message.objects.filter(folder_id__in=counted, thread_key__in=keys):
        here = m.uid if m.folder_id == inbox.id else 0
        old = latest.get(m.thread_key, (m.date, here))
        latest[m.thread_key] = (max(old[0], m.date), max(old[1], here))
        counts[m.thread_key] = counts.get(m.thread_key, 0) + 1
    order = [(when, uid, key, counts[key]) for key, (when, uid) in latest.items()]
    order += [
        (m.date, m.uid, f"#{m.uid}", 1) for m in inbox.messages.filter(thread_key="")
    ]
    order.sort(reverse=True)
    return [(key, count) for _, _, key, count in order]


@pytest.mark.parametrize("seeks_per_row", [0, 10**9], ids=["read-all", "seek"])
def test_cross_folder_conversations_page_without_gaps_or_repeats(
    alice: User, bob: User, monkeypatch: pytest.MonkeyPatch, seeks_per_row: int
):
    # Both ways of finding the folder's threads give the same pages.
    monkeypatch.setattr(conversations, "SEEKS_PER_ROW", seeks_per_row)
    account = account_of(alice)
    folders = _cross_folder_mailbox(account)
    for folder in folders.values():
        Folder.objects.filter(id=folder.id).update(total=folder.messages.count())
        folder.refresh_from_db()
    # Bob's newer mail in threads of the same keys changes nothing for Alice.
    bobs = add_folder(account_of(bob), "INBOX")
    for n in range(30):
        add_message(bobs, n + 1, "Bob's", thread_key=f"<t{n}@x>", date=NOW)
    inbox = folders["INBOX"]
    expected = _expected(folders)
    assert len(expected) == 34
    keys = [key for key, _ in expected]
    # Thread 1's reply in Sent (90 minutes after NOW) puts it first, thread
    # 5's (2.5 hours before) before 3; 3's newer message in Trash counts not.
    assert expected[0] == ("<t1@x>", 2)
    assert keys[3:7] == ["<t2@x>", "<t5@x>", "<t3@x>", "<t4@x>"]
    assert expected[5] == ("<t3@x>", 2)
    got: list[tuple[str, int]] = []
    before, pages = "", 0
    while True:
        with CaptureQueriesContext(connection) as queries:
            page = conversations.list_conversations(
                account, inbox, before=before, limit=4
            )
        threads = queries.captured_queries[1]["sql"]
        assert ("IN (SELECT" in threads) == bool(seeks_per_row), threads
        got += [(c.key or f"#{c.uid}", c.count) for c in page.conversations]
        pages += 1
        before = page.next_before
        if not before:
            break
    assert pages == 9
    assert got == expected


def test_a_page_of_conversations_is_four_queries_whatever_the_folder(
    alice: User,
    client: Client,
    django_assert_num_queries,
    monkeypatch: pytest.MonkeyPatch,
):
    account = account_of(alice)
    folders = _cross_folder_mailbox(account)
    small = add_folder(account, "Small")
    add_message(small, 1, "Only", thread_key="<only@x>")
    for folder in [*folders.values(), small]:
        Folder.objects.filter(id=folder.id).update(total=folder.messages.count())
        folder.refresh_from_db()
    inbox = folders["INBOX"]
    for seeks_per_row in (0, 10**9):
        # Either way of finding the threads (see the paging test above).
        monkeypatch.setattr(conversations, "SEEKS_PER_ROW", seeks_per_row)
        for folder in (small, inbox):
            with django_assert_num_queries(4):
                page = conversations.list_conversations(account, folder, limit=10)
        with django_assert_num_queries(4):
            conversations.list_conversations(
                account, inbox, before=page.next_before, limit=10
            )
    # The whole page too: as many queries for one line as for fifty.
    counts = []
    client.get(f"/mail/{account.id}/{small.id}/")  # the session's first request
    for folder in (small, inbox):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/mail/{account.id}/{folder.id}/?view=threads")
        assert response.status_code == 200
        counts.append(len(queries))
    lines_shown = re.findall(r'<li id="t\d+"', response.content.decode())
    assert len(lines_shown) == 34
    assert counts[0] == counts[1], [q["sql"][:90] for q in queries.captured_queries]
