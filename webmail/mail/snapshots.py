"""The cached rows of messages being moved, kept so that an undo can put them back.

A move takes its rows out of the source folder's cache at once; the target
folder gets its own rows from the server later, under new UIDs. An undo
must show the messages back in their folder at once, with their flags, so
the rows are kept, as JSON, while a move is recorded inside taking().

A move of 5,000 messages keeps 5,000 rows while the user waits for its
answer, so they are read as the database gives them (no field converters:
dates and JSON fields stay text until an undo needs them), written only
once the answer is out (webmail.mail.undo), and kept as lists, the fields
named once per move.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from django.db import connections
from django.db.models import JSONField, TextField
from django.db.models.functions import Cast
from django.utils.dateparse import parse_datetime

from webmail.models import Message, PendingOperation

# Fields not copied: the key, the folder (the row goes back to its own) and
# what the database computes.
_SKIPPED = {"id", "folder", "sort_sender", "sort_subject"}
_DATES = ("date", "internaldate")


def _fields() -> list[str]:
    return [
        f.attname
        for f in Message._meta.concrete_fields
        if f.name not in _SKIPPED and not f.generated
    ]


def _json_fields() -> set[str]:
    return {
        f.attname for f in Message._meta.concrete_fields if isinstance(f, JSONField)
    }


@dataclass
class Taken:
    """One recorded move: its operation and the rows it took out (capture())."""

    op: int
    source: int
    target: int
    rows: list[tuple[Any, ...]]

    def as_json(self) -> dict[str, Any]:
        return {
            "op": self.op,
            "source": self.source,
            "target": self.target,
            "fields": _fields(),
            "rows": self.rows,
        }


@dataclass
class Recorder:
    taken: list[Taken] = field(default_factory=list)
    count: int = 0
    # More rows than LIMIT: none are kept, there is no undoing it.
    overflow: bool = False


# Rows kept for one action at most; a bigger one (a whole folder) is not
# offered for undoing, rather than hold them all in memory and in one row.
LIMIT = 5000


_current: ContextVar[Recorder | None] = ContextVar("taken_rows", default=None)


@contextmanager
def taking() -> Iterator[Recorder]:
    """Keep the rows of every move recorded in this block."""
    recorder = Recorder()
    token = _current.set(recorder)
    try:
        yield recorder
    finally:
        _current.reset(token)


def capture(ids: list[int], using: str = "default") -> list[tuple[Any, ...]] | None:
    """Return the rows (by id) a move is taking out, as lists; None outside
    taking(), or when the action holds more than LIMIT rows.
    """
    recorder = _current.get()
    if recorder is None or recorder.overflow:
        return None
    recorder.count += len(ids)
    if recorder.count > LIMIT:
        recorder.overflow = True
        recorder.taken.clear()
        return None
    marks = ", ".join(["%s"] * len(ids))
    # Only placeholders go into the SQL (the ids are ints: models.among).
    sql = f"{_select(using)} WHERE id IN ({marks})"
    with connections[using].cursor() as cursor:
        cursor.execute(sql, [int(i) for i in ids])
        kept: list[tuple[Any, ...]] = cursor.fetchall()
    return kept


# The SELECT of the kept columns, compiled once per database: a move's
# answer waits on it, and compiling its casts cost more than reading the rows.
_SELECTS: dict[tuple[str, str], str] = {}


def _select(using: str) -> str:
    key = (using, connections[using].vendor)
    sql = _SELECTS.get(key)
    if sql is None:
        # Dates as the database writes them: parsing 10,000 costs 20 ms here.
        columns = [Cast(n, TextField()) if n in _DATES else n for n in _fields()]
        wanted = Message.objects.using(using).order_by().values_list(*columns)
        sql, params = wanted.query.sql_with_params()
        if params:
            raise ValueError("The kept columns' SELECT takes no parameters.")
        sql = _SELECTS[key] = sql
    return sql


def keep(
    ops: list[PendingOperation],
    source: int,
    target: int,
    rows: list[tuple[Any, ...]],
) -> None:
    """Remember the rows captured for the move recorded as ops, by their UIDs."""
    recorder = _current.get()
    if recorder is None:
        return
    uid = _fields().index("uid")
    owner = {int(u): op.id for op in ops for u in op.uids}
    by_op: dict[int, list[tuple[Any, ...]]] = {op.id: [] for op in ops}
    for row in rows:
        op_id = owner.get(int(row[uid]))
        if op_id is not None:
            by_op[op_id].append(row)
    for op in ops:
        recorder.taken.append(Taken(op.id, source, target, by_op[op.id]))


def rows_of(move: dict[str, Any]) -> list[dict[str, Any]]:
    """Return a recorded move's kept rows as {field: value}."""
    names = move.get("fields")
    if names is None:  # kept as dicts by an earlier version
        return list(move["rows"])
    return [dict(zip(names, row, strict=True)) for row in move["rows"]]


def rebuild(folder_id: int, rows: list[dict[str, Any]]) -> list[Message]:
    """Return unsaved Message rows of a folder made from rows_of() a move."""
    names = set(_fields())
    texts = _json_fields()
    built = []
    for row in rows:
        values = {k: v for k, v in row.items() if k in names}
        for name in _DATES:
            if isinstance(values.get(name), str):
                when = parse_datetime(values[name])
                # SQLite writes the UTC it stores without saying so.
                if when is not None and when.tzinfo is None:
                    when = when.replace(tzinfo=UTC)
                values[name] = when
        for name in texts:
            if isinstance(values.get(name), str):
                values[name] = json.loads(values[name])
        built.append(Message(folder_id=folder_id, **values))
    return built
