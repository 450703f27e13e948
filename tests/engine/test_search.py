"""Searching mail on the server: text, filters, every folder, failures.

The searches run in the real worker against a real Dovecot; where a test
runs the search in this process instead, it says why.
"""

from __future__ import annotations

import base64
import socket
import uuid
from datetime import UTC, datetime

import pytest
from django.test import override_settings

from tests.engine.conftest import account_for
from webmail.engine import folderlist, sync
from webmail.engine import search as worker_search
from webmail.engine.connections import with_session
from webmail.imap import CharsetRefused, SearchText
from webmail.mail import reading, search
from webmail.models import Folder, Message
from webmail.shared import searching

pytestmark = pytest.mark.django_db(transaction=True)


def mail(
    subject: str,
    body: str = "Hello there.",
    *,
    sender: str = "Alice <alice@example.org>",
    day: int = 20,
    attachment: bool = False,
) -> bytes:
    """A UTF-8 message (with a PDF attached if asked)."""
    encoded = "=?UTF-8?B?" + base64.b64encode(subject.encode()).decode()
    head = (
        f"From: {sender}\r\nTo: bob@example.org\r\nSubject: {encoded}?=\r\n"
        f"Message-ID: <{uuid.uuid4().hex}@example.org>\r\n"
        f"Date: {day} Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
    )
    text = f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    if not attachment:
        return (head + text).encode()
    return (
        head + 'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        f"--b\r\n{text}--b\r\n"
        'Content-Type: application/pdf; name="plan.pdf"\r\n'
        'Content-Disposition: attachment; filename="plan.pdf"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n"
    ).encode()


def put(phone, folder: str, raw: bytes, flags=(), day: int = 20) -> None:
    """APPEND as another client would, received on that day of Nov 2026."""
    when = datetime(2026, 11, day, 10, 0, tzinfo=UTC)
    phone.append(folder, raw, flags=flags, msg_time=when)


def ready(account, *names: str) -> dict[str, Folder]:
    """Sync the folder list and the named folders (INBOX first) in-process."""
    folderlist.sync_folder_list(account.id)
    rows = {}
    for name in ("INBOX", *names):
        row = Folder.objects.get(account=account, name=name)
        sync.sync_folder(account.id, row.id)
        row.refresh_from_db()
        rows[name] = row
    return rows


def found(account, **params: str) -> search.SearchPage:
    query, errors = search.parse_query(params)
    assert errors == []
    return search.find(account, query, timeout=60)


def subjects(page: search.SearchPage) -> list[str]:
    return [m.subject for m in page.messages]


def test_body_text_is_found_on_the_server_though_the_cache_cannot(
    worker, server_user, other_device
):
    phone = other_device(server_user)
    put(phone, "INBOX", mail("Weekly notes", "The zebracorn escaped again."), day=3)
    put(phone, "INBOX", mail("Lunch", "Soup today."), day=4)
    account = account_for(server_user)
    inbox = ready(account)["INBOX"]

    assert reading.list_messages(account, inbox, query="zebracorn").messages == []
    page = found(account, q="zebracorn", folder=str(inbox.id))
    assert subjects(page) == ["Weekly notes"]
    assert page.error == "" and page.note == ""


def test_japanese_text_finds_a_japanese_message(worker, server_user, other_device):
    phone = other_device(server_user)
    put(phone, "INBOX", mail("定例会議のお知らせ", "明日は第二会議室で行います。"))
    put(phone, "INBOX", mail("Lunch", "Soup today."))
    account = account_for(server_user)
    ready(account)

    assert subjects(found(account, q="第二会議室")) == ["定例会議のお知らせ"]
    assert subjects(found(account, q="会議", field="subject")) == ["定例会議のお知らせ"]
    assert found(account, q="会議", field="from").messages == []


def test_a_message_the_sync_has_not_loaded_yet_is_fetched_and_listed(
    worker, imap_user, other_device
):
    phone = other_device(imap_user)
    put(phone, "INBOX", mail("Old contract", "The signed contract."), day=1)
    for day in range(2, 6):
        put(phone, "INBOX", mail(f"News {day}"), day=day)
    account = account_for(imap_user)
    with override_settings(IMAP_SYNC_BATCH=2):
        inbox = ready(account)["INBOX"]
    assert not inbox.complete
    assert not Message.objects.filter(folder=inbox, subject="Old contract").exists()

    page = found(account, q="contract")
    assert subjects(page) == ["Old contract"]
    cached = Message.objects.get(folder=inbox, subject="Old contract")
    assert cached.uid == 1 and not cached.seen


def test_filters_narrow_the_results(worker, server_user, other_device):
    phone = other_device(server_user)
    put(phone, "INBOX", mail("Plan A", "budget", attachment=True), day=2)
    put(phone, "INBOX", mail("Plan B", "budget"), flags=[b"\\Flagged"], day=10)
    put(phone, "INBOX", mail("Plan C", "budget"), flags=[b"\\Seen"], day=20)
    account = account_for(server_user)
    ready(account)

    assert subjects(found(account, q="budget")) == ["Plan C", "Plan B", "Plan A"]
    assert subjects(found(account, q="budget", unread="1")) == ["Plan B", "Plan A"]
    assert subjects(found(account, q="budget", flagged="1")) == ["Plan B"]
    assert subjects(found(account, q="budget", attachment="1")) == ["Plan A"]
    assert subjects(
        found(account, q="budget", since="2026-11-05", until="2026-11-10")
    ) == ["Plan B"]
    # Filters alone search too.
    assert subjects(found(account, until="2026-11-02")) == ["Plan A"]


def test_every_folder_is_searched_and_the_page_names_the_folder(
    worker, imap_user, other_device, client
):
    phone = other_device(imap_user)
    phone.create_folder("Work")
    put(phone, "Work", mail("Quarterly numbers", "kumquat figures"))
    put(phone, "INBOX", mail("Greetings", "Nothing to see."))
    account = account_for(imap_user)
    inbox = ready(account)["INBOX"]  # Work is listed but was never synced
    work = Folder.objects.get(account=account, name="Work")
    assert work.uidvalidity is None

    assert found(account, q="kumquat", folder=str(inbox.id)).messages == []
    client.force_login(account.user)
    response = client.get(f"/mail/{account.id}/search?q=kumquat&folder=all")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Quarterly numbers" in html and "Greetings" not in html
    assert '<span class="in-folder">Work</span>' in html
    assert f'href="/mail/{account.id}/{work.id}/1/"' in html


def test_results_come_in_pages_newest_first(worker, imap_user, other_device):
    phone = other_device(imap_user)
    for day in range(1, 8):
        put(phone, "INBOX", mail(f"Report {day}", "quince"), day=day)
    account = account_for(imap_user)
    ready(account)
    query, _ = search.parse_query({"q": "quince"})

    seen: list[str] = []
    before = ""
    while True:
        page = search.find(account, query, before=before, limit=3, timeout=60)
        seen += subjects(page)
        before = page.next_before
        if not before:
            break
    assert seen == [f"Report {day}" for day in range(7, 0, -1)]


def test_a_refused_charset_is_seen_as_such(imap_user, other_device):
    """Dovecot refuses an unknown charset as another server refuses UTF-8."""
    put(other_device(imap_user), "INBOX", mail("Hi"))
    account = account_for(imap_user)
    ready(account)

    def refused(session) -> bool:
        session.select("INBOX", readonly=True)
        try:
            session.search_uids("TEXT", SearchText("hi"), charset="X-NO-SUCH")
        except CharsetRefused:
            return True
        return False

    assert with_session(account.id, refused)


def test_without_charset_ascii_is_searched_again_and_other_text_read_here(
    imap_user, other_device, monkeypatch
):
    """Runs the worker's search in this process, asking for a charset Dovecot
    refuses, so that the server answers as one without UTF-8 would."""
    phone = other_device(imap_user)
    put(phone, "INBOX", mail("会議の件", "本文だけにある言葉: 議事録"))
    put(phone, "INBOX", mail("Status", "pomegranate"))
    account = account_for(imap_user)
    ready(account)
    monkeypatch.setattr(worker_search, "CHARSET", "X-NO-SUCH")

    def run(text: str) -> dict:
        query, _ = search.parse_query({"q": text})
        return worker_search.run_search(account.id, query.to_json())

    ascii_answer = run("pomegranate")
    assert ascii_answer["note"] == "" and len(ascii_answer["hits"]) == 1
    japanese = run("議事録")  # only in the body: the worker reads it
    assert japanese["note"] == searching.NOTE_INCOMPLETE
    assert len(japanese["hits"]) == 1
    in_subject = run("会議")
    assert in_subject["note"] == searching.NOTE_INCOMPLETE
    assert len(in_subject["hits"]) == 1
    with override_settings(SEARCH_SCAN_LIMIT=1):  # too many to read
        assert run("議事録") == {"hits": [], "note": searching.NOTE_CACHE_ONLY}
        assert len(run("会議")["hits"]) == 1


def test_the_fallback_decision():
    assert worker_search.retry_without_charset(
        worker_search.criteria(searching.SearchQuery("plan"))
    )
    assert not worker_search.retry_without_charset(
        worker_search.criteria(searching.SearchQuery("会議"))
    )


def test_an_unreachable_server_gives_a_clear_message(worker, imap_user):
    account = account_for(imap_user, imap_port=9)
    Folder.objects.create(account=account, name="INBOX", display_name="INBOX")
    page = found(account, q="anything")
    assert page.messages == []
    assert "cannot be reached" in page.error and "refused" in page.error


def test_a_server_that_does_not_answer_gives_a_clear_message(worker, imap_user):
    # A port that accepts connections and never says a word.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    try:
        account = account_for(imap_user, imap_port=silent.getsockname()[1])
        Folder.objects.create(account=account, name="INBOX", display_name="INBOX")
        query, _ = search.parse_query({"q": "anything"})
        page = search.find(account, query, timeout=1)
    finally:
        silent.close()
    assert page.messages == []
    assert "took too long" in page.error
