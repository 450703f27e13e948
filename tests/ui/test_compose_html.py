"""The compose page's HTML side, in Django's client: the format a new message
starts in, a plain-text reply quoted in HTML, and images over the limit."""

from __future__ import annotations

import base64
import html
import re

import pytest
from django.test import Client

from accounts.models import Preference
from tests.ui.mail import account_of
from tests.ui.test_compose import _original
from webmail.mime.parse import parse_message
from webmail.models import OutgoingMessage

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _field(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, name
    return html.unescape(match[1])


def test_the_format_new_messages_start_in_is_the_users_setting(alice):
    account = account_of(alice)
    client = _client(alice)
    page = client.get(f"/mail/{account.id}/compose/").content.decode()
    assert 'data-format="text"' in page
    # Without JavaScript the form posts plain text whatever the setting.
    assert _field(page, "format") == "text"

    saved = client.post(
        "/accounts/settings/",
        {"mark_read": "at_once", "mark_read_delay": "3", "compose_format": "html"},
    )

    assert saved.status_code == 302
    assert Preference.objects.get(user=alice).compose_format == "html"
    page = client.get(f"/mail/{account.id}/compose/").content.decode()
    assert 'data-format="html"' in page
    assert "Formatted text (HTML)" in page


def test_a_plain_text_original_is_quoted_escaped_in_the_html_reply(alice):
    inbox = _original(alice)
    account = account_of(alice)
    page = _client(alice).get(f"/mail/{account.id}/compose/?reply={inbox.id}:9")
    start = page.context["html"]
    assert "wrote:" in start
    quoted = start[start.index('<blockquote type="cite">') :]
    assert "明日は雨です。" in quoted
    # The original's own "> " quote is a quote inside the quote.
    assert re.search(r"<blockquote[^>]*>\s*前の文", quoted)
    # The text version is still there for a form without the editor.
    assert "> 明日は雨です。" in page.context["body"]


def test_images_over_the_limit_are_refused_and_the_text_is_kept(alice, settings):
    settings.COMPOSE_MAX_INLINE_MB = 1
    account = account_of(alice)
    image = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * (1024 * 1024)).decode()
    written = f'<div>大事な本文</div><img src="data:image/png;base64,{image}">'

    answer = _client(alice).post(
        f"/mail/{account.id}/compose/",
        {"to": "bob@example.org", "subject": "図", "format": "html", "html": written},
    )

    assert answer.status_code == 400
    page = answer.content.decode()
    assert "The images inside the text add up to 1.0" in page
    assert "Attach the larger ones as files instead." in page
    assert _field(page, "html") == written
    assert 'data-format="html"' in page
    assert not OutgoingMessage.objects.exists()


def test_the_recorded_message_carries_both_parts(alice):
    account = account_of(alice)

    _client(alice).post(
        f"/mail/{account.id}/compose/",
        {
            "to": "bob@example.org",
            "subject": "両方",
            "format": "html",
            "html": '<div>こんにちは<a href="https://example.org/" onclick="x()">A</a>'
            "</div>",
        },
    )

    parsed = parse_message(bytes(OutgoingMessage.objects.get(account=account).raw))
    assert parsed.text == "こんにちはA <https://example.org/>\n"
    assert parsed.html is not None and "onclick" not in parsed.html
