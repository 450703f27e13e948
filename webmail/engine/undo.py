"""The worker's half of an undo: moving messages back the way they came.

An undo of a move the server has (or may have) carried out queues a move
back (webmail.mail.undo): an operation on the target folder with
"undo_of", the move it reverses, which runs after it in the outbox. Its
messages are found in the target by the UIDs the server gave them there
(COPYUID, recorded by webmail.engine.moves as "moved"); a message without
one (a server without UIDPLUS, or a move repeated after a crash) is found
by its Message-ID, the newest message of the target that has it. One
without a Message-ID cannot be told apart: it stays in the target, and
the cache says so.

Once moved back, the rows the undo put back in the cache under their old
UIDs take the new ones the server gave them (COPYUID again), or are left
to the folder's sync when the server did not say.
"""

from __future__ import annotations

import logging

from django.db import transaction

from webmail.imap import ImapError, ImapSession, SearchText
from webmail.models import (
    Message,
    OperationState,
    PendingOperation,
    lock_folder,
)

logger = logging.getLogger(__name__)


class NotYet(ImapError):
    """The move to reverse has not been carried out yet."""

    retryable = True


def is_undo(op: PendingOperation) -> bool:
    return "undo_of" in op.payload


def prepare(session: ImapSession, op: PendingOperation) -> None:
    """Check the move back against the UIDVALIDITY its UIDs belong to.

    The page queued it with the target's UIDVALIDITY as the cache knew it,
    which may be none (a folder never opened, such as Trash): the UIDs to
    move are the ones the server gave in the move reversed, under the
    UIDVALIDITY it gave with them. Without those (a server without
    UIDPLUS), the messages are found by Message-ID in the folder as it is.
    """
    if isinstance(op.payload.get("resolved"), dict) and op.uidvalidity:
        return
    forward = PendingOperation.objects.filter(id=op.payload["undo_of"]).first()
    validity = forward.payload.get("moved_uidvalidity") if forward else None
    if not isinstance(validity, int) and not op.uidvalidity:
        counts = session.status(op.folder_name, ("UIDVALIDITY",))
        validity = counts.get("UIDVALIDITY")
    if isinstance(validity, int) and validity != op.uidvalidity:
        op.uidvalidity = validity
        PendingOperation.objects.filter(id=op.id).update(uidvalidity=validity)


def reverse_uids(session: ImapSession, op: PendingOperation) -> list[int]:
    """Return the UIDs, in op's folder, of the messages to move back.

    Found once and recorded ("resolved": {old source UID: UID here}), so a
    repeated push moves the same messages. op's folder must be selected.
    """
    resolved = op.payload.get("resolved")
    if isinstance(resolved, dict):
        return sorted(int(u) for u in resolved.values())
    forward = PendingOperation.objects.filter(id=op.payload["undo_of"]).first()
    found: dict[int, int] = {}
    if forward is not None and forward.state == OperationState.PENDING:
        raise NotYet(f"Operation {forward.id} is still to be applied.", retryable=True)
    if forward is not None and forward.state in (
        OperationState.DONE,
        OperationState.PARTIAL,
    ):
        found = _find(session, op, forward)
    resolved = {str(old): new for old, new in found.items()}
    op.payload["resolved"] = resolved
    uids = sorted(found.values())
    op.uids = uids
    PendingOperation.objects.filter(id=op.id).update(payload=op.payload, uids=uids)
    return uids


def _find(
    session: ImapSession, op: PendingOperation, forward: PendingOperation
) -> dict[int, int]:
    missing = {int(u) for u in forward.payload.get("missing", [])}
    wanted = [int(u) for u in forward.uids if int(u) not in missing]
    moved = {int(k): int(v) for k, v in (forward.payload.get("moved") or {}).items()}
    found = {u: moved[u] for u in wanted if u in moved}
    ids = op.payload.get("message_ids") or {}
    taken = set(found.values())
    for uid in wanted:
        if uid in found:
            continue
        message_id = ids.get(str(uid))
        if not message_id:
            logger.info("Undo %s: message %s has no Message-ID to find", op.id, uid)
            continue
        hits = session.search_uids("HEADER", "Message-ID", SearchText(message_id))
        free = [h for h in hits if h not in taken]
        if free:
            found[uid] = free[-1]
            taken.add(free[-1])
    return found


def settle(op: PendingOperation) -> list[int]:
    """Give the rows put back by the undo the UIDs the server gave them.

    Returns the folder ids whose cached rows changed.
    """
    source = int(op.payload["target_id"])
    resolved = {int(k): int(v) for k, v in (op.payload.get("resolved") or {}).items()}
    back = {int(k): int(v) for k, v in (op.payload.get("moved") or {}).items()}
    forward = PendingOperation.objects.filter(id=op.payload["undo_of"]).first()
    if forward is None or forward.state not in (
        OperationState.DONE,
        OperationState.PARTIAL,
    ):
        # Refused after all: the messages never left, and the refusal put
        # the cache back as the server has it.
        return []
    put_back = [int(u) for u in forward.uids]
    with transaction.atomic():
        for folder_id in sorted({source, op.folder_id or source}):
            lock_folder(folder_id)
        for old in put_back:
            rows = Message.objects.filter(folder_id=source, uid=old)
            new = back.get(resolved.get(old, -1))
            if (
                new is None
                or Message.objects.filter(folder_id=source, uid=new).exists()
            ):
                # Its sync brings the message under its new UID (or, when it
                # was not found, the target's keeps it there).
                rows.delete()
            else:
                rows.update(uid=new)
        if op.folder_id is not None:
            Message.objects.filter(
                folder_id=op.folder_id, uid__in=list(resolved.values())
            ).delete()
    return sorted({source, *([op.folder_id] if op.folder_id else [])})
