"""Mail written in HTML, posted to the compose page, as the SMTP server gets it."""

from __future__ import annotations

import base64
import email
import html
import re
from email import policy
from email.message import EmailMessage

import pytest
from django.test import Client

from tests.engine.conftest import account_for, synced_inbox, wait_for
from tests.fixtures.servers import SUBMISSION_LOGIN
from webmail.models import OutgoingMessage

pytestmark = pytest.mark.django_db(transaction=True)

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def _account(imap_user, server):
    account = account_for(
        imap_user,
        smtp_host=server.host,
        smtp_port=server.port,
        smtp_security="starttls",
        smtp_username=SUBMISSION_LOGIN[0],
    )
    account.smtp_password = SUBMISSION_LOGIN[1]
    account.save()
    return account


def _client(account) -> Client:
    client = Client()
    client.force_login(account.user)
    return client


def _post(client: Client, account, **fields: str):
    values = {
        "to": "花子 <hanako@example.jp>",
        "cc": "",
        "bcc": "",
        "subject": "会議",
        "body": "",
        "format": "html",
        "html": "",
    }
    return client.post(f"/mail/{account.id}/compose/", {**values, **fields})


def _content(part) -> str:
    return str(part.get_content()).replace("\r\n", "\n")


def _received(server) -> EmailMessage:
    [received] = wait_for(lambda: server.messages, what="the message at the server")
    parsed = email.message_from_bytes(received.data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_html_arrives_sanitized_beside_its_text_with_its_image_inline(
    worker, imap_user, submission_outbox
):
    account = _account(imap_user, submission_outbox)
    synced_inbox(account)
    image = "data:image/png;base64," + base64.b64encode(PNG).decode()
    written = (
        '<div>明日の<b>会議</b>は<i onclick="steal()">十時</i>からです。</div>'
        "<script>alert('x')</script>"
        "<ul><li>資料</li><li>議事録</li></ul>"
        '<div>詳細は<a href="https://example.org/plan">こちら</a></div>'
        f'<div><img src="{image}" alt="図"></div>'
        '<div><img src="https://tracker.example/open.gif"></div>'
    )

    answer = _post(_client(account), account, html=written)

    assert answer.status_code == 302
    message = _received(submission_outbox)
    assert message.get_content_type() == "multipart/alternative"
    text_part, related = message.iter_parts()
    assert text_part.get_content_type() == "text/plain"
    text = _content(text_part)
    assert "明日の会議は十時からです。" in text
    assert "- 資料\n- 議事録" in text
    assert "こちら <https://example.org/plan>" in text
    assert related.get_content_type() == "multipart/related"
    html_part, image_part = related.iter_parts()
    assert html_part.get_content_type() == "text/html"
    assert html_part.get_content_charset() == "utf-8"
    received_html = _content(html_part)
    assert "<b>会議</b>" in received_html and "<li>議事録</li>" in received_html
    for removed in ("script", "alert", "onclick", "steal", "tracker.example"):
        assert removed not in received_html
    assert image_part.get_content_type() == "image/png"
    assert image_part.get_content() == PNG
    content_id = image_part["Content-ID"].strip("<>")
    sources = re.findall(r'<img[^>]*src="([^"]*)"', received_html)
    assert sources == [f"cid:{content_id}"]


def test_without_the_editor_the_textarea_goes_out_as_plain_text(
    worker, imap_user, submission_outbox
):
    account = _account(imap_user, submission_outbox)
    synced_inbox(account)

    _post(
        _client(account),
        account,
        format="text",
        body="テキストだけ\n",
        html="<b>ignored</b>",
    )

    message = _received(submission_outbox)
    assert message.get_content_type() == "text/plain"
    assert _content(message) == "テキストだけ\n"


ORIGINAL = (
    "From: Dana <dana@example.net>\r\n"
    "To: {to}\r\n"
    "Subject: 予定\r\n"
    "Message-ID: <plan@example.net>\r\n"
    "Date: Sat, 28 Nov 2026 10:00:00 +0900\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/html; charset=utf-8\r\n\r\n"
    "<p>金曜は<b>雨</b>です。</p><script>alert(1)</script>"
    '<p onmouseover="x()">傘を & 持って</p>\r\n'
)


def test_a_reply_in_html_quotes_the_original_in_a_blockquote(
    worker, imap_user, other_device, submission_outbox
):
    phone = other_device(imap_user)
    phone.append("INBOX", ORIGINAL.format(to=imap_user.address).encode())
    account = _account(imap_user, submission_outbox)
    inbox = synced_inbox(account)
    client = _client(account)

    form = client.get(f"/mail/{account.id}/compose/?reply={inbox.id}:1")

    page = form.content.decode()
    start = html.unescape(re.search(r'name="html" value="([^"]*)"', page)[1])
    assert '<blockquote type="cite">' in start
    assert "wrote:" in start and "Dana" in start
    assert "<b>雨</b>" in start and "script" not in start
    original = re.search(r'name="original" value="([^"]*)"', page)[1]
    answer = _post(
        client,
        account,
        to="dana@example.net",
        subject="Re: 予定",
        html="<div>了解です。</div>" + start,
        original=original,
        in_reply_to="<plan@example.net>",
    )

    assert answer.status_code == 302
    message = _received(submission_outbox)
    text_part, html_part = message.iter_parts()
    received_html = _content(html_part)
    assert re.search(
        r'<blockquote type="cite">.*金曜は<b>雨</b>です。.*</blockquote>',
        received_html,
        re.S,
    )
    assert "onmouseover" not in received_html and "alert" not in received_html
    text = _content(text_part)
    assert "了解です。" in text
    assert "> 金曜は雨です。" in text and "> 傘を & 持って" in text
    assert message["In-Reply-To"] == "<plan@example.net>"
    row = OutgoingMessage.objects.get(account=account)
    assert row.original_flag == "\\Answered"
