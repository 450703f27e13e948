"""The conversation view: a folder's list by thread, and one thread whole."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from accounts import preferences
from accounts.models import MailAccount, MarkRead
from webmail.mail import changes, conversations, reading
from webmail.views import present
from webmail.views.layout import account_or_404, is_htmx, threads_layout

if TYPE_CHECKING:
    from webmail.models import Folder, Message


@dataclass
class Item:
    """A message of an open conversation, with its folder's name."""

    uid: int
    url: str
    body_url: str
    folder: str
    sender: str
    sender_address: str
    to: str
    date: datetime | None
    seen: bool


@dataclass
class ConversationView:
    subject: str
    items: list[Item]


def _view(account: MailAccount, messages: list[Message]) -> ConversationView:
    titles = {
        node.id: node.title
        for node in present.folder_nodes(account.id, reading.folders(account))
    }
    items = []
    for m in messages:
        view = present.message_view(account.id, m.folder_id, m)
        items.append(
            Item(
                uid=m.uid,
                url=view.url,
                body_url=view.body_url,
                folder=titles.get(m.folder_id, ""),
                sender=view.sender or gettext("(unknown sender)"),
                sender_address=view.sender_address,
                to=view.to,
                date=view.date,
                seen=m.seen,
            )
        )
    subject = messages[-1].subject if messages else ""
    return ConversationView(subject or gettext("(no subject)"), items)


def _mark_all_read(account: MailAccount, messages: list[Message]) -> None:
    """Mark the conversation read in every folder it has messages in.

    These are the messages the list counts (conversation()), so the line is
    read afterwards.
    """
    unread: dict[int, list[int]] = defaultdict(list)
    folders: dict[int, Folder] = {}
    for m in messages:
        if not m.seen:
            unread[m.folder_id].append(m.uid)
            folders[m.folder_id] = m.folder
    for folder_id, uids in unread.items():
        changes.mark_seen(account, folders[folder_id], uids)
    for m in messages:
        m.seen = True


def _thread(
    account: MailAccount, folder_id: int, uid: int
) -> tuple[Folder, list[Message]]:
    """Return the folder and the messages of the thread of a message, or 404."""
    folder = reading.get_folder(account, folder_id)
    message = reading.get_message(folder, uid)
    messages = conversations.conversation(account, message.thread_key, folder)
    return folder, messages or [message]


@require_GET
@login_required
def conversation_view(
    request: HttpRequest, account_id: int, folder_id: int, uid: int
) -> HttpResponse:
    """Show every message of a message's thread, across the account's folders."""
    account = account_or_404(request, account_id)
    folder, messages = _thread(account, folder_id, uid)
    setting = preferences.mark_read(request.user)  # type: ignore[arg-type]
    if setting.mode == MarkRead.AT_ONCE:
        _mark_all_read(account, messages)
    folder_url = present.folder_url(account.id, folder.id)
    context = {
        "account": account,
        "conversation": _view(account, messages),
        "threads_url": f"{folder_url}?view=threads",
        "folder_url": folder_url,
    }
    if setting.mode == MarkRead.AFTER_DELAY and not all(m.seen for m in messages):
        # static/js/seen.js posts here once the thread has stayed open.
        context["seen_url"] = reverse(
            "mail_conversation_seen", args=[account.id, folder.id, uid]
        )
        context["seen_after"] = setting.delay
    if is_htmx(request) and request.headers.get("HX-Target") == "reader":
        # The thread's line in the list, now read, swapped in out of band.
        line = conversations.line_of(account, folder, messages)
        context["thread_oob"] = present.conversation_rows(
            account.id, folder.id, [line] if line else []
        )
        return render(request, "webmail/_conversation.html", context)
    layout = threads_layout(request, account, folder)
    layout.update(context)
    if is_htmx(request):
        return render(request, "webmail/_content.html", layout)
    return render(request, "webmail/mailbox.html", layout)


@require_POST
@login_required
def conversation_seen_view(
    request: HttpRequest, account_id: int, folder_id: int, uid: int
) -> HttpResponse:
    """Mark a conversation read (after the user's delay); answer with its line."""
    account = account_or_404(request, account_id)
    folder, messages = _thread(account, folder_id, uid)
    _mark_all_read(account, messages)
    line = conversations.line_of(account, folder, messages)
    lines = present.conversation_rows(account.id, folder.id, [line] if line else [])
    return render(request, "webmail/_threads.html", {"threads": lines, "oob": True})
