"""The cached rows of messages being moved, kept so that an undo can put them back.

A move takes its rows out of the source folder's cache at once; the target
folder gets its own rows from the server later, under new UIDs. An undo
must show the messages back in their folder at once, with their flags, so
the rows are kept, as JSON, while a move is recorded inside taking().
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime

from webmail.models import Message

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


@dataclass
class Taken:
    """One recorded move: its operation and the rows it took out."""

    op: int
    source: int
    target: int
    rows: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {
            "op": self.op,
            "source": self.source,
            "target": self.target,
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


def capture(rows: QuerySet[Message]) -> list[dict[str, Any]] | None:
    """Return rows a move is taking out, as JSON; None outside taking()."""
    recorder = _current.get()
    if recorder is None or recorder.overflow:
        return None
    kept = []
    for row in rows.values(*_fields())[: LIMIT + 1 - recorder.count]:
        for name in _DATES:
            value = row.get(name)
            if isinstance(value, datetime):
                row[name] = value.isoformat()
        kept.append(row)
    recorder.count += len(kept)
    if recorder.count > LIMIT:
        recorder.overflow = True
        recorder.taken.clear()
        return None
    return kept


def keep(op_id: int, source: int, target: int, rows: list[dict[str, Any]]) -> None:
    """Remember the rows captured for the move recorded as op_id."""
    recorder = _current.get()
    if recorder is not None:
        recorder.taken.append(Taken(op_id, source, target, rows))


def rebuild(folder_id: int, rows: list[dict[str, Any]]) -> list[Message]:
    """Return unsaved Message rows of a folder made from kept rows."""
    names = set(_fields())
    built = []
    for row in rows:
        values = {k: v for k, v in row.items() if k in names}
        for name in _DATES:
            if isinstance(values.get(name), str):
                values[name] = parse_datetime(values[name])
        built.append(Message(folder_id=folder_id, **values))
    return built
