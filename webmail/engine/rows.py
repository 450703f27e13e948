"""Rows of the message cache made from the server's summaries, written in bulk.

Cached flags are the server's flags with the user's still-pending actions
(PendingOperation) applied on top, so a sync never undoes a click that the
outbox has not pushed yet, and never brings back a message being moved
away.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from types import SimpleNamespace
from typing import Any

from django.db import connection

from webmail.imap.types import MessageSummary
from webmail.models import (
    Folder,
    Message,
    OperationKind,
    OperationState,
    PendingOperation,
)
from webmail.shared.flags import apply_flags, fields_from_flags

Overlay = dict[int, list[tuple[list[str], list[str]]]]


def pending_flag_changes(folder: Folder) -> Overlay:
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


def pending_moves(folder: Folder) -> set[int]:
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


def insert_summaries(
    folder: Folder,
    summaries: Sequence[MessageSummary],
    overlay: Overlay,
    moved_away: set[int],
) -> list[int]:
    """Cache fetched messages; return the UIDs the cache did not have.

    Only those are news: a message fetched again (a sync over a range the
    cache partly holds) is not announced as new mail a second time.
    """
    if not summaries:
        return []
    cached = set(
        Message.objects.filter(
            folder=folder, uid__in=[s.uid for s in summaries]
        ).values_list("uid", flat=True)
    )
    rows = []
    for summary in summaries:
        if summary.uid in moved_away or summary.uid in cached:
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
