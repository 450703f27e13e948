"""Mirroring the server into the cache: the folder list and each folder.

A folder sync asks the server only for what changed: with QRESYNC the
SELECT itself answers (changed flags and expunged UIDs since the last
HIGHESTMODSEQ), with CONDSTORE a CHANGEDSINCE fetch does, and without
either a UID and flags listing is compared with the cache. A changed
UIDVALIDITY means the folder's UIDs were renumbered: its cache is dropped
and loaded again. Messages load newest first, ``SYNC_BATCH`` at a time: the
first batch makes the first page, the rest is backfilled by later tasks.

Cached flags are the server's flags with the user's still-pending actions
(PendingOperation) applied on top, so a sync never undoes a click that the
outbox has not pushed yet.

Runs in workers only (it talks IMAP); the functions take ids and return
what changed, for the caller to publish.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from webmail.flagmap import apply_flags, fields_from_flags
from webmail.imap import ImapSession, encode_folder_name
from webmail.imap.types import FlagChange, MessageSummary, Quota, SelectInfo
from webmail.imap.types import Folder as ServerFolder
from webmail.models import (
    AccountState,
    Folder,
    Message,
    OperationKind,
    OperationState,
    PendingOperation,
    lock_account,
    lock_folder,
)
from webmail.workers import get_pool, with_session

logger = logging.getLogger(__name__)

FLAG_FIELDS = ("seen", "flagged", "answered", "forwarded", "draft", "deleted")


@dataclass
class FolderListResult:
    """What a folder-list sync found."""

    changed: bool = False
    # Folders whose status says they hold news for the cache.
    stale: list[int] = field(default_factory=list)


@dataclass
class SyncResult:
    """What a folder sync changed in the cache."""

    folder_id: int
    new: list[int] = field(default_factory=list)
    changed: list[int] = field(default_factory=list)
    vanished: list[int] = field(default_factory=list)
    rebuilt: bool = False
    more: bool = False

    @property
    def anything(self) -> bool:
        """Return whether the cache changed at all."""
        return bool(self.new or self.changed or self.vanished or self.rebuilt)


# A backfill batch is fetched in this many pieces: the server reads the next
# piece while the last one is parsed and stored.
BACKFILL_PIECES = 4


def batch_size() -> int:
    return int(getattr(settings, "IMAP_SYNC_BATCH", 1000))


def first_batch_size() -> int:
    """Messages of a never-synced folder loaded before the first page shows."""
    return min(batch_size(), int(getattr(settings, "IMAP_FIRST_BATCH", 100)))


# Folder list ------------------------------------------------------------


def sync_folder_list(account_id: int, *, counts: bool = True) -> FolderListResult:
    """Mirror the server's folders (names, special use, counts) and the quota.

    counts=False lists the names only: an account's first sync shows its
    inbox before asking for the rest. On a large mailbox the server takes a
    few hundred milliseconds to open INBOX for STATUS and as long again to
    count the quota.
    """

    def work(
        session: ImapSession,
    ) -> tuple[list[ServerFolder], list[str], Quota | None]:
        return (
            session.list_folders(with_status=counts),
            sorted(session.capabilities.names),
            session.get_quota() if counts else None,
        )

    listed, capabilities, quota = with_session(account_id, work)
    result = apply_folder_list(account_id, listed, capabilities)
    if counts:
        record_usage(account_id, quota)
    return result


def record_usage(account_id: int, quota: Quota | None) -> None:
    """Note the account's quota and this worker's connections to its server."""
    pool = get_pool()
    AccountState.objects.update_or_create(
        account_id=account_id,
        defaults={
            "quota_used_kb": quota.used_kb if quota else None,
            "quota_limit_kb": quota.limit_kb if quota else None,
            "open_connections": pool.open_count(account_id)
            + pool.open_count(account_id, idle=True),
            "usage_at": timezone.now(),
        },
    )


def apply_folder_list(
    account_id: int, listed: Sequence[ServerFolder], capabilities: list[str]
) -> FolderListResult:
    """Write a LIST answer into the cache; folders gone from it are dropped."""
    result = FolderListResult()
    with transaction.atomic():
        lock_account(account_id)
        existing = {f.name: f for f in Folder.objects.filter(account_id=account_id)}
        by_path: dict[tuple[str, ...], Folder] = {}
        for item in listed:
            row = existing.pop(item.name, None)
            if row is None:
                row = Folder(account_id=account_id, name=item.name)
                result.changed = True
            before = (row.display_name, row.special_use, row.subscribed)
            row.display_name = item.display_name
            row.path = list(item.path)
            row.delimiter = item.delimiter or ""
            row.special_use = item.special_use or ""
            row.flags = list(item.flags)
            row.subscribed = item.subscribed
            row.selectable = item.selectable
            if item.messages is not None:
                row.total = item.messages
            if item.unseen is not None:
                row.unseen = item.unseen
            if before != (row.display_name, row.special_use, row.subscribed):
                result.changed = True
            row.save()
            by_path[item.path] = row
            if row.selectable and _looks_stale(row, item):
                result.stale.append(row.id)
        for row in by_path.values():
            parent = by_path.get(tuple(row.path[:-1])) if len(row.path) > 1 else None
            if row.parent_id != (parent.id if parent else None):
                row.parent = parent
                row.save(update_fields=["parent"])
        if existing:
            result.changed = True
            Folder.objects.filter(id__in=[f.id for f in existing.values()]).delete()
        AccountState.objects.update_or_create(
            account_id=account_id,
            defaults={
                "folders_synced_at": timezone.now(),
                "capabilities": capabilities,
                "error": "",
                "error_kind": "",
                "error_at": None,
            },
        )
    return result


def _looks_stale(row: Folder, item: ServerFolder) -> bool:
    if row.synced_at is None:
        return False  # never opened: synced when it is
    if item.uidvalidity is not None and item.uidvalidity != row.uidvalidity:
        return True
    if item.uidnext is not None and item.uidnext != row.uidnext:
        return True
    return item.highestmodseq is not None and item.highestmodseq != row.highestmodseq


# One folder -----------------------------------------------------------------


def sync_folder(account_id: int, folder_id: int) -> SyncResult | None:
    """Bring one folder's cache up to date; None if the folder is gone."""
    if not Folder.objects.filter(id=folder_id, account_id=account_id).exists():
        return None
    name = Folder.objects.filter(id=folder_id).values_list("name", flat=True).first()
    return with_session(account_id, lambda s: sync_folder_on(s, folder_id), folder=name)


def _folder_state(session: ImapSession, folder: Folder) -> SelectInfo:
    """Select the folder, or when this connection has it open, ask for its counts.

    A connection that already has the folder selected is asked with STATUS
    (about a millisecond) instead of a new SELECT, which on a large folder
    costs hundreds. Changes are then found by CHANGEDSINCE or a flags diff.
    """
    name = encode_folder_name(folder.name)
    current = session.selected_info
    if session.selected == name and current is not None and not current.readonly:
        state = session.current_state(folder.name)
        if state is not None and state.uidvalidity == current.uidvalidity:
            return state
    qresync = None
    if folder.uidvalidity and folder.highestmodseq and session.qresync:
        qresync = (folder.uidvalidity, folder.highestmodseq)
    return session.select(folder.name, qresync=qresync)


def _unchanged(folder: Folder, info: SelectInfo) -> bool:
    """Whether the server's counts say nothing changed since the last sync."""
    return (
        folder.backfill_below_uid is not None
        and info.highestmodseq is not None
        and info.highestmodseq == folder.highestmodseq
        and info.uidnext == folder.uidnext
        and info.exists == folder.total
        and info.uidvalidity == folder.uidvalidity
    )


def sync_folder_on(session: ImapSession, folder_id: int) -> SyncResult | None:
    """Sync a folder over an open session (see sync_folder)."""
    folder = Folder.objects.filter(id=folder_id).first()
    if folder is None or not folder.selectable:
        return None
    result = SyncResult(folder.id)
    info = _folder_state(session, folder)
    if not info.resynced and _unchanged(folder, info):
        Folder.objects.filter(id=folder.id).update(
            synced_at=timezone.now(), sync_error=""
        )
        result.more = not folder.complete
        return result
    if folder.uidvalidity is not None and info.uidvalidity != folder.uidvalidity:
        logger.info("UIDVALIDITY of %s changed: reloading", folder.name)
        with transaction.atomic():
            lock_folder(folder.id)
            Message.objects.filter(folder=folder).delete()
            folder.highestmodseq = None
            folder.uidnext = None
            folder.backfill_below_uid = None
            folder.save()
        result.rebuilt = True

    updates: dict[int, tuple[tuple[str, ...], int | None]] = {}
    vanished: set[int] = set()
    known = folder.backfill_below_uid is not None
    if known:
        if info.resynced:
            updates = {c.uid: (c.flags, c.modseq) for c in info.changed if c.uid}
            vanished = set(info.vanished)
        elif session.condstore and folder.highestmodseq:
            if (
                info.highestmodseq != folder.highestmodseq
                or info.exists != folder.total
            ):
                changes = session.fetch_changes(folder.highestmodseq)
                updates = {c.uid: (c.flags, c.modseq) for c in changes.changed if c.uid}
                if changes.vanished_known:
                    vanished = set(changes.vanished)
                else:
                    vanished = _cached_uids(folder) - set(session.esearch("ALL").uids)
        else:
            cached = _cached_uids(folder)
            flags = session.fetch_all_flags()
            updates = {uid: (f, None) for uid, f in flags.items() if uid in cached}
            vanished = cached - set(flags)

    summaries: list[MessageSummary] = []
    below = folder.backfill_below_uid
    if not known:
        all_uids = list(session.esearch("ALL").uids)
        newest = all_uids[-first_batch_size() :]
        summaries = session.fetch_summaries(newest)
        below = newest[0] if len(all_uids) > len(newest) else 1
    elif (
        info.uidnext is None or folder.uidnext is None or info.uidnext > folder.uidnext
    ):
        start = folder.uidnext or 1
        fresh = [u for u in session.search_uids("UID", f"{start}:*") if u >= start]
        summaries = session.fetch_summaries(fresh)

    unseen: int | None = None
    if below is not None and below > 1:
        unseen = session.esearch("UNSEEN").count
    with transaction.atomic():
        lock_folder(folder.id)
        folder = Folder.objects.get(id=folder.id)
        overlay = _pending_flag_changes(folder)
        moved_away = _pending_moves(folder)
        if vanished:
            gone = Message.objects.filter(folder=folder, uid__in=vanished)
            result.vanished = sorted(gone.values_list("uid", flat=True))
            gone.delete()
        result.changed, read_more = _apply_flag_updates(folder, updates, overlay)
        result.new = _insert(folder, summaries, overlay, moved_away)
        folder.uidvalidity = info.uidvalidity
        folder.uidnext = info.uidnext
        folder.highestmodseq = info.highestmodseq
        folder.total = info.exists
        # A known folder keeps its mark as read under the lock: a backfill
        # may have moved it down since this sync began, and moving it back
        # up would make that backfill give way and fetch its messages again.
        if not known:
            folder.backfill_below_uid = below
        if unseen is not None:
            folder.unseen = unseen
        elif result.new or result.vanished:
            folder.unseen = Message.objects.filter(folder=folder, seen=False).count()
        else:
            # Only flags changed (the usual news): the count moves by what
            # they changed. Counting costs ~9 ms at 100,000 messages, with
            # the folder locked.
            folder.unseen = max(0, folder.unseen - read_more)
        folder.synced_at = timezone.now()
        folder.sync_error = ""
        folder.save()
    below = folder.backfill_below_uid
    result.more = below is not None and below > 1
    return result


def _cached_uids(folder: Folder) -> set[int]:
    return set(Message.objects.filter(folder=folder).values_list("uid", flat=True))


# Folders a backfill is loading in this process. Every sync of a partly
# loaded folder queues a backfill (push.sync_and_publish), so each page view
# during a long load would start a second chain that fetches the same
# messages, only to learn at its first write that the first chain has them.
_backfilling: set[int] = set()
_backfilling_lock = threading.Lock()


@contextlib.contextmanager
def _only_backfill(folder_id: int) -> Iterator[bool]:
    """Yield whether this is the folder's only backfill running in this process."""
    with _backfilling_lock:
        claimed = folder_id not in _backfilling
        _backfilling.add(folder_id)
    try:
        yield claimed
    finally:
        if claimed:
            with _backfilling_lock:
                _backfilling.discard(folder_id)


def backfill_folder(account_id: int, folder_id: int) -> SyncResult | None:
    """Load the next batch of older messages of a partly loaded folder.

    None if there is nothing to load, or if another backfill of the folder
    is running in this process: that one queues the next batch itself.
    """
    folder = Folder.objects.filter(id=folder_id, account_id=account_id).first()
    if folder is None or folder.backfill_below_uid is None or folder.complete:
        return None
    with _only_backfill(folder_id) as claimed:
        if not claimed:
            return None
        return with_session(
            account_id, lambda s: backfill_folder_on(s, folder_id), folder=folder.name
        )


def backfill_folder_on(session: ImapSession, folder_id: int) -> SyncResult | None:
    """Backfill over an open session (see backfill_folder).

    The batch is fetched in pieces, newest first, each piece stored in its
    own transaction as soon as it is in while the server reads the next.
    """
    folder = Folder.objects.filter(id=folder_id).first()
    if folder is None or folder.backfill_below_uid is None or folder.complete:
        return None
    info = session.open_folder(folder.name)
    if info.uidvalidity != folder.uidvalidity:
        return sync_folder_on(session, folder_id)
    below = folder.backfill_below_uid
    # ESEARCH answers with ranges ("1:99500"), not 100,000 numbers.
    older = [u for u in session.esearch("UID", f"1:{below - 1}").uids if u < below]
    chunk = older[-batch_size() :]
    size = max(1, -(-len(chunk) // BACKFILL_PIECES))
    pieces = [chunk[max(0, end - size) : end] for end in range(len(chunk), 0, -size)]
    # Below the last piece: the oldest message, or more left for the next task.
    floor = chunk[0] if len(older) > len(chunk) else 1
    result = SyncResult(folder.id)
    with contextlib.closing(session.summary_batches(pieces)) as fetched:
        for piece, summaries in zip(pieces, fetched, strict=True):
            mark = piece[0] if piece[0] != chunk[0] else floor
            new = _store_older(folder.id, below, mark, summaries)
            if new is None:
                return _gave_way(result)
            result.new += new
            below = mark
    if not pieces and _store_older(folder.id, below, floor, []) is None:
        return _gave_way(result)
    result.new.sort()
    result.more = floor > 1
    return result


def _gave_way(result: SyncResult) -> SyncResult:
    """Stop a backfill whose mark moved under it (the folder was reloaded).

    The next task goes on from the new mark, if anything is left: a backfill
    queued meanwhile gave way to this one (_only_backfill).
    """
    folder = Folder.objects.filter(id=result.folder_id).first()
    result.new.sort()
    result.more = folder is not None and not folder.complete
    return result


def _store_older(
    folder_id: int, below: int, mark: int, summaries: Sequence[MessageSummary]
) -> list[int] | None:
    """Cache older messages and move the folder's backfill mark down to mark.

    None (nothing stored) if the mark is no longer below: another task
    loaded these messages already.
    """
    with transaction.atomic():
        lock_folder(folder_id)
        folder = Folder.objects.get(id=folder_id)
        if folder.backfill_below_uid != below:
            return None
        new = _insert(folder, summaries, {}, set())
        folder.backfill_below_uid = mark
        folder.save(update_fields=["backfill_below_uid"])
    return new


def refresh_uids(session: ImapSession, folder: Folder, uids: Iterable[int]) -> None:
    """Make the cache of these messages match the server again.

    Used to undo the cache change of an action the server refused.
    """
    info = session.open_folder(folder.name)
    if info.uidvalidity != folder.uidvalidity:
        return  # the next sync rebuilds the folder anyway
    wanted = sorted(set(uids))
    summaries = session.fetch_summaries(wanted)
    with transaction.atomic():
        lock_folder(folder.id)
        present = {s.uid for s in summaries}
        Message.objects.filter(folder=folder, uid__in=set(wanted) - present).delete()
        Message.objects.filter(folder=folder, uid__in=present).delete()
        _insert(folder, summaries, _pending_flag_changes(folder), set())
        folder.unseen = Message.objects.filter(folder=folder, seen=False).count()
        folder.save(update_fields=["unseen"])


# Writing the cache -----------------------------------------------------------

Overlay = dict[int, list[tuple[list[str], list[str]]]]


def _pending_flag_changes(folder: Folder) -> Overlay:
    overlay: Overlay = {}
    ops = PendingOperation.objects.filter(
        folder=folder,
        uidvalidity=folder.uidvalidity or 0,
        state=OperationState.PENDING,
        kind=OperationKind.FLAGS,
    ).order_by("id")
    for op in ops:
        change = (list(op.payload.get("add", [])), list(op.payload.get("remove", [])))
        for uid in op.uids:
            overlay.setdefault(int(uid), []).append(change)
    return overlay


def _pending_moves(folder: Folder) -> set[int]:
    uids: set[int] = set()
    ops = PendingOperation.objects.filter(
        folder=folder,
        uidvalidity=folder.uidvalidity or 0,
        state=OperationState.PENDING,
        kind__in=[OperationKind.MOVE, OperationKind.EXPUNGE],
    )
    for op in ops:
        uids.update(int(u) for u in op.uids)
    return uids


def _apply_flag_updates(
    folder: Folder,
    updates: dict[int, tuple[tuple[str, ...], int | None]],
    overlay: Overlay,
) -> tuple[list[int], int]:
    """Store flags the server reported; return the changed UIDs, and how
    many more of them are read than before (fewer: negative)."""
    if not updates:
        return [], 0
    changed: list[int] = []
    read_more = 0
    rows = Message.objects.filter(folder=folder, uid__in=list(updates)).only(
        "id", "uid", "modseq", "keywords", *FLAG_FIELDS
    )
    to_save: list[Message] = []
    for row in rows.iterator(chunk_size=2000):
        flags, modseq = updates[row.uid]
        was_seen = row.seen
        before = [getattr(row, name) for name in FLAG_FIELDS] + [row.keywords]
        for name, value in fields_from_flags(flags).items():
            setattr(row, name, value)
        for add, remove in overlay.get(row.uid, []):
            apply_flags(row, add, remove)
        after = [getattr(row, name) for name in FLAG_FIELDS] + [row.keywords]
        if modseq is not None:
            row.modseq = modseq
        if before != after:
            changed.append(row.uid)
            read_more += int(row.seen) - int(was_seen)
        if before != after or modseq is not None:
            to_save.append(row)
    Message.objects.bulk_update(
        to_save, [*FLAG_FIELDS, "keywords", "modseq"], batch_size=500
    )
    return sorted(changed), read_more


def flag_news_known(folder_id: int, news: Sequence[object]) -> bool:
    """Whether all this IDLE news is flag changes the cache already shows.

    A change the webmail pushed comes back from the server as news. A sync
    for it would only learn the messages' new MODSEQ (a round trip or two,
    and a write with the folder locked); that is stored here instead, so
    the next change to such a message is not refused as a conflict.
    """
    latest: dict[int, FlagChange] = {}
    for event in news:
        if not isinstance(event, FlagChange) or event.uid is None:
            return False
        latest[event.uid] = event
    if not latest:
        return False
    rows = list(
        Message.objects.filter(folder_id=folder_id, uid__in=list(latest)).only(
            "uid", "keywords", *FLAG_FIELDS
        )
    )
    if len(rows) != len(latest):
        return False
    for row in rows:
        shown = fields_from_flags(latest[row.uid].flags).items()
        if any(getattr(row, name) != value for name, value in shown):
            return False
    for uid, change in latest.items():
        if change.modseq is not None:
            older = Q(modseq__isnull=True) | Q(modseq__lt=change.modseq)
            Message.objects.filter(older, folder_id=folder_id, uid=uid).update(
                modseq=change.modseq
            )
    return True


def _insert(
    folder: Folder,
    summaries: Sequence[MessageSummary],
    overlay: Overlay,
    moved_away: set[int],
) -> list[int]:
    rows = []
    for summary in summaries:
        if summary.uid in moved_away:
            continue
        values = fields_from_summary(summary)
        if summary.uid in overlay:
            row = SimpleNamespace(**values)
            for add, remove in overlay[summary.uid]:
                apply_flags(row, add, remove)
            values = vars(row)
        rows.append(values)
    insert_rows(folder.id, rows)
    return [row["uid"] for row in rows]


def fields_from_summary(summary: MessageSummary) -> dict[str, Any]:
    """Return the Message field values (but folder) of a fetched summary."""
    env = summary.envelope
    sender = env.from_[0] if env.from_ else ("", "")
    message_id = env.message_id or ""
    return {
        "uid": summary.uid,
        "modseq": summary.modseq,
        "date": env.date or summary.internaldate,
        "internaldate": summary.internaldate,
        "from_name": sender[0][:255],
        "from_address": sender[1][:255],
        "to": _addresses(env.to),
        "cc": _addresses(env.cc),
        "subject": env.subject,
        "message_id": message_id[:998],
        "in_reply_to": (env.in_reply_to or "")[:998],
        "references": " ".join(summary.references),
        "size": min(summary.size, 2**31 - 1),
        "has_attachments": summary.has_attachments,
        "thread_key": thread_key(summary.references, env.in_reply_to, message_id)[:998],
        **fields_from_flags(summary.flags),
    }


# Values the database drivers take as they are.
_AS_IS = {
    "BigIntegerField",
    "BooleanField",
    "CharField",
    "PositiveIntegerField",
    "TextField",
}


def _converter(field: Any) -> Callable[[Any], Any] | None:
    """Return what turns a field's value into the database's, None if nothing.

    For dates and JSON it is the backend's own step of Django's conversion:
    the field's full get_db_prep_save costs more than the rest of a row.
    Dates here always carry their offset (parse.aware), the case that step
    is for.
    """
    kind = field.get_internal_type()
    if kind in _AS_IS:
        return None
    if kind == "DateTimeField":
        return connection.ops.adapt_datetimefield_value
    if kind == "JSONField":
        adapt = functools.partial(
            connection.ops.adapt_json_value, encoder=field.encoder
        )
        # Most messages have no keywords and no Cc: [] is encoded once.
        empty = adapt([])
        return lambda value: empty if value == [] else adapt(value)
    return functools.partial(field.get_db_prep_save, connection=connection)


def insert_rows(folder_id: int, rows: Sequence[dict[str, Any]]) -> None:
    """Add Message rows to a folder; a UID already cached is left as it is.

    rows hold field values by attribute name; fields left out get their
    default. One INSERT statement is run for all the rows (executemany):
    bulk_create builds a model instance a row and converts each value on
    its own, which took longer than parsing the server's answer. ON
    CONFLICT DO NOTHING reads the same on SQLite and PostgreSQL, and lets a
    task run twice insert each message once.
    """
    if not rows:
        return
    folder_field = Message._meta.get_field("folder")
    fields = [
        f
        for f in Message._meta.concrete_fields
        if not f.primary_key and not f.generated and f is not folder_field
    ]
    # Column by column: a comprehension a field costs less than a loop
    # over every value of every row.
    table: list[list[Any]] = [[folder_id] * len(rows)]
    for f in fields:
        name, default, convert = f.attname, f.get_default(), _converter(f)
        column = [row.get(name, default) for row in rows]
        table.append(column if convert is None else [convert(v) for v in column])
    values = list(zip(*table, strict=True))
    quote = connection.ops.quote_name
    columns = [str(f.column) for f in [folder_field, *fields]]
    # Names from the model, values as parameters: nothing here comes from mail.
    sql = "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT DO NOTHING".format(  # noqa: S608
        quote(Message._meta.db_table),
        ", ".join(quote(column) for column in columns),
        ", ".join(["%s"] * len(columns)),
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, values)


def thread_key(
    references: Sequence[str], in_reply_to: str | None, message_id: str
) -> str:
    """Return the id of the first message of the thread, as far as known."""
    if references:
        return references[0]
    return in_reply_to or message_id


def _addresses(values: Iterable[tuple[str, str]]) -> list[Any]:
    return [[name, address] for name, address in values]
