"""Conversations: a folder's list by thread, and one thread whole.

A message's thread_key (webmail.engine.rows.thread_key) names the first message of
its thread, so grouping on it puts a message, its replies and the replies
sent from this account (in Sent) together. A message without any
Message-ID has an empty key and stays a conversation of its own.

A folder's conversation list has a line for each thread with a message in
that folder, but counts and orders the thread whole, as Gmail and Fastmail
do: its messages in all of the account's folders that thread_folders keeps.
A message in INBOX, the reply to it in Sent and an earlier one in Archive
make one line of three in INBOX, placed at the reply's date. The line shows
the thread's newest message (sender, subject, text): the line's date is the
one that places it in the list, and all of it comes from one message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Count, F, Max, Q, Window
from django.db.models.functions import RowNumber
from django.http import Http404

from accounts.models import MailAccount
from webmail.mail.reading import LIST_COLUMNS, PAGE_SIZE
from webmail.models import Folder, Message
from webmail.shared.cursors import microseconds

# Special-use folders that a thread seen from another folder leaves out:
# discarded mail (Trash, Junk), as Gmail does, and folders that hold copies
# of messages kept elsewhere (Gmail's All Mail, a virtual Flagged), which
# would count each message twice.
LEFT_OUT = frozenset({"\\trash", "\\junk", "\\all", "\\flagged"})
# Messages in these were written by the account's user.
WRITTEN = frozenset({"\\sent", "\\drafts"})
# About how many index seeks cost as much as reading and grouping one row
# of the index (measured on SQLite and PostgreSQL at 100,000 messages).
SEEKS_PER_ROW = 4


@dataclass
class Conversation:
    """One line of the conversation list: its newest message and counts."""

    key: str
    # The newest message of the whole thread (it may be in another folder).
    newest: Message
    count: int
    unread: int
    # The order of the list: the thread's newest date, then uid, the highest
    # UID of the thread in the listed folder. A UID is unique in the folder
    # and threads share no message, so two lines never tie. uid is also what
    # the line opens.
    latest: datetime | None
    uid: int
    # Whether the account's user wrote the newest message.
    mine: bool = False


@dataclass
class ConversationPage:
    conversations: list[Conversation]
    next_before: str


def thread_folders(account: MailAccount, folder: Folder) -> list[Folder]:
    """Return the folders whose messages make up a thread seen from folder.

    folder itself is always one of them: seen from Trash, a thread counts
    its messages in Trash.
    """
    rows = (
        Folder.objects.filter(account=account)
        .only("id", "special_use", "total")
        .order_by()
    )
    return [
        row
        for row in rows
        if row.id == folder.id or row.special_use.lower() not in LEFT_OUT
    ]


def _parse(value: str) -> tuple[datetime, int] | None:
    stamp, _, uid = value.partition("-")
    try:
        when = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(stamp))
        return when, int(uid)
    except (ValueError, OverflowError):
        return None


def _mine(account: MailAccount, message: Message, uses: dict[int, str]) -> bool:
    if uses.get(message.folder_id, "").lower() in WRITTEN:
        return True
    return message.from_address.lower() == account.email.lower()


def list_conversations(
    account: MailAccount, folder: Folder, *, before: str = "", limit: int = PAGE_SIZE
) -> ConversationPage:
    """Return a page of the folder's conversations, newest first.

    Keyset paging on (the thread's newest date, its highest UID in the
    folder); before is the next_before of the previous page. Four queries
    whatever the folder's size: the folders, the threads, the messages
    without a thread, the newest message of each thread of the page. A
    thread's place depends on its messages in other folders, so the threads
    query reads the index entries of all the folder's threads: its time, not
    its count, grows with the folder.
    """
    if folder.account_id != account.id:
        raise Http404("No such folder.")
    folders = thread_folders(account, folder)
    ids = [row.id for row in folders]
    # The threads with a message in the folder (here is not null), counted
    # in all of ids. Every column read is in the message_conversation index
    # (folder, thread_key, date, uid, seen): the rows themselves are not.
    messages = Message.objects.filter(folder_id__in=ids).exclude(thread_key="")
    if folder.total * len(ids) < SEEKS_PER_ROW * sum(row.total for row in folders):
        # A small folder's threads are looked up in each folder (a seek per
        # thread and folder); a large one's come from reading the account's
        # index once, which costs the same however many folders it has.
        in_folder = Message.objects.filter(folder=folder).values("thread_key")
        messages = messages.filter(thread_key__in=in_folder)
    groups = (
        messages.values("thread_key")
        .annotate(
            latest=Max("date"),
            here=Max("uid", filter=Q(folder=folder)),
            count=Count("uid"),
            unread=Count("uid", filter=Q(seen=False)),
        )
        .filter(here__isnull=False)
    )
    # Messages without a thread key (no Message-ID: rare) are conversations
    # of one, merged in by date.
    loners = Message.objects.filter(folder=folder, thread_key="").only(*LIST_COLUMNS)
    cursor = _parse(before) if before else None
    if cursor is not None:
        when, uid = cursor
        groups = groups.filter(Q(latest__lt=when) | Q(latest=when, here__lt=uid))
        loners = loners.filter(Q(date__lt=when) | Q(date=when, uid__lt=uid))
    rows = list(groups.order_by("-latest", "-here")[: limit + 1])
    lone = list(loners.order_by("-date", "-uid")[: limit + 1])
    keys = [str(row["thread_key"]) for row in rows]
    newest = _newest(ids, keys)
    uses = {row.id: row.special_use for row in folders}
    items = [
        Conversation(
            key=key,
            newest=newest[key],
            count=int(row["count"]),
            unread=int(row["unread"]),
            latest=row["latest"],
            uid=int(row["here"]),
            mine=_mine(account, newest[key], uses),
        )
        for key, row in zip(keys, rows, strict=True)
        if key in newest
    ]
    items += [
        Conversation("", m, 1, int(not m.seen), m.date, m.uid, _mine(account, m, uses))
        for m in lone
    ]
    items.sort(key=lambda c: (microseconds(c.latest), c.uid), reverse=True)
    more = len(items) > limit
    items = items[:limit]
    last = items[-1] if items else None
    next_before = f"{microseconds(last.latest)}-{last.uid}" if more and last else ""
    return ConversationPage(items, next_before)


def _newest(folder_ids: list[int], keys: list[str]) -> dict[str, Message]:
    """Return the newest message of each thread key in the folders, in one query.

    The same message conversation() puts first.
    """
    if not keys:
        return {}
    rows = (
        Message.objects.filter(folder_id__in=folder_ids, thread_key__in=keys)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("thread_key")],
                order_by=[F("date").desc(), F("id").desc()],
            )
        )
        .filter(rank=1)
        .only(*LIST_COLUMNS, "thread_key")
    )
    return {message.thread_key: message for message in rows}


def conversation(
    account: MailAccount, thread_key: str, folder: Folder
) -> list[Message]:
    """Return a thread's messages as folder's list counts them, newest first."""
    if not thread_key:
        return []
    ids = [row.id for row in thread_folders(account, folder)]
    # folder IN (...) and thread_key: seeks in the (folder, thread_key) index.
    return list(
        Message.objects.filter(folder_id__in=ids, thread_key=thread_key)
        .select_related("folder")
        .order_by("-date", "-id")
    )


def line_of(
    account: MailAccount, folder: Folder, messages: list[Message]
) -> Conversation | None:
    """Return the list line of a thread from conversation()'s messages.

    None when none of them is in folder (the folder's list has no line).
    """
    here = [m.uid for m in messages if m.folder_id == folder.id]
    if not here:
        return None
    newest = messages[0]
    uses = {m.folder_id: m.folder.special_use for m in messages}
    return Conversation(
        key=newest.thread_key,
        newest=newest,
        count=len(messages),
        unread=sum(not m.seen for m in messages),
        latest=newest.date,
        uid=max(here),
        mine=_mine(account, newest, uses),
    )
