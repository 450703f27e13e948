"""The verbs views call to read and change mail.

Reads come from the cache (webmail.models) and never wait for IMAP, except
open_message, which asks the account's worker for a body it has not cached
yet and waits for it with a time limit. Changes update the cache and queue
a PendingOperation in one transaction; after the commit the account's
worker is asked to apply it, and the user's other pages are told.

Callers pass an account they got through accounts.access (the user's own);
folder and message ids are checked against that account here.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, F, Q
from django.db.models.functions import Greatest
from django.db.models.utils import create_namedtuple_class
from django.http import Http404

from accounts.access import default_account_for_user, get_account_for_user
from accounts.models import MailAccount, User
from webmail import bodies, events, parts, tasks
from webmail.after_response import run_after_response
from webmail.bodies import BodyState
from webmail.errors_shown import shown_error
from webmail.flagmap import FIELDS, apply_flags
from webmail.models import (
    AccountState,
    Folder,
    Message,
    OperationKind,
    OperationState,
    PendingOperation,
    lock_folder,
    lock_user_folder,
)
from webmail.prepared import Prepared

_FLAG = re.compile(r"^\\?[A-Za-z0-9$_.\-]+$")
PAGE_SIZE = 50
# Seconds between two checks of a folder asked for by page views.
SYNC_EVERY = 2


# Folders ------------------------------------------------------------------------


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
    "total", "unseen", "backfill_below_uid",
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
    try:
        return Folder.objects.get(id=folder_id, account=account)
    except (Folder.DoesNotExist, ValueError, TypeError):
        raise Http404("No such folder.") from None


def user_folder(user: User, account_id: int, folder_id: int) -> Folder:
    """Return a folder of the user's account, with the account, or 404.

    The rule of accounts.access (only the owner, a 404 for other users'
    ids) in the one query that views acting on one folder need.
    """
    if not user.is_active:
        raise Http404("No such folder.")
    try:
        return Folder.objects.select_related("account").get(
            id=folder_id, account_id=account_id, account__user_id=user.id
        )
    except (Folder.DoesNotExist, ValueError, TypeError):
        raise Http404("No such folder.") from None


def special_folder(account: MailAccount, use: str) -> Folder | None:
    """Return the folder with a special use ("\\Trash", "\\Sent", ...)."""
    return Folder.objects.filter(account=account, special_use__iexact=use).first()


def request_sync(account: MailAccount, folder: Folder | None = None) -> None:
    """Ask the account's worker to look for changes (after the commit).

    Without a folder: the folder list and INBOX. Returns at once.
    """
    send = partial(tasks.send_sync, account.id, folder.id if folder else None)
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


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def microseconds(when: datetime | None) -> int:
    """Return a time as whole microseconds since 1970 (0 for None), exactly."""
    return (when - _EPOCH) // timedelta(microseconds=1) if when else 0


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
        when = _EPOCH + timedelta(microseconds=int(stamp))
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
    costs). query matches subject and sender in the cache.
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
        rows = rows.filter(
            Q(subject__icontains=query)
            | Q(from_name__icontains=query)
            | Q(from_address__icontains=query)
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


def _message(folder_id: int, uid: int) -> Message:
    try:
        return Message.objects.get(folder_id=folder_id, uid=uid)
    except (Message.DoesNotExist, ValueError, TypeError):
        raise Http404("No such message.") from None


def thread(message: Message) -> list[Message]:
    """Return the messages of the folder in the same thread, oldest first."""
    return list(
        Message.objects.filter(
            folder_id=message.folder_id, thread_key=message.thread_key
        ).order_by("date", "uid")
    )


# Changing ------------------------------------------------------------------------


def _check_flags(flags: Iterable[str]) -> list[str]:
    names = list(flags)
    for name in names:
        if not _FLAG.match(name) or name.lower() == "\\recent":
            raise ValueError(f"Not a flag that can be set: {name!r}")
    return names


# Set while a worker records a change it then pushes itself (see
# mark_seen_after_fetch): a queued push would only come after it.
_here = threading.local()


@contextmanager
def _pushed_by_caller() -> Iterator[None]:
    _here.pushes = True
    try:
        yield
    finally:
        _here.pushes = False


def _queue(account_id: int, user_id: int, event: dict[str, Any] | None) -> None:
    send_push = not getattr(_here, "pushes", False)

    def after_commit() -> None:
        # The worker, then the user's other tabs, hear of it once this tab
        # has its answer.
        if send_push:
            run_after_response(partial(tasks.send_push, account_id))
        if event is not None:
            message = {**event, "account": account_id}
            run_after_response(partial(events.publish, user_id, message))

    transaction.on_commit(after_commit)


def _operation(
    account_id: int,
    kind: str,
    folder_id: int,
    uids: Sequence[int],
    payload: dict[str, Any],
    current: tuple[str, int | None] | None,
) -> PendingOperation:
    """Record a server operation; current is what lock_folder returned."""
    if current is None:
        raise Http404("No such folder.")
    return PendingOperation.objects.create(
        account_id=account_id,
        kind=kind,
        folder_id=folder_id,
        folder_name=current[0],
        uidvalidity=current[1] or 0,
        uids=sorted(uids),
        payload=payload,
    )


def set_flags(
    account: MailAccount,
    folder: Folder,
    uids: Iterable[int],
    *,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
) -> int:
    """Add and remove flags (IMAP names: "\\Seen", "$Forwarded", keywords).

    Returns how many messages changed in the cache.
    """
    if folder.account_id != account.id:
        raise Http404("No such folder.")
    return _set_flags_in(account.user_id, account.id, folder.id, uids, add, remove)


def _set_flags_in(
    user_id: int,
    account_id: int,
    folder_id: int,
    uids: Iterable[int],
    add: Iterable[str],
    remove: Iterable[str],
) -> int:
    """set_flags, by ids; the lock checks that they belong together."""
    add, remove = _check_flags(add), _check_flags(remove)
    wanted = {int(u) for u in uids}
    with transaction.atomic():
        current = lock_user_folder(user_id, account_id, folder_id)
        rows = list(
            Message.objects.filter(folder_id=folder_id, uid__in=wanted).only(
                "uid", "modseq", "keywords", *FIELDS.values()
            )
        )
        ids = (user_id, account_id, folder_id)
        return _record_flags(ids, current, rows, add, remove)


def flag_message(
    user: User,
    account_id: int,
    folder_id: int,
    uid: int,
    *,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
) -> Message:
    """set_flags for one message of the user's; return it as the cache has it now.

    The star's path, taken on every click, in the fewest statements: the
    folder's lock is also the check that the folder is the user's (a 404
    otherwise, as from user_folder), and the message is read once, whole,
    under the lock, for the page to show.
    """
    if not user.is_active:
        raise Http404("No such folder.")
    add, remove = _check_flags(add), _check_flags(remove)
    with transaction.atomic():
        current = lock_user_folder(user.id, account_id, folder_id)
        if current is None:
            raise Http404("No such folder.")
        message = _message(folder_id, uid)
        _record_flags((user.id, account_id, folder_id), current, [message], add, remove)
    return message


def _record_flags(
    ids: tuple[int, int, int],
    current: tuple[str, int | None] | None,
    rows: list[Message],
    add: list[str],
    remove: list[str],
) -> int:
    """Change rows read under the folder's lock; save and queue what changed.

    ids: the user's, the account's and the folder's, all that is needed of
    them (loading their rows would cost more than the rest of the change).
    """
    user_id, account_id, folder_id = ids
    changed: list[Message] = []
    unseen_delta = 0
    for row in rows:
        before = (row.seen, row.flagged, row.answered, row.forwarded, row.draft)
        before_all = (*before, row.deleted, list(row.keywords))
        was_seen = row.seen
        apply_flags(row, add, remove)
        after_all = (
            row.seen,
            row.flagged,
            row.answered,
            row.forwarded,
            row.draft,
            row.deleted,
            list(row.keywords),
        )
        if after_all != before_all:
            changed.append(row)
            unseen_delta += int(was_seen) - int(row.seen)
    if not changed:
        return 0
    _save_flags(changed, add, remove)
    modseqs = [row.modseq for row in changed if row.modseq]
    _operation(
        account_id,
        OperationKind.FLAGS,
        folder_id,
        [row.uid for row in changed],
        {"add": add, "remove": remove, "modseq": max(modseqs) if modseqs else None},
        current,
    )
    if unseen_delta:
        Folder.objects.filter(id=folder_id).update(
            unseen=Greatest(F("unseen") + unseen_delta, 0)
        )
    uids = sorted(row.uid for row in changed)
    event = {"type": "flags", "folder": folder_id, "uids": uids}
    _queue(account_id, user_id, event)
    return len(changed)


def _save_flags(changed: list[Message], add: list[str], remove: list[str]) -> None:
    """Write the changed rows' flags: one UPDATE for the named flags.

    After apply_flags every changed row holds the same value in each named
    field touched, so a plain UPDATE does; bulk_update's per-row CASE costs
    seconds for a few hundred rows. Keywords differ per row.
    """
    flags = [flag.lower() for flag in (*add, *remove)]
    touched = {FIELDS[flag] for flag in flags if flag in FIELDS}
    if touched:
        values = {name: getattr(changed[0], name) for name in touched}
        Message.objects.filter(id__in=[row.id for row in changed]).update(**values)
    if any(flag not in FIELDS for flag in flags):
        Message.objects.bulk_update(changed, ["keywords"])


def mark_seen(
    account: MailAccount, folder: Folder, uids: Iterable[int], seen: bool = True
) -> int:
    """Mark messages read (or unread)."""
    flag = ["\\Seen"]
    return set_flags(
        account, folder, uids, add=flag if seen else (), remove=() if seen else flag
    )


def _take_out(
    account: MailAccount,
    folder: Folder,
    uids: Iterable[int],
    kind: str,
    payload: dict[str, Any],
    target: Folder | None,
) -> int:
    """Remove messages from a folder's cache and queue the server operation."""
    wanted = {int(u) for u in uids}
    with transaction.atomic():
        current = lock_folder(folder.id)
        rows = Message.objects.filter(folder=folder, uid__in=wanted)
        found = rows.aggregate(n=Count("id"), unseen=Count("id", filter=Q(seen=False)))
        moved = sorted(rows.values_list("uid", flat=True))
        if not moved:
            return 0
        rows.delete()
        _operation(account.id, kind, folder.id, moved, payload, current)
        Folder.objects.filter(id=folder.id).update(
            total=Greatest(F("total") - found["n"], 0),
            unseen=Greatest(F("unseen") - found["unseen"], 0),
        )
        if target is not None:
            Folder.objects.filter(id=target.id).update(
                total=F("total") + found["n"], unseen=F("unseen") + found["unseen"]
            )
        event = {"type": "expunged", "folder": folder.id, "uids": moved}
        _queue(account.id, account.user_id, event)
    return len(moved)


def _target(account: MailAccount, folder: Folder, target: Folder) -> None:
    if folder.account_id != account.id or target.account_id != account.id:
        raise Http404("No such folder.")
    if not target.selectable:
        raise ValueError(f'"{target.display_name}" cannot hold messages.')


def move_messages(
    account: MailAccount, folder: Folder, uids: Iterable[int], target: Folder
) -> int:
    """Move messages to another folder of the account; return how many."""
    _target(account, folder, target)
    if target.id == folder.id:
        return 0
    payload = {"target": target.name, "target_id": target.id}
    return _take_out(account, folder, uids, OperationKind.MOVE, payload, target)


def copy_messages(
    account: MailAccount, folder: Folder, uids: Iterable[int], target: Folder
) -> int:
    """Copy messages to another folder; they appear there after its sync."""
    _target(account, folder, target)
    wanted = sorted({int(u) for u in uids})
    with transaction.atomic():
        current = lock_folder(folder.id)
        present = sorted(
            Message.objects.filter(folder=folder, uid__in=wanted).values_list(
                "uid", flat=True
            )
        )
        if not present:
            return 0
        payload = {"target": target.name, "target_id": target.id}
        _operation(account.id, OperationKind.COPY, folder.id, present, payload, current)
        _queue(account.id, account.user_id, None)
    return len(present)


def delete_messages(account: MailAccount, folder: Folder, uids: Iterable[int]) -> int:
    """Move messages to Trash; in Trash (or without one) delete them for good."""
    if folder.account_id != account.id:
        raise Http404("No such folder.")
    trash = special_folder(account, "\\Trash")
    if trash is not None and trash.id != folder.id:
        return move_messages(account, folder, uids, trash)
    return _take_out(account, folder, uids, OperationKind.EXPUNGE, {}, None)


def expunge(account: MailAccount, folder: Folder) -> int:
    """Delete for good the folder's messages marked \\Deleted."""
    if folder.account_id != account.id:
        raise Http404("No such folder.")
    uids = Message.objects.filter(folder=folder, deleted=True).values_list(
        "uid", flat=True
    )
    return _take_out(account, folder, list(uids), OperationKind.EXPUNGE, {}, None)


# State for the user ------------------------------------------------------------


def failed_operations(account: MailAccount) -> list[PendingOperation]:
    """Return the actions the server refused that the user has not dismissed.

    With only what the page shows of them: asked on every list page, where
    the columns cost more than the (usually empty) answer.
    """
    return _FAILED.objects(account.id)


_FAILED = Prepared(
    lambda account_id: (
        PendingOperation.objects.filter(
            account_id=account_id, state=OperationState.FAILED, dismissed=False
        )
        .only("folder_name", "uids", "last_error")
        .order_by("-id")[:20]
    )
)


def waiting_operations(account: MailAccount) -> int:
    """Return how many actions still wait to reach the server."""
    return PendingOperation.objects.filter(
        account=account, state=OperationState.PENDING
    ).count()


def dismiss_failure(account: MailAccount, operation_id: int) -> None:
    """Hide a failed action's error from the user; 404 if not theirs."""
    changed = PendingOperation.objects.filter(
        account=account, id=operation_id, state=OperationState.FAILED
    ).update(dismissed=True)
    if not changed:
        raise Http404("No such failure.")


def account_error(account: MailAccount) -> str:
    """Return why the account's server cannot be used right now, or ""."""
    state = AccountState.objects.filter(account=account).first()
    return state.error if state else ""


def pick_folder(folders: list[Folder], folder_id: int) -> Folder:
    """Return the folder with this id from folders(), or 404."""
    for folder in folders:
        if folder.id == folder_id:
            return folder
    raise Http404("No such folder.")


def state_error(account: MailAccount) -> str:
    """account_error() of an account from accounts_for_user(), without a query.

    Worded for the reader: in the language of the request where its kind
    is known (see errors_shown).
    """
    try:
        state = account.sync_state
    except AccountState.DoesNotExist:
        return ""
    if not state.error:
        return ""
    return shown_error(account, state.error_kind, state.error)


# Push ---------------------------------------------------------------------------


def watch_target(
    user: User, account_param: str | None, folder_param: str | None
) -> tuple[int | None, int | None]:
    """Return (account id, folder id) an event stream watches for a user.

    Raises LookupError when the account or folder is not the user's.
    """
    account: MailAccount | None
    if account_param:
        try:
            account = get_account_for_user(user, int(account_param))
        except (Http404, ValueError):
            raise LookupError(account_param) from None
    else:
        account = default_account_for_user(user)
    if account is None:
        return None, None
    folder_id = None
    if folder_param:
        try:
            folder_id = Folder.objects.values_list("id", flat=True).get(
                id=int(folder_param), account=account
            )
        except (Folder.DoesNotExist, ValueError):
            raise LookupError(folder_param) from None
    return account.id, folder_id


def keep_watching(account_id: int, folder_id: int | None) -> None:
    """Keep the account's IDLE watcher alive (called by open event streams)."""
    events.mark_watching(account_id, folder_id)
    tasks.send_watch(account_id)


# Bodies --------------------------------------------------------------------------


def open_message(
    account: MailAccount,
    folder: Folder,
    message: Message,
    *,
    timeout: float | None = None,
    mark_seen: bool = False,
) -> BodyState:
    """Return a message's body for the reading pane; errors are in .error.

    The one read that waits on a worker: a body not in the cache yet is
    fetched by the account's worker, waiting up to timeout seconds
    (settings.BODY_FETCH_TIMEOUT) before giving up with a clear error.

    With mark_seen the message is also marked read, unless its text could
    not be shown. When the worker fetches the body, it marks the message
    after it has handed the body over, so the reader does not wait for that
    write; the caller shows the message as read either way.
    """
    if folder.account_id != account.id or message.folder_id != folder.id:
        raise Http404("No such message.")
    uid = message.uid
    body = bodies.cached_body(account.id, folder, uid)
    if body is None:
        limit = timeout if timeout is not None else bodies.body_timeout()
        facts = bodies.message_facts(account.user_id, folder, message)
        body = bodies.fetch_through_worker(
            account.id, folder.id, uid, limit, mark_seen=mark_seen, facts=facts
        )
    elif mark_seen and "error" not in body:
        set_flags(account, folder, [uid], add=["\\Seen"])
    return bodies.body_state(account.id, folder, uid, body)


def mark_seen_after_fetch(
    account_id: int, folder_id: int, uid: int, owner: int | None = None
) -> bool:
    """Mark a message read for a reader the worker just gave its body to.

    Returns whether that recorded an operation. No push is queued for it:
    the worker, which has the account's connections at hand, pushes it
    (tasks.fetch_body). owner: the account's user id, when the web sent it
    (bodies.message_facts); otherwise it is read. A folder gone meanwhile
    has no message left to mark.
    """
    if owner is None:
        found = MailAccount.objects.filter(id=account_id).values_list("user_id")
        if not found:
            return False
        owner = found[0][0]
    with _pushed_by_caller():
        return _set_flags_in(owner, account_id, folder_id, [uid], ["\\Seen"], ()) > 0


def message_html(
    account: MailAccount,
    folder: Folder,
    uid: int,
    *,
    allow_remote: bool = False,
    rewrite_url: Callable[[str], str] | None = None,
) -> str:
    """Return a message's HTML, sanitized, for the body frame.

    With allow_remote, remote images are kept, their URLs passed through
    rewrite_url (the image proxy).
    """
    state_body = bodies.cached_body(account.id, folder, uid)
    if state_body is None:
        state_body = bodies.fetch_through_worker(
            account.id, folder.id, uid, bodies.body_timeout()
        )
    if "error" in state_body:
        return ""
    if allow_remote and rewrite_url is not None and state_body.get("raw_html"):
        from webmail.mime.sanitize import sanitize_html

        cids = dict(state_body.get("cid_parts", []))

        def cid_url(content_id: str) -> str:
            part = cids.get(content_id.strip().strip("<>"))
            if not part:
                return ""
            return parts.inline_part_url(
                account.user_id, account.id, folder.id, uid, part
            )

        return sanitize_html(
            state_body["raw_html"],
            allow_remote=True,
            rewrite_url=rewrite_url,
            cid_url=cid_url,
        ).html
    return bodies.body_state(account.id, folder, uid, state_body).html


def messages_with_uids(folder: Folder, uids: Iterable[int]) -> list[Message]:
    """Return the folder's cached messages with these UIDs, newest first."""
    return list(
        Message.objects.filter(folder=folder, uid__in=list(uids)).order_by("-uid")
    )
