"""Japanese text is found in ISO-2022-JP and UTF-8 mail, whatever the server.

Cyrus 3.6 finds Japanese body text in UTF-8 mail but in no ISO-2022-JP
body, even with CHARSET UTF-8: there the worker reads the messages of
small folders itself, and the page says the result may be incomplete.
Dovecot finds both on its own, and nothing changes for it. The searches
run in the real worker unless a test says why not.
"""

from __future__ import annotations

from email.header import Header
from email.mime.text import MIMEText

import pytest
from django.test import Client, override_settings

from tests.engine.conftest import account_for
from tests.engine.test_search import found, put, ready, subjects
from webmail.engine import bodies, scan
from webmail.engine import search as worker_search
from webmail.mail import search
from webmail.models import Message
from webmail.shared import searching

pytestmark = pytest.mark.django_db(transaction=True)

INCOMPLETE = "the result may be incomplete"


def japanese(subject: str, body: str, charset: str) -> bytes:
    """A message as Japanese mailers send it, in charset (body and subject)."""
    message = MIMEText(body, "plain", charset)
    message["Subject"] = Header(subject, charset).encode()
    message["From"] = str(Header("山田 太郎", charset)) + " <yamada@example.jp>"
    message["To"] = "bob@example.org"
    return message.as_bytes()


def _mailbox(user, other_device):
    """INBOX in UTF-8, Archive in ISO-2022-JP, all with 来週 in the body only."""
    phone = other_device(user)
    put(phone, "INBOX", japanese("会議のお知らせ", "来週の会議は三階です。\n", "utf-8"))
    put(phone, "INBOX", japanese("昼食", "今日はカレーです。\n", "utf-8"), day=21)
    put(
        phone,
        "Archive",
        japanese("打ち合わせ", "来週の打ち合わせを延期します。\n", "iso-2022-jp"),
        day=22,
    )
    account = account_for(user)
    folders = ready(account, "Archive")
    return account, folders


@pytest.mark.slow
@pytest.mark.other_servers
def test_cyrus_finds_japanese_body_text_in_both_charsets_and_says_it_may_miss_some(
    worker, imap_user_cyrus, other_device
):
    account, folders = _mailbox(imap_user_cyrus, other_device)

    # The server alone finds the UTF-8 message: the usual path, no note.
    in_inbox = found(account, q="来週", folder=str(folders["INBOX"].id))
    assert subjects(in_inbox) == ["会議のお知らせ"] and in_inbox.note == ""

    # In ISO-2022-JP Cyrus finds nothing: the worker reads the folder.
    in_archive = found(account, q="来週", folder=str(folders["Archive"].id))
    assert subjects(in_archive) == ["打ち合わせ"]
    assert INCOMPLETE in in_archive.note

    # Cyrus was seen to miss Japanese text: where it finds some, the
    # folders where it finds none are read as well.
    everywhere = found(account, q="来週の", field="body")
    assert subjects(everywhere) == ["打ち合わせ", "会議のお知らせ"]
    assert INCOMPLETE in everywhere.note
    # The sender's name is searched as well.
    assert subjects(found(account, q="山田", field="from")) == [
        "打ち合わせ",
        "昼食",
        "会議のお知らせ",
    ]
    # Nothing anywhere: nothing found, and no note.
    nothing = found(account, q="再来年")
    assert nothing.messages == [] and nothing.note == ""

    client = Client()
    client.force_login(account.user)
    page = client.get(f"/mail/{account.id}/search?q=来週&folder=all")
    assert page.status_code == 200
    html = page.content.decode()
    assert "打ち合わせ" in html and "会議のお知らせ" in html and "昼食" not in html
    assert INCOMPLETE in html


@pytest.mark.slow
@pytest.mark.other_servers
def test_a_folder_over_the_limit_is_searched_in_the_cache_only(
    imap_user_cyrus, other_device
):
    """Run in this process, so that the limit can be lowered."""
    account, folders = _mailbox(imap_user_cyrus, other_device)

    def run(text: str) -> dict:
        query, _ = search.parse_query({"q": text})
        return worker_search.run_search(account.id, query.to_json())

    archive = folders["Archive"]
    with override_settings(SEARCH_SCAN_LIMIT=0):
        assert run("延期") == {"hits": [], "note": ""}  # only in the body
        # Once the message was opened, its preview holds the word.
        bodies.load_body(account.id, archive.id, 1)
        answer = run("延期")
    (row,) = Message.objects.filter(id__in=[row for _, row in answer["hits"]])
    assert row.subject == "打ち合わせ" and row.folder_id == archive.id
    assert answer["note"] == searching.NOTE_INCOMPLETE


def test_dovecot_finds_both_charsets_itself(imap_user, other_device, monkeypatch):
    """Run in this process, to show that the worker reads no message itself."""
    account, _ = _mailbox(imap_user, other_device)

    def no_reading(*args: object) -> list[int]:
        raise AssertionError("read messages though the server found them")

    monkeypatch.setattr(scan, "scan_messages", no_reading)
    query, _ = search.parse_query({"q": "来週"})
    answer = worker_search.run_search(account.id, query.to_json())
    assert len(answer["hits"]) == 2 and answer["note"] == ""


def test_dovecot_pages_show_no_note(worker, imap_user, other_device):
    account, _ = _mailbox(imap_user, other_device)
    page = found(account, q="延期")
    assert subjects(page) == ["打ち合わせ"] and page.note == ""
    assert subjects(found(account, q="山田", field="from")) == [
        "打ち合わせ",
        "昼食",
        "会議のお知らせ",
    ]
