"""The conversation view: a folder's list by thread, and one thread whole."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
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
from webmail.views.pane import Target

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
    # What its own toolbar offers (views/thread_actions.py).
    folder_id: int = 0
    flagged: bool = False
    act_url: str = ""
    archive: bool = False
    delete_forever: bool = False


@dataclass
class ConversationView:
    subject: str
    items: list[Item]
    # Folders a message can move to (each item leaves out its own).
    targets: list[Target] = field(default_factory=list)
    # The folder whose list the conversation was opened from.
    folder_id: int = 0


def _view(account: MailAccount, messages: list[Message]) -> ConversationView:
    nodes = present.folder_nodes(account.id, reading.folders(account))
    titles = {node.id: node.title for node in nodes}
    kinds = {node.id: node.kind for node in nodes}
    archive = "archive" in kinds.values()
    bins = {folder_id for folder_id, kind in kinds.items() if kind in BIN_KINDS}
    no_trash = "trash" not in kinds.values()
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
                folder_id=m.folder_id,
                flagged=m.flagged,
                act_url=f"{view.url}thread/act",
                archive=archive and kinds.get(m.folder_id) != "archive",
                delete_forever=no_trash or m.folder_id in bins,
            )
        )
    subject = messages[-1].subject if messages else ""
    targets = [
        Target(node.id, "\u00a0\u00a0" * node.depth + node.title)
        for node in nodes
        if node.folder.selectable
    ]
    return ConversationView(subject or gettext("(no subject)"), items, targets)


# The folders where a delete is for good (mail.actions.BINS, by kind).
BIN_KINDS = ("trash", "junk")


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


def conversation_context(
    account: MailAccount, folder: Folder, messages: list[Message]
) -> dict[str, object]:
    """Return what the conversation template shows, opened from folder's list."""
    folder_url = present.folder_url(account.id, folder.id)
    view = _view(account, messages)
    view.folder_id = folder.id
    return {
        "account": account,
        "conversation": view,
        "threads_url": f"{folder_url}?view=threads",
        "folder_url": folder_url,
    }


def conversation_pane(
    request: HttpRequest,
    account: MailAccount,
    folder: Folder,
    messages: list[Message],
    context: dict[str, object],
) -> HttpResponse:
    """Render the conversation alone, with its list line out of band."""
    # The thread's line in the list, as it is now, swapped in out of band.
    line = conversations.line_of(account, folder, messages)
    context["thread_oob"] = present.conversation_rows(
        account.id, folder.id, [line] if line else []
    )
    return render(request, "webmail/_conversation.html", context)


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
    context = conversation_context(account, folder, messages)
    if setting.mode == MarkRead.AFTER_DELAY and not all(m.seen for m in messages):
        # static/js/seen.js posts here once the thread has stayed open.
        context["seen_url"] = reverse(
            "mail_conversation_seen", args=[account.id, folder.id, uid]
        )
        context["seen_after"] = setting.delay
    if is_htmx(request) and request.headers.get("HX-Target") == "reader":
        return conversation_pane(request, account, folder, messages, context)
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
