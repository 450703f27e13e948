"""An attached message read inline: in the body frame and on the print page.

The body is rendered as the worker renders it (engine.bodies._render) and
put in the cache directly; no worker runs.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from accounts.models import User
from tests.mime.builders import corpus, message
from tests.ui.mail import account_of, add_folder, add_message
from webmail.engine import bodies
from webmail.mime import parse_message
from webmail.models import Folder
from webmail.shared import bodycache

pytestmark = pytest.mark.django_db


def cache_body(user: User, folder: Folder, uid: int, raw: bytes) -> str:
    """Render raw as the worker would, cache it; return the message's URL."""
    account = account_of(user)
    body = bodies._render(account.id, folder, uid, parse_message(raw), user.id)
    cache.set(bodycache.cache_key(account.id, folder, uid), body, 600)
    return f"/mail/{account.id}/{folder.id}/{uid}/"


@pytest.fixture
def inbox(alice: User) -> Folder:
    return add_folder(account_of(alice), "INBOX")


def test_the_body_frame_shows_the_attached_message_below_the_text(
    alice: User, inbox: Folder
):
    add_message(inbox, 1, "Fwd: Lunch on Friday")
    url = cache_body(alice, inbox, 1, corpus("forwarded.eml"))
    client = Client()
    client.force_login(alice)
    page = client.get(f"{url}body").content.decode()
    assert page.index("See below.") < page.index("Attached message")
    for shown in (
        "Carol Example &lt;carol@example.org&gt;",
        "Alice Example &lt;alice@example.org&gt;",
        "Lunch on Friday",
        '<time datetime="2024-06-05T',
        "Shall we meet at noon?",
        "menu.txt",
    ):
        assert shown in page, shown
    # The sandboxed frame may not download: the files are links in the list.
    assert f"{url}part/2.2" not in page
    reader = client.get(url).content.decode()
    eml = reader.index(f'<a href="{url}part/2" download>Lunch on Friday.eml</a>')
    menu = reader.index(f'<a href="{url}part/2.2" download>menu.txt</a>')
    assert eml < menu
    assert "in Lunch on Friday.eml" in reader[menu:]
    assert "Download all" not in reader


def test_the_print_page_shows_the_attached_message(alice: User, inbox: Folder):
    add_message(inbox, 1, "Fwd: Lunch on Friday")
    url = cache_body(alice, inbox, 1, corpus("forwarded.eml"))
    client = Client()
    client.force_login(alice)
    page = client.get(f"{url}print").content.decode()
    body = page[page.index('<div class="body">') :]
    assert body.index("See below.") < body.index("Shall we meet at noon?")
    assert "Carol Example &lt;carol@example.org&gt;" in body
    assert "menu.txt" in body


def test_an_attached_message_is_sanitized_like_any_body(alice: User, inbox: Folder):
    inner = message(
        [
            ("From", b"Mallory <mallory@example.net>"),
            ("Subject", b"<b>bold</b> subject"),
            ("Content-Type", b"text/html"),
        ],
        b'<p onclick="alert(1)">Inner</p><script>alert(2)</script>'
        b'<img src="https://tracker.example/p.gif">',
    )
    raw = message(
        [("Subject", b"Fwd"), ("Content-Type", b"multipart/mixed; boundary=f")],
        b"--f\r\nContent-Type: text/plain\r\n\r\nOuter\r\n"
        b"--f\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--f--\r\n",
    )
    add_message(inbox, 1, "Fwd")
    url = cache_body(alice, inbox, 1, raw)
    client = Client()
    client.force_login(alice)
    for view in ("body", "print"):
        page = client.get(f"{url}{view}").content.decode()
        assert "<p>Inner</p>" in page, view
        assert "&lt;b&gt;bold&lt;/b&gt; subject" in page, view
        for gone in ("onclick", "<script", "alert(2)", "tracker.example"):
            assert gone not in page, (view, gone)


def test_the_attached_message_is_shown_in_japanese(alice: User, inbox: Folder):
    add_message(inbox, 1, "Fwd: Lunch on Friday")
    url = cache_body(alice, inbox, 1, corpus("forwarded.eml"))
    client = Client(headers={"accept-language": "ja"})
    client.force_login(alice)
    page = client.get(f"{url}body").content.decode()
    for word in ("添付されたメッセージ", "差出人", "件名"):
        assert word in page, word


def test_files_of_messages_attached_inside_attached_messages_are_listed(
    alice: User, inbox: Folder
):
    innermost = message(
        [("Subject", b"Plans"), ("Content-Type", b"multipart/mixed; boundary=i")],
        b"--i\r\nContent-Type: text/plain\r\n\r\nThe plan.\r\n"
        b"--i\r\nContent-Type: application/pdf\r\n"
        b'Content-Disposition: attachment; filename="plan.pdf"\r\n\r\n%PDF\r\n'
        b"--i--\r\n",
    )
    middle = message(
        [("Subject", b"Fwd: Plans"), ("Content-Type", b"multipart/mixed; boundary=m")],
        b"--m\r\nContent-Type: text/plain\r\n\r\nHave a look.\r\n"
        b"--m\r\nContent-Type: message/rfc822\r\n\r\n" + innermost + b"\r\n--m--\r\n",
    )
    raw = message(
        [
            ("Subject", b"Fwd: Fwd: Plans"),
            ("Content-Type", b"multipart/mixed; boundary=o"),
        ],
        b"--o\r\nContent-Type: text/plain\r\n\r\nFYI\r\n"
        b"--o\r\nContent-Type: message/rfc822\r\n\r\n" + middle + b"\r\n--o--\r\n",
    )
    add_message(inbox, 1, "Fwd: Fwd: Plans")
    url = cache_body(alice, inbox, 1, raw)
    client = Client()
    client.force_login(alice)
    frame = client.get(f"{url}body").content.decode()
    assert frame.index("Have a look.") < frame.index("The plan.")
    reader = client.get(url).content.decode()
    places = [
        reader.index(f'<a href="{url}part/{part}" download>{name}</a>')
        for part, name in (
            ("2", "Fwd_ Plans.eml"),
            ("2.2", "Plans.eml"),
            ("2.2.2", "plan.pdf"),
        )
    ]
    assert places == sorted(places)
    assert "in Fwd_ Plans.eml" in reader[places[1] : places[2]]
    assert "in Plans.eml" in reader[places[2] :]
