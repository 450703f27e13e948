"""The compose page: writing, replying and forwarding, in Django's client."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.ui.mail import account_of, add_message, standard_mailbox
from webmail.mail.compose import base_subject, quote
from webmail.mime.parse import parse_message
from webmail.models import OutgoingMessage
from webmail.shared import bodycache

pytestmark = pytest.mark.django_db

ORIGINAL = (
    "From: Dana <dana@example.net>\r\n"
    "Reply-To: Team <team@example.net>\r\n"
    "To: alice@example.org, carol@example.net\r\n"
    "Cc: Alice <ALICE@example.org>, erin@example.net\r\n"
    "Subject: Re: Fwd: 予定\r\n"
    "Message-ID: <two@example.net>\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\n"
    "明日は雨です。\r\n> 前の文\r\n"
).encode()


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _original(alice):
    folders = standard_mailbox(alice)
    inbox = folders["INBOX"]
    add_message(
        inbox,
        9,
        "Re: Fwd: 予定",
        from_name="Dana",
        to=[["", "alice@example.org"], ["", "carol@example.net"]],
        cc=[["Alice", "ALICE@example.org"], ["", "erin@example.net"]],
        message_id="<two@example.net>",
        references="<one@example.net>",
    )
    parsed = parse_message(ORIGINAL)
    body = {
        "text": parsed.text,
        "raw_html": "",
        "html": "",
        "attachments": [],
        "reply_to": [[a.name, a.address] for a in parsed.reply_to],
    }
    cache.set(bodycache.cache_key(inbox.account_id, inbox, 9), body, 600)
    return inbox


def test_subject_prefixes_do_not_pile_up():
    assert base_subject("Re: RE: Fwd: AW: Re[2]: 予定") == "予定"
    assert base_subject("Re\uff1a会議") == "会議"
    assert base_subject("Reunion") == "Reunion"


def test_quoting_marks_each_line():
    assert quote("a\n> b\n\nc\n") == "> a\n>> b\n> \n> c"


def test_the_mailbox_has_a_write_button(alice):
    folders = standard_mailbox(alice)
    account = account_of(alice)
    page = _client(alice).get(f"/mail/{account.id}/{folders['INBOX'].id}/")
    assert f'href="/mail/{account.id}/compose/" data-action="compose"' in (
        page.content.decode()
    )


def test_a_new_message_is_recorded_and_its_status_shown(alice):
    account = account_of(alice)
    client = _client(alice)
    assert client.get(f"/mail/{account.id}/compose/").status_code == 200

    answer = client.post(
        f"/mail/{account.id}/compose/",
        {
            "to": "花子 <hanako@example.jp>, bob@example.org",
            "cc": "",
            "bcc": "boss@example.org",
            "subject": "会議",
            "body": "十時から。",
        },
    )

    row = OutgoingMessage.objects.get(account=account)
    assert answer.status_code == 302
    assert answer["Location"] == f"/mail/{account.id}/compose/sent/{row.id}"
    assert row.recipients == [
        "hanako@example.jp",
        "bob@example.org",
        "boss@example.org",
    ]
    parsed = parse_message(bytes(row.raw))
    assert (parsed.subject, parsed.text) == ("会議", "十時から。\n")
    assert [a.address for a in parsed.from_] == ["alice@example.org"]
    status = client.get(answer["Location"])
    assert "Sending…" in status.content.decode()
    row.state = "sent"
    row.save()
    assert "Sent" in client.get(answer["Location"]).content.decode()


def test_a_message_without_files_is_recorded_by_its_insert_alone(alice):
    account = account_of(alice)
    client = _client(alice)
    assert client.get(f"/mail/{account.id}/compose/").status_code == 200
    form = {"to": "bob@example.org", "subject": "Lunch", "body": "At noon."}

    with CaptureQueriesContext(connection) as queries:
        answer = client.post(f"/mail/{account.id}/compose/", form)

    assert answer.status_code == 302
    written = [q["sql"] for q in queries.captured_queries]
    [insert] = [n for n, q in enumerate(written) if "webmail_outgoingmessage" in q]
    assert written[insert].startswith("INSERT")
    # No transaction of its own: the INSERT is one.
    assert not written[insert - 1].startswith("SAVEPOINT")
    assert [q for q in written if "webmail_upload" in q] == []
    row = OutgoingMessage.objects.get(account=account)
    assert parse_message(bytes(row.raw)).text == "At noon.\n"


@pytest.mark.parametrize(
    ("to", "error"),
    [
        ("", "Add at least one recipient."),
        ("bob@example.org, not-an-address", "“not-an-address” is not an email"),
    ],
)
def test_bad_recipients_are_said_and_nothing_is_lost(alice, to, error):
    account = account_of(alice)
    answer = _client(alice).post(
        f"/mail/{account.id}/compose/",
        {"to": to, "subject": "Kept", "body": "Text that stays."},
    )
    assert answer.status_code == 400
    page = answer.content.decode()
    assert error in page
    assert "Text that stays." in page and 'value="Kept"' in page
    assert not OutgoingMessage.objects.exists()


def test_reply_goes_to_reply_to_with_threading_and_quote(alice):
    inbox = _original(alice)
    account = account_of(alice)
    page = _client(alice).get(f"/mail/{account.id}/compose/?reply={inbox.id}:9")
    context = page.context
    assert context["to"] == "Team <team@example.net>"
    assert context["cc"] == ""
    assert context["subject"] == "Re: 予定"
    assert "> 明日は雨です。\n>> 前の文" in context["body"]
    assert context["in_reply_to"] == "<two@example.net>"
    assert context["references"] == "<one@example.net> <two@example.net>"
    assert context["original"] == f"{inbox.id}:9:\\Answered"


def test_reply_all_leaves_out_the_users_own_address(alice):
    inbox = _original(alice)
    account = account_of(alice)
    page = _client(alice).get(f"/mail/{account.id}/compose/?reply_all={inbox.id}:9")
    assert page.context["to"] == "Team <team@example.net>, carol@example.net"
    assert page.context["cc"] == "erin@example.net"


def test_forward_quotes_the_original_below_its_headers(alice):
    inbox = _original(alice)
    account = account_of(alice)
    page = _client(alice).get(f"/mail/{account.id}/compose/?forward={inbox.id}:9")
    assert page.context["to"] == ""
    assert page.context["subject"] == "Fwd: 予定"
    assert "Forwarded message" in page.context["body"]
    assert "明日は雨です。" in page.context["body"]
    assert page.context["original"] == f"{inbox.id}:9:$Forwarded"


def test_sending_a_reply_records_its_original(alice):
    inbox = _original(alice)
    account = account_of(alice)
    _client(alice).post(
        f"/mail/{account.id}/compose/",
        {
            "to": "team@example.net",
            "subject": "Re: 予定",
            "body": "はい",
            "original": f"{inbox.id}:9:\\Answered",
            "in_reply_to": "<two@example.net>",
            "references": "<one@example.net> <two@example.net>",
        },
    )
    row = OutgoingMessage.objects.get(account=account)
    assert (row.original_folder_id, row.original_uid) == (inbox.id, 9)
    assert row.original_flag == "\\Answered"
    parsed = parse_message(bytes(row.raw))
    assert parsed.in_reply_to == "<two@example.net>"
    assert parsed.references == ("<one@example.net>", "<two@example.net>")


def test_the_reading_pane_links_reply_reply_all_and_forward(alice):
    inbox = _original(alice)
    account = account_of(alice)
    page = _client(alice).get(f"/mail/{account.id}/{inbox.id}/9/").content.decode()
    base = f"/mail/{account.id}/compose/"
    assert f'href="{base}?reply={inbox.id}%3A9" data-action="reply"' in page
    assert f'href="{base}?reply_all={inbox.id}%3A9" data-action="reply-all"' in page
    assert f'href="{base}?forward={inbox.id}%3A9" data-action="forward"' in page


def test_another_users_message_cannot_be_replied_to(alice, bob):
    inbox = _original(alice)
    bobs = account_of(bob)
    for mode in ("reply", "reply_all", "forward"):
        url = f"/mail/{bobs.id}/compose/?{mode}={inbox.id}:9"
        assert _client(bob).get(url).status_code == 404
    answer = _client(bob).post(
        f"/mail/{bobs.id}/compose/",
        {"to": "x@example.org", "body": "x", "original": f"{inbox.id}:9:\\Answered"},
    )
    assert answer.status_code == 404
    assert not OutgoingMessage.objects.exists()
