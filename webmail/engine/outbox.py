"""Applying the outbox (PendingOperation rows) on the IMAP server.

Operations of one account are applied in the order they were made; one
that cannot be applied yet (server down, wrong password) holds back the
ones behind it, so a "flag, then move" never arrives as "move, then flag".
Every step is safe to repeat: a worker killed between the server's OK and
the row's update applies the operation again, with the same result.

Transient failures are retried with exponential backoff (the operation
stays pending, with the error recorded); a refusal that retrying cannot
change (the target folder is gone, the mailbox is full, the folder was
rebuilt on the server) fails the operation, puts the cache back as the
server has it, and leaves the error for the user to see.

Messages another client removed before the push are left out: the rest
are moved, copied or changed, the cache drops the ones gone, and the
operation is recorded as done in part, with their UIDs (payload
"missing") for the page to tell the user.
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import F, Min
from django.utils import timezone

from webmail.engine import undo
from webmail.engine.connections import AccountUnusable, account_session
from webmail.engine.folders import apply_folder_operation
from webmail.engine.moves import (
    Cancelled,
    UidValidityChanged,
    copy_once,
    move,
    on_present,
    present_uids,
    select_folder,
)
from webmail.engine.publish import user_id_of
from webmail.engine.sync import forget_uids, refresh_flags, refresh_uids
from webmail.imap import (
    AuthenticationFailed,
    ImapError,
    ImapSession,
    ServerUnreachable,
    Timeout,
    TlsError,
)
from webmail.models import (
    FOLDER_KINDS,
    AccountState,
    Folder,
    OperationKind,
    OperationState,
    PendingOperation,
)
from webmail.shared import events

logger = logging.getLogger(__name__)

BACKOFF_BASE = 2.0
BACKOFF_MAX = 15 * 60.0
# Errors that concern the account as a whole rather than one operation.
ACCOUNT_ERRORS = (
    AuthenticationFailed,
    TlsError,
    ServerUnreachable,
    Timeout,
    AccountUnusable,
)


@dataclass
class PushResult:
    """What one push of an account's outbox did."""

    done: int = 0
    failed: list[int] | None = None
    # Done without some of their messages, which another client removed.
    partial: list[int] | None = None
    retry_in: float | None = None
    # Folders that received messages (move and copy targets).
    touched_folders: set[int] | None = None
    # A folder was created, renamed, deleted or (un)subscribed, or refused.
    folders_changed: bool = False


# One pusher per account per process; a push asked for while one runs is
# remembered and done by that one before it stops.
_running: set[int] = set()
_again: set[int] = set()
_guard = threading.Lock()


def backoff(attempts: int) -> float:
    """Return seconds to wait before attempt number attempts + 1, with jitter."""
    delay = min(BACKOFF_MAX, BACKOFF_BASE ** min(attempts, 20))
    return delay * (0.5 + random.random() / 2)  # noqa: S311 (jitter, not security)


def push(account_id: int) -> PushResult | None:
    """Apply the account's due operations; None if another thread is at it."""
    with _guard:
        if account_id in _running:
            _again.add(account_id)
            return None
        _running.add(account_id)
    total = PushResult(failed=[], partial=[], touched_folders=set())
    try:
        while True:
            with _guard:
                _again.discard(account_id)
            result = _push_due(account_id)
            total.done += result.done
            total.failed = (total.failed or []) + (result.failed or [])
            total.partial = (total.partial or []) + (result.partial or [])
            total.touched_folders = (total.touched_folders or set()) | (
                result.touched_folders or set()
            )
            total.retry_in = result.retry_in
            total.folders_changed |= result.folders_changed
            with _guard:
                if account_id not in _again or result.retry_in is not None:
                    _running.discard(account_id)
                    return total
    except BaseException:
        with _guard:
            _running.discard(account_id)
        raise


def due_accounts() -> list[int]:
    """Return the accounts whose outbox has an operation due now."""
    firsts = (
        PendingOperation.objects.filter(state=OperationState.PENDING)
        .values("account_id")
        .annotate(first=Min("next_attempt_at"))
    )
    now = timezone.now()
    return [row["account_id"] for row in firsts if row["first"] <= now]


def due_operations(account_id: int) -> list[PendingOperation]:
    """Return the account's pending operations that may run now, in order."""
    pending = list(
        PendingOperation.objects.filter(
            account_id=account_id, state=OperationState.PENDING
        ).order_by("id")[:500]
    )
    # Order matters: nothing runs before an earlier operation still waits.
    if pending and pending[0].next_attempt_at > timezone.now():
        return []
    return pending


def _push_due(account_id: int) -> PushResult:
    result = PushResult(failed=[], partial=[], touched_folders=set())
    ops = due_operations(account_id)
    if not ops:
        return result
    try:
        with account_session(account_id, folder=ops[0].folder_name) as session:
            index = 0
            while index < len(ops):
                group = _group(ops, index)
                index += len(group)
                try:
                    gone = _apply(session, group)
                except Cancelled:
                    continue  # undone by the user before anything was sent
                except ImapError as exc:
                    if exc.retryable or isinstance(exc, ACCOUNT_ERRORS):
                        raise
                    _fail(session, group, exc)
                    result.failed = (result.failed or []) + [op.id for op in group]
                else:
                    partial = _record_done(group, gone)
                    result.partial = (result.partial or []) + partial
                    result.done += len(group)
                    if gone:
                        _forget(group[0], gone)
                    if undo.is_undo(group[0]):
                        _settle(group[0])
                if group[0].kind in FOLDER_KINDS:
                    result.folders_changed = True
                target = group[0].payload.get("target_id")
                if target:
                    assert result.touched_folders is not None
                    result.touched_folders.add(int(target))
    except ImapError as exc:
        remaining = [
            op.id
            for op in PendingOperation.objects.filter(
                account_id=account_id, state=OperationState.PENDING
            ).order_by("id")[:1]
        ]
        result.retry_in = _postpone(account_id, remaining, exc)
    else:
        _record_account_ok(account_id)
    return result


def _group(ops: list[PendingOperation], start: int) -> list[PendingOperation]:
    """Return the run of same flag changes on one folder from ops[start]."""
    first = ops[start]
    group = [first]
    if first.kind != OperationKind.FLAGS:
        return group
    for op in ops[start + 1 :]:
        same = (
            op.kind == first.kind
            and op.folder_id == first.folder_id
            and op.uidvalidity == first.uidvalidity
            and op.payload.get("add") == first.payload.get("add")
            and op.payload.get("remove") == first.payload.get("remove")
        )
        if not same or len(group) >= 200:
            break
        group.append(op)
    return group


def _apply(session: ImapSession, group: list[PendingOperation]) -> set[int]:
    """Apply a group of operations; return the UIDs another client removed first."""
    first = group[0]
    if first.kind in FOLDER_KINDS:
        apply_folder_operation(session, first)
        return set()
    if undo.is_undo(first):
        undo.prepare(session, first)
        # The messages arrived there a moment ago, maybe through another
        # connection, whose view of the folder may not list them yet.
        select_folder(session, first, refresh=True)
    else:
        select_folder(session, first)
    uids = sorted({int(u) for op in group for u in op.uids})
    if first.kind == OperationKind.FLAGS:
        _store(session, first, uids)
        # UID STORE leaves messages already gone alone, and the server tells
        # the connection of expunges as it ends: what is not found now was
        # not there.
        return set(uids) - set(present_uids(session, uids))
    if first.kind == OperationKind.MOVE:
        if undo.is_undo(first):
            uids = undo.reverse_uids(session, first)
        return move(session, first, uids)
    if first.kind == OperationKind.COPY:
        target = first.payload["target"]
        return set(uids) - set(copy_once(session, first, uids, target))
    if first.kind == OperationKind.EXPUNGE:
        # Messages gone already are what the user asked for: nothing to tell.
        on_present(session, first, uids, session.expunge_uids)
        return set()
    raise ValueError(f"Unknown operation {first.kind!r}")


def _store(session: ImapSession, op: PendingOperation, uids: list[int]) -> None:
    add = list(op.payload.get("add", []))
    remove = list(op.payload.get("remove", []))
    since = op.payload.get("modseq") if session.condstore else None
    conflicts: set[int] = set()
    for flags, removing in ((add, False), (remove, True)):
        if not flags:
            continue
        refused = session.store_flags(
            uids, flags, remove=removing, unchanged_since=since
        )
        conflicts |= refused
        if refused:
            # Another client changed these messages after the user saw
            # them. Adding or removing a flag commutes with any other flag
            # change, so the user's (later) action still applies; only the
            # flags not already as wanted are stored.
            current = session.fetch_flags(refused)
            needed = [
                uid
                for uid, have in current.items()
                if any(_has(have.flags, f) == removing for f in flags)
            ]
            if needed:
                session.store_flags(needed, flags, remove=removing)
    if conflicts:
        _refresh_conflicts(session, op, conflicts)


def _refresh_conflicts(
    session: ImapSession, op: PendingOperation, uids: set[int]
) -> None:
    """Load the flags of messages another client changed too, and tell the pages.

    The cache has the user's change but not the other client's (a flag the
    phone set after the last sync): without this it would show less than
    the server until the folder is next synced. Only the flags are read
    again: the rest of each row (its preview, ...) stays.
    """
    folder = Folder.objects.filter(id=op.folder_id).first() if op.folder_id else None
    if folder is None:
        return
    refresh_flags(session, folder, uids)
    _tell(
        op.account_id, {"type": events.FLAGS, "folder": folder.id, "uids": sorted(uids)}
    )


def _settle(op: PendingOperation) -> None:
    """After a move back: the cache takes the server's UIDs; the pages hear."""
    for folder_id in undo.settle(op):
        _tell(op.account_id, {"type": events.FOLDER, "folder": folder_id})


def _tell(account_id: int, event: dict[str, object]) -> None:
    """Publish event to the pages of the account's user."""
    user_id = user_id_of(account_id)
    if user_id is not None:
        events.publish(user_id, {**event, "account": account_id})


def _has(flags: tuple[str, ...], flag: str) -> bool:
    lowered = flag.lower()
    return any(f.lower() == lowered for f in flags)


def _record_done(group: list[PendingOperation], gone: set[int]) -> list[int]:
    """Mark the group's operations done; return the ids of those done in part."""
    partial = []
    for op in group:
        missing = sorted(int(u) for u in op.uids if int(u) in gone)
        if missing:
            PendingOperation.objects.filter(id=op.id).update(
                state=OperationState.PARTIAL,
                last_error="",
                payload={**op.payload, "missing": missing},
            )
            partial.append(op.id)
    PendingOperation.objects.filter(
        id__in=[op.id for op in group if op.id not in partial]
    ).update(state=OperationState.DONE, last_error="")
    return partial


def _forget(op: PendingOperation, gone: set[int]) -> None:
    """Drop from the cache the messages gone from op's folder; tell the pages."""
    if op.folder_id is None:
        return
    dropped = forget_uids(op.folder_id, gone)
    if dropped:
        _tell(
            op.account_id,
            {"type": events.EXPUNGED, "folder": op.folder_id, "uids": dropped},
        )


def _fail(session: ImapSession, group: list[PendingOperation], exc: ImapError) -> None:
    """Give up on operations the server refused, and undo them in the cache."""
    logger.warning("Operation %s refused: %s", [op.id for op in group], exc)
    PendingOperation.objects.filter(id__in=[op.id for op in group]).update(
        state=OperationState.FAILED,
        last_error=str(exc),
        error_kind=type(exc).__name__,
        attempts=group[0].attempts + 1,
    )
    folder_id = group[0].folder_id
    folder = Folder.objects.filter(id=folder_id).first() if folder_id else None
    if group[0].kind in FOLDER_KINDS:
        return  # the folder list is read again after the push
    if folder is None or isinstance(exc, UidValidityChanged):
        return
    uids = {int(u) for op in group for u in op.uids}
    try:
        refresh_uids(session, folder, uids)
    except ImapError:
        logger.exception("Could not restore the cache of folder %s", folder.id)


def _postpone(account_id: int, op_ids: list[int], exc: ImapError) -> float:
    """Record a transient failure; return seconds until the next attempt."""
    logger.info("Outbox of account %s waits: %s", account_id, exc)
    delay = 0.0
    for op in PendingOperation.objects.filter(id__in=op_ids):
        delay = backoff(op.attempts)
        PendingOperation.objects.filter(id=op.id).update(
            attempts=F("attempts") + 1,
            last_error=str(exc),
            next_attempt_at=timezone.now() + timedelta(seconds=delay),
        )
    if isinstance(exc, ACCOUNT_ERRORS):
        record_account_error(account_id, exc)
    return delay


def record_account_error(account_id: int, exc: Exception) -> None:
    """Remember why the account's server cannot be used right now."""
    kind = type(exc).__name__ if isinstance(exc, ImapError) else ""
    values = {"error": str(exc), "error_kind": kind, "error_at": timezone.now()}
    # Not update_or_create: it reads before it writes (see lock_folder).
    if not AccountState.objects.filter(account_id=account_id).update(**values):
        AccountState.objects.get_or_create(account_id=account_id, defaults=values)


def _record_account_ok(account_id: int) -> None:
    AccountState.objects.filter(account_id=account_id).exclude(error="").update(
        error="", error_kind="", error_at=None
    )
