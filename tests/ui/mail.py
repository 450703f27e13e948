"""Folders and messages put straight into the cache, for page tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.core.cache import cache

from accounts.models import MailAccount, User
from webmail.mime import parse_message
from webmail.mime.sanitize import sanitize_html
from webmail.models import Folder, Message
from webmail.shared import bodycache

# A body with what mail carries: a tracking image, a script, a link.
BODY_HTML = (
    '<p id="greeting">Hello <b>Alice</b></p>'
    '<img src="https://tracker.example.com/open.gif" alt="">'
    '<script>document.title = "script ran"</script>'
    '<a href="https://example.com/more">More</a>'
)
NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def account_of(user: User) -> MailAccount:
    return MailAccount.objects.filter(user=user).order_by("id")[0]


def add_folder(
    account: MailAccount, name: str, special_use: str = "", unseen: int = 0
) -> Folder:
    path = name.split("/")
    return Folder.objects.create(
        account=account,
        name=name,
        display_name=path[-1],
        path=path,
        delimiter="/",
        special_use=special_use,
        unseen=unseen,
        uidvalidity=1,
        backfill_below_uid=1,
    )


def add_message(folder: Folder, uid: int, subject: str, **fields: object) -> Message:
    values: dict[str, object] = {
        "from_name": "Dana Sender",
        "from_address": "dana@example.net",
        "to": [["Alice", "alice@example.org"]],
        "date": NOW - timedelta(hours=uid),
        "preview": f"Preview of {subject}",
    }
    values.update(fields)
    return Message.objects.create(folder=folder, uid=uid, subject=subject, **values)


def standard_mailbox(user: User) -> dict[str, Folder]:
    """An inbox with four messages, the usual special folders, and nesting."""
    account = account_of(user)
    folders = {
        "Trash": add_folder(account, "Trash", "\\Trash"),
        "Projects/Beta": add_folder(account, "Projects/Beta", unseen=2),
        "INBOX": add_folder(account, "INBOX", unseen=2),
        "Sent": add_folder(account, "Sent", "\\Sent"),
        "Projects": add_folder(account, "Projects"),
        "Archive": add_folder(account, "Archive", "\\Archive"),
        "Drafts": add_folder(account, "Drafts", "\\Drafts"),
    }
    inbox = folders["INBOX"]
    add_message(inbox, 1, "Quarterly report", seen=True, has_attachments=True)
    add_message(inbox, 2, "Lunch on Friday?", seen=False, flagged=True)
    add_message(inbox, 3, "Re: the plan", seen=True, answered=True)
    add_message(inbox, 4, "お知らせ メンテナンス", seen=False, from_name="山田太郎")
    for uid in (1, 2, 3, 4):
        cache_body(inbox, uid, html_mail(BODY_HTML))
    return folders


def cache_body(folder: Folder, uid: int, raw: bytes, html: str | None = None) -> None:
    """Put a message body in the cache as the worker leaves it after a fetch.

    html, when given, stands for the sanitizer's output (to test the layers
    behind it).
    """
    parsed = parse_message(raw)
    safe = sanitize_html(
        parsed.html or "",
        allow_remote=False,
        rewrite_url=lambda url: "",
        cid_url=lambda cid: "",
    )
    body: dict[str, object] = {
        "text": parsed.text,
        "raw_html": parsed.html or "",
        "html": safe.html if html is None else html,
        "has_remote_content": safe.has_remote_content,
        "cid_parts": [],
        "attachments": [],
    }
    key = bodycache.cache_key(folder.account_id, folder, uid)
    cache.set(key, body, 600)


def html_mail(html: str, subject: str = "Hello") -> bytes:
    return (
        "From: Dana Sender <dana@example.net>\r\n"
        "To: alice@example.org\r\n"
        f"Subject: {subject}\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        "\r\n"
        f"{html}\r\n"
    ).encode()
