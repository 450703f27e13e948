"""Conversations: a folder's messages grouped by thread, and one thread whole.

A message's thread_key (webmail.sync.thread_key) names the first message of
its thread, so grouping on it puts a message, its replies and the replies
sent from this account (in Sent) together. A message without any
Message-ID has an empty key and stays a conversation of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Count, Max, Q
from django.http import Http404

from accounts.models import MailAccount
from webmail.mailbox import LIST_COLUMNS, PAGE_SIZE, microseconds
from webmail.models import Folder, Message


@dataclass
class Conversation:
    """One line of the conversation list: its newest message and counts."""

    key: str
    newest: Message
    count: int
    unread: int
    # The order of the list: the newest date, then the highest UID (unique
    # in the folder, so two conversations never tie).
    latest: datetime | None
    top: int


@dataclass
class ConversationPage:
    conversations: list[Conversation]
    next_before: str


def _parse(value: str) -> tuple[datetime, int] | None:
    stamp, _, uid = value.partition("-")
    try:
        when = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(stamp))
        return when, int(uid)
    except (ValueError, OverflowError):
        return None


def list_conversations(
    account: MailAccount, folder: Folder, *, before: str = "", limit: int = PAGE_SIZE
) -> ConversationPage:
    """Return a page of the folder's conversations, newest first.

    Keyset paging on (newest date, highest UID); before is the next_before
    of the previous page.
    """
    if folder.account_id != account.id:
        raise Http404("No such folder.")
    groups = (
        Message.objects.filter(folder=folder)
        .exclude(thread_key="")
        .values("thread_key")
        .annotate(latest=Max("date"), top=Max("uid"), count=Count("id"))
        .annotate(unread=Count("id", filter=Q(seen=False)))
    )
    # Messages without a thread key (no Message-ID: rare) are conversations
    # of one, merged in by date.
    loners = Message.objects.filter(folder=folder, thread_key="").only(*LIST_COLUMNS)
    cursor = _parse(before) if before else None
    if cursor is not None:
        when, uid = cursor
        groups = groups.filter(Q(latest__lt=when) | Q(latest=when, top__lt=uid))
        loners = loners.filter(Q(date__lt=when) | Q(date=when, uid__lt=uid))
    rows = list(groups.order_by("-latest", "-top")[: limit + 1])
    lone = list(loners.order_by("-date", "-uid")[: limit + 1])
    keys = [str(row["thread_key"]) for row in rows]
    newest = _newest(folder, keys)
    items = [
        Conversation(
            key=key,
            newest=newest[key],
            count=int(row["count"]),
            unread=int(row["unread"]),
            latest=row["latest"],
            top=int(row["top"]),
        )
        for key, row in zip(keys, rows, strict=True)
        if key in newest
    ]
    items += [
        Conversation("", m, 1, int(not m.seen), latest=m.date, top=m.uid) for m in lone
    ]
    items.sort(key=lambda c: (microseconds(c.latest), c.top), reverse=True)
    more = len(items) > limit
    items = items[:limit]
    last = items[-1] if items else None
    next_before = f"{microseconds(last.latest)}-{last.top}" if more and last else ""
    return ConversationPage(items, next_before)


def _newest(folder: Folder, keys: list[str]) -> dict[str, Message]:
    """Return the newest message of each thread key, in one query."""
    found: dict[str, Message] = {}
    rows = (
        Message.objects.filter(folder=folder, thread_key__in=keys)
        .only(*LIST_COLUMNS, "thread_key")
        .order_by("-date", "-uid")
    )
    for message in rows:
        found.setdefault(message.thread_key, message)
    return found


def conversation(account: MailAccount, thread_key: str) -> list[Message]:
    """Return every message of a thread in the account's folders, newest first."""
    if not thread_key:
        return []
    folder_ids = list(
        Folder.objects.filter(account=account).values_list("id", flat=True)
    )
    # folder IN (...) and thread_key: seeks in the (folder, thread_key) index.
    return list(
        Message.objects.filter(folder_id__in=folder_ids, thread_key=thread_key)
        .select_related("folder")
        .order_by("-date", "-uid")
    )
