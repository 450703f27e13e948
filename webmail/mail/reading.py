"""The verbs for reading mail from the cache: folders, lists, messages, threads.

Reads come from the cache (webmail.models) and never wait for IMAP. A
message list is one indexed query whatever the folder's size: keyset
paging on the sort column and the UID. Opening a folder also asks its
worker, at most every few seconds, to check the folder for news.

Callers pass an account they got through accounts.access (the user's own);
folder and message ids are checked against that account here.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import transaction
from django.db.models import Model, Q
from django.db.models.utils import create_namedtuple_class
from django.http import Http404

from accounts.models import MailAccount, User
from webmail import door
from webmail.after_response import run_after_response
from webmail.models import Folder, Message
from webmail.shared.cursors import EPOCH, microseconds
from webmail.shared.prepared import Prepared

M = TypeVar("M", bound=Model)

# Folders ---------------------------------------------------------------------

# Seconds between two checks of a folder asked for by page views.
SYNC_EVERY = 2


def folders(account: MailAccount) -> list[Folder]:
    """Return the account's folders, INBOX first, then by name.

    With the fields the mail pages use (the others load when first used):
    every list view asks for them, and the unused columns cost it more than
    the query. Sorted here, so the database is not asked to (Folder's default
    order by account joins the account table).
    """
    rows = _FOLDERS.objects(account.id)
    return sorted(rows, key=lambda f: (f.name.upper() != "INBOX", f.path, f.name))


# What folders() reads (the id always comes along): the sidebar's, the
# list's (complete: backfill_below_uid) and the conversations' fields.
FOLDER_PAGE_FIELDS = (
    "account_id", "name", "display_name", "path", "special_use", "selectable",
    "total", "unseen", "backfill_below_uid", "subscribed",
)  # fmt: skip

_FOLDERS = Prepared(
    lambda account_id: (
        Folder.objects.filter(account_id=account_id)
        .order_by()
        .only(*FOLDER_PAGE_FIELDS)
    )
)


def get_folder(account: MailAccount, folder_id: int) -> Folder:
    """Return the account's folder with this id, or 404."""
    return _one_or_404(_ACCOUNT_FOLDER, (folder_id, account.id), "No such folder.")


# A move's target, a message's folder: read on every action, compiled once.
_ACCOUNT_FOLDER = Prepared[Folder](
    lambda key: Folder.objects.filter(id=key[0], account_id=key[1]), values=2
)


def user_folder(user: User, account_id: int, folder_id: int) -> Folder:
    """Return a folder of the user's account, with the account, or 404.

    The rule of accounts.access (only the owner, a 404 for other users'
    ids) in the one query that views acting on one folder need.
    """
    if not user.is_active:
        raise Http404("No such folder.")
    ids = (folder_id, account_id, user.id)
    return _one_or_404(_USER_FOLDER, ids, "No such folder.")


# Every view acting on one folder or message reads it first: compiled once,
# with the account's state (the folder tree's namespace prefix) alongside.
_USER_FOLDER = Prepared[Folder](
    lambda key: Folder.objects.select_related("account", "account__sync_state").filter(
        id=key[0], account_id=key[1], account__user_id=key[2]
    ),
    values=3,
)


def special_folder(account: MailAccount, use: str) -> Folder | None:
    """Return the folder with a special use ("\\Trash", "\\Sent", ...)."""
    return Folder.objects.filter(account=account, special_use__iexact=use).first()


def pick_folder(folders: list[Folder], folder_id: int) -> Folder:
    """Return the folder with this id from folders(), or 404."""
    for folder in folders:
        if folder.id == folder_id:
            return folder
    raise Http404("No such folder.")


def request_sync(account: MailAccount, folder: Folder | None = None) -> None:
    """Ask the account's worker to look for changes (after the commit).

    Without a folder: the folder list and INBOX. Returns at once.
    """
    send = partial(door.sync_folder, account.id, folder.id if folder else None)
    transaction.on_commit(lambda: run_after_response(send))


def check_folder(account: MailAccount, folder: Folder) -> Folder:
    """Ask the folder's worker to check it for news, at most every few seconds.

    Paging through a folder or clicking between folders sends many views a
    second; one check per folder every SYNC_EVERY seconds is enough, since
    the worker watching the open folder (IDLE) reports news as they come.
    """
    if _sync_due(folder.id):
        request_sync(account, folder)
    return folder


# When this process last asked for each folder: most page views then need
# no round trip to Redis at all (many processes still share the Redis key).
_asked: dict[int, float] = {}


def _sync_due(folder_id: int) -> bool:
    now = time.monotonic()
    if now - _asked.get(folder_id, -SYNC_EVERY) < SYNC_EVERY:
        return False
    if len(_asked) > 10_000:
        _asked.clear()
    _asked[folder_id] = now
    try:
        return bool(cache.add(f"sync-asked:{folder_id}", 1, SYNC_EVERY))
    except Exception:  # Redis away: asking costs little, and a sync heals
        return True


# Messages ----------------------------------------------------------------------

PAGE_SIZE = 50


@dataclass
class Page:
    """A page of a message list; next_before continues after it ("" at the end).

    The messages are rows of ROW_COLUMNS and the sort's column with
    attribute access (named tuples): a page is read far more often than
    anything else, and skipping model instances saves about a millisecond.
    """

    messages: list[Any]
    next_before: str


# Sort orders of a message list: the column ordered on (with the UID after
# it; each has an index on folder, column, uid) and whether it is newest or
# largest first when the user does not say.
# What a list row shows and a page's cursor needs; the rest (addresses,
# references) stays in the database, which halves the cost of a page.
LIST_COLUMNS = (
    "folder_id", "uid", "seen", "flagged", "answered", "forwarded",
    "has_attachments", "date", "internaldate", "from_name", "from_address",
    "subject", "preview", "size", "sort_sender", "sort_subject",
)  # fmt: skip

# The columns of LIST_COLUMNS that a row of a folder's list shows. The date
# shown is "date": sync stores INTERNALDATE there for mail without a Date
# header (sync.fields_from_summary).
ROW_COLUMNS = (
    "uid", "seen", "flagged", "answered", "forwarded", "has_attachments",
    "date", "from_name", "from_address", "subject", "preview",
)  # fmt: skip

SORTS: dict[str, tuple[str, bool]] = {
    "date": ("date", True),
    "from": ("sort_sender", False),
    "subject": ("sort_subject", False),
    "size": ("size", True),
}


def sort_descending(sort: str, direction: str) -> bool:
    """Return whether a list sorted on sort runs downwards ("asc"/"desc"/"")."""
    if direction in ("asc", "desc"):
        return direction == "desc"
    return SORTS.get(sort, SORTS["date"])[1]


def _cursor(message: Any, sort: str = "date") -> str:
    if sort == "date":
        return f"{microseconds(message.date)}-{message.uid}"
    value = getattr(message, SORTS[sort][0])
    raw = json.dumps([sort, value, message.uid], ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _parse_cursor(value: str) -> tuple[datetime, int] | None:
    try:
        stamp, uid = value.split("-", 1)
        when = EPOCH + timedelta(microseconds=int(stamp))
        return when, int(uid)
    except (ValueError, OverflowError, OSError):
        return None


def _parse_sort_cursor(value: str, sort: str) -> tuple[Any, int] | None:
    """Return (sort value, uid) of a cursor made for this sort, else None."""
    if sort == "date":
        return _parse_cursor(value)
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        kind, key, uid = json.loads(raw)
    except (ValueError, TypeError):
        return None
    wanted = int if sort == "size" else str
    if kind != sort or not isinstance(key, wanted) or not isinstance(uid, int):
        return None
    return key, uid


def list_messages(
    account: MailAccount,
    folder: Folder,
    *,
    query: str = "",
    before: str = "",
    limit: int = PAGE_SIZE,
    unread_only: bool = False,
    sort: str = "date",
    descending: bool | None = None,
) -> Page:
    """Return a page of a folder's cached messages, newest first by default.

    sort is a key of SORTS; descending None takes the sort's usual
    direction. before is the next_before of the previous page (keyset
    paging on the sort column and the UID: page 1,000 costs what page 1
    costs). query matches the cache's subject, sender, recipients and
    preview.
    """
    if folder.account_id != account.id:
        raise Http404("No such folder.")
    if sort not in SORTS:
        sort = "date"
    column, usual = SORTS[sort]
    down = usual if descending is None else descending
    cursor = _parse_sort_cursor(before, sort) if before else None
    newest = down and sort == "date" and limit == PAGE_SIZE
    if newest and not (cursor or query or unread_only):
        # What nearly every list view shows: a folder's newest messages.
        return _newest(folder)
    rows = Message.objects.filter(folder_id=folder.id)
    if unread_only:
        rows = rows.filter(seen=False)
    if query:
        # What the list shows of a message, and whom it went to (the JSON of
        # the To and Cc lists: addresses, and names in Latin letters).
        rows = rows.filter(
            Q(subject__icontains=query)
            | Q(from_name__icontains=query)
            | Q(from_address__icontains=query)
            | Q(preview__icontains=query)
            | Q(to__icontains=query)
            | Q(cc__icontains=query)
        )
    order = (f"-{column}", "-uid") if down else (column, "uid")
    past = "lt" if down else "gt"
    # What a row shows, and the cursor's column: fewer columns cost less.
    names = ROW_COLUMNS if column == "date" else (*ROW_COLUMNS, column)
    columns = rows.values_list(*names, named=True)
    if cursor is None:
        messages = list(columns.order_by(*order)[: limit + 1])
    else:
        # Two seeks in the index instead of one OR that the database would
        # scan: the rest of the cursor's own value, then the values after it.
        # (Every cached message has a date: the Date header or INTERNALDATE.)
        key, uid = cursor
        same = {column: key, f"uid__{past}": uid}
        messages = list(columns.filter(**same).order_by(*order)[: limit + 1])
        if len(messages) <= limit:
            after = columns.filter(**{f"{column}__{past}": key}).order_by(*order)
            messages += list(after[: limit + 1 - len(messages)])
    more = len(messages) > limit
    messages = messages[:limit]
    return Page(messages, _cursor(messages[-1], sort) if more else "")


def _newest(folder: Folder) -> Page:
    """Return list_messages' first page of a folder, newest first."""
    row = create_namedtuple_class(*ROW_COLUMNS)
    messages = [row._make(values) for values in _NEWEST.values(folder.id)]
    more = len(messages) > PAGE_SIZE
    messages = messages[:PAGE_SIZE]
    return Page(messages, _cursor(messages[-1]) if more else "")


# The query of _newest, compiled once (webmail.prepared): the list page's.
_NEWEST = Prepared(
    lambda folder_id: (
        Message.objects.filter(folder_id=folder_id)
        .values_list(*ROW_COLUMNS)
        .order_by("-date", "-uid")[: PAGE_SIZE + 1]
    )
)


def get_message(folder: Folder, uid: int) -> Message:
    """Return a cached message of the folder, or 404."""
    return _message(folder.id, uid)


# Every action on a message reads it first: compiled once.
_MESSAGE = Prepared[Message](
    lambda key: Message.objects.filter(folder_id=key[0], uid=key[1]), values=2
)


def _message(folder_id: int, uid: int) -> Message:
    return _one_or_404(_MESSAGE, (folder_id, uid), "No such message.")


def _one_or_404(query: Prepared[M], ids: tuple[Any, ...], missing: str) -> M:
    """The row a compiled query finds by these ids (from a URL), or 404.

    An id that is not a number finds nothing, as one that is not there.
    """
    try:
        found = query.first(tuple(int(i) for i in ids))
    except (ValueError, TypeError):
        found = None
    if found is None:
        raise Http404(missing)
    return found


def thread(message: Message) -> list[Message]:
    """Return the messages of the folder in the same thread, oldest first."""
    return list(
        Message.objects.filter(
            folder_id=message.folder_id, thread_key=message.thread_key
        ).order_by("date", "uid")
    )


def messages_with_uids(folder: Folder, uids: Iterable[int]) -> list[Message]:
    """Return the folder's cached messages with these UIDs, newest first."""
    return list(
        Message.objects.filter(folder=folder, uid__in=list(uids)).order_by("-uid")
    )
