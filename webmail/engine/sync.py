"""Mirroring each folder of the server into the cache.

A folder sync asks the server only for what changed: with QRESYNC the
SELECT itself answers (changed flags and expunged UIDs since the last
HIGHESTMODSEQ), with CONDSTORE a CHANGEDSINCE fetch does, and without
either a UID and flags listing is compared with the cache. A changed
UIDVALIDITY means the folder's UIDs were renumbered: its cache is dropped
and loaded again. Messages load newest first, ``SYNC_BATCH`` at a time: the
first batch makes the first page, the rest is backfilled by later tasks
(webmail.engine.backfill).

Cached flags are the server's flags with the user's still-pending actions
(PendingOperation) applied on top (webmail.engine.rows), so a sync never
undoes a click that the outbox has not pushed yet.

Runs in workers only (it talks IMAP); the functions take ids and return
what changed, for the caller to publish.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Greatest
from django.utils import timezone

from webmail.engine.connections import with_session
from webmail.engine.previews import previews_due
from webmail.engine.rows import (
    Overlay,
    insert_summaries,
    pending_flag_changes,
    pending_moves,
)
from webmail.imap import ImapSession, encode_folder_name
from webmail.imap.types import FlagChange, MessageSummary, SelectInfo
from webmail.models import Folder, Message, lock_folder
from webmail.shared.flags import apply_flags, fields_from_flags

logger = logging.getLogger(__name__)

FLAG_FIELDS = ("seen", "flagged", "answered", "forwarded", "draft", "deleted")


@dataclass
class SyncResult:
    """What a folder sync changed in the cache."""

    folder_id: int
    new: list[int] = field(default_factory=list)
    changed: list[int] = field(default_factory=list)
    vanished: list[int] = field(default_factory=list)
    rebuilt: bool = False
    more: bool = False
    # Whether the previews pass has messages of the folder to read now.
    previews_due: bool = False

    @property
    def anything(self) -> bool:
        """Return whether the cache changed at all."""
        return bool(self.new or self.changed or self.vanished or self.rebuilt)


def batch_size() -> int:
    return int(getattr(settings, "IMAP_SYNC_BATCH", 1000))


def first_batch_size() -> int:
    """Messages of a never-synced folder loaded before the first page shows."""
    return min(batch_size(), int(getattr(settings, "IMAP_FIRST_BATCH", 100)))


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
    return session.select(
        folder.name, qresync=qresync, known_up_to=_highest_known(folder)
    )


def _highest_known(folder: Folder) -> int | None:
    """The highest UID the cache may hold: the bound of a catch-up.

    Cyrus reads "*" as the highest UID still in the folder, so a catch-up
    over "1:*" misses the expunge of the newest messages.
    """
    if folder.uidnext:
        return folder.uidnext - 1
    highest = Message.objects.filter(folder=folder).order_by("-uid").first()
    return highest.uid if highest is not None else None


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
    total_before = folder.total
    info = _folder_state(session, folder)
    if not info.resynced and _unchanged(folder, info):
        Folder.objects.filter(id=folder.id).update(
            synced_at=timezone.now(), sync_error=""
        )
        result.more = not folder.complete
        result.previews_due = previews_due(folder)
        return result
    if folder.uidvalidity is not None and info.uidvalidity != folder.uidvalidity:
        logger.info("UIDVALIDITY of %s changed: reloading", folder.name)
        with transaction.atomic():
            lock_folder(folder.id)
            Message.objects.filter(folder=folder).delete()
            folder.highestmodseq = None
            folder.uidnext = None
            folder.backfill_below_uid = None
            folder.previews_from_uid = folder.previews_to_uid = None
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
                changes = session.fetch_changes(
                    folder.highestmodseq, _highest_known(folder)
                )
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
        overlay = pending_flag_changes(folder)
        moved_away = pending_moves(folder)
        if vanished:
            gone = Message.objects.filter(folder=folder, uid__in=vanished)
            result.vanished = sorted(gone.values_list("uid", flat=True))
            gone.delete()
        result.changed, read_more = _apply_flag_updates(folder, updates, overlay)
        result.new = insert_summaries(folder, summaries, overlay, moved_away)
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
    result.previews_due = previews_due(folder)
    # Counting the cache costs milliseconds on a large folder: only done
    # when the server's count moved or the sync changed something.
    if (
        folder.complete
        and (result.anything or info.exists != total_before)
        and Message.objects.filter(folder=folder).count() != info.exists
    ):
        _reconcile(session, folder, result)
    return result


def _reconcile(session: ImapSession, folder: Folder, result: SyncResult) -> None:
    """Make the cached UIDs those of the server, when the counts disagree.

    Whatever a server failed to report (an expunge Cyrus left out, a
    change while no one watched) cannot last: the message count is
    compared at every sync, and only a difference costs a UID SEARCH.
    """
    on_server = set(session.esearch("ALL").uids)
    with transaction.atomic():
        lock_folder(folder.id)
        cached = _cached_uids(folder)
        moved_away = pending_moves(folder)
        missing = sorted(on_server - cached - moved_away)
        overlay = pending_flag_changes(folder)
    gone = forget_uids(folder.id, cached - on_server - moved_away)
    result.vanished = sorted({*result.vanished, *gone})
    if missing:
        summaries = session.fetch_summaries(missing)
        with transaction.atomic():
            lock_folder(folder.id)
            found = insert_summaries(folder, summaries, overlay, pending_moves(folder))
            result.new = sorted({*result.new, *found})
            Folder.objects.filter(id=folder.id).update(
                unseen=Message.objects.filter(folder=folder, seen=False).count()
            )


def _cached_uids(folder: Folder) -> set[int]:
    return set(Message.objects.filter(folder=folder).values_list("uid", flat=True))


def refresh_uids(session: ImapSession, folder: Folder, uids: Iterable[int]) -> None:
    """Make the cache of these messages match the server again.

    Used to undo the cache change of an action the server refused: rows the
    action took out come back, rows still cached take the server's flags in
    place (keeping what a sync does not fetch, such as the preview), and
    rows of messages gone from the server go.
    """
    info = session.open_folder(folder.name)
    if info.uidvalidity != folder.uidvalidity:
        return  # the next sync rebuilds the folder anyway
    wanted = set(uids)
    cached = _cached_uids_of(folder, wanted)
    flags = session.fetch_flags(cached)
    summaries = session.fetch_summaries(sorted(wanted - cached))
    updates = {uid: (change.flags, change.modseq) for uid, change in flags.items()}
    present = set(updates) | {s.uid for s in summaries}
    with transaction.atomic():
        lock_folder(folder.id)
        overlay = pending_flag_changes(folder)
        Message.objects.filter(folder=folder, uid__in=wanted - present).delete()
        _apply_flag_updates(folder, updates, overlay)
        insert_summaries(folder, summaries, overlay, set())
        folder.unseen = Message.objects.filter(folder=folder, seen=False).count()
        folder.save(update_fields=["unseen"])


def refresh_flags(session: ImapSession, folder: Folder, uids: Iterable[int]) -> None:
    """Store the server's flags of these cached messages, in place.

    For messages another client changed too (a refused UNCHANGEDSINCE):
    only FLAGS and MODSEQ are fetched, and every other field of the row
    (the preview, ...) stays as it is.
    """
    info = session.open_folder(folder.name)
    if info.uidvalidity != folder.uidvalidity:
        return  # the next sync rebuilds the folder anyway
    flags = session.fetch_flags(uids)
    updates = {uid: (change.flags, change.modseq) for uid, change in flags.items()}
    with transaction.atomic():
        lock_folder(folder.id)
        _, read_more = _apply_flag_updates(
            folder, updates, pending_flag_changes(folder)
        )
        if read_more:
            Folder.objects.filter(id=folder.id).update(
                unseen=Greatest(F("unseen") - read_more, 0)
            )


def forget_uids(folder_id: int, uids: Iterable[int]) -> list[int]:
    """Drop cached messages the server no longer has; return their UIDs."""
    with transaction.atomic():
        lock_folder(folder_id)
        rows = Message.objects.filter(folder_id=folder_id, uid__in=set(uids))
        gone = sorted(rows.values_list("uid", flat=True))
        if not gone:
            return []
        unseen = rows.filter(seen=False).count()
        rows.delete()
        Folder.objects.filter(id=folder_id).update(
            total=Greatest(F("total") - len(gone), 0),
            unseen=Greatest(F("unseen") - unseen, 0),
        )
    return gone


def _cached_uids_of(folder: Folder, uids: set[int]) -> set[int]:
    rows = Message.objects.filter(folder=folder, uid__in=uids)
    return set(rows.values_list("uid", flat=True))


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
