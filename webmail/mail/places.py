"""Where a page of a message list sits: "51-100 of 311", its newer page.

A list pages by cursor (reading.list_messages: the rows after the last row
of the page before), so a page stays put when mail arrives above it or a
live update redraws it. What the cursor does not say by itself, counted
here: the page's place in the list, the cursor of the newer page, and the
page that holds a given message (a permalink opens its list there).
Counting costs a seek per page beyond the first; page 1 needs none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from webmail.mail.reading import (
    PAGE_SIZE,
    SORTS,
    _cursor,
    _parse_sort_cursor,
)
from webmail.models import Folder, Message


@dataclass(frozen=True)
class Place:
    """A page's rows as numbers in the whole list, and its neighbours.

    newer: the cursor of the newer page ("" for the first page), None when
    this page is the first.
    """

    first: int
    last: int
    total: int
    newer: str | None


@dataclass(frozen=True)
class Order:
    """A list's order and filters, as list_messages takes them."""

    sort: str = "date"
    descending: bool = True
    query: str = ""
    unread_only: bool = False

    @property
    def column(self) -> str:
        return SORTS.get(self.sort, SORTS["date"])[0]


def _rows(folder: Folder, order: Order) -> QuerySet[Message]:
    rows = Message.objects.filter(folder_id=folder.id)
    if order.unread_only:
        rows = rows.filter(seen=False)
    if order.query:
        rows = rows.filter(
            Q(subject__icontains=order.query)
            | Q(from_name__icontains=order.query)
            | Q(from_address__icontains=order.query)
        )
    return rows


def _key(message: Any, order: Order) -> Any:
    return getattr(message, order.column)


def _ahead_count(
    rows: QuerySet[Message], order: Order, key: Any, uid: int, inclusive: bool
) -> int:
    """Count the rows listed before (key, uid), and it too when inclusive."""
    ahead = "gt" if order.descending else "lt"
    column = order.column
    # Two seeks in the (folder, column, uid) index rather than one OR.
    before = rows.filter(**{f"{column}__{ahead}": key}).count()
    same = {column: key, f"uid__{ahead}{'e' if inclusive else ''}": uid}
    return before + rows.filter(**same).count()


def total(folder: Folder, order: Order, shown: int) -> int:
    """Return how many messages the list holds (at least the shown ones)."""
    if order.query or order.unread_only:
        count = _rows(folder, order).count()
    elif folder.complete and folder.total:
        # The server's count: no need to count 100,000 rows for each page.
        count = folder.total
    else:
        count = Message.objects.filter(folder_id=folder.id).count()
    return max(count, shown)


def place(
    folder: Folder, order: Order, before: str, messages: list[Any], more: bool
) -> Place:
    """Return where the page of messages listed after cursor before sits.

    more: whether older pages follow (the page's next_before is set).
    """
    cursor = _parse_sort_cursor(before, order.sort) if before else None
    if cursor is None or not messages:
        shown = len(messages)
        count = total(folder, order, shown) if more else shown
        return Place(1 if shown else 0, shown, count, None)
    rows = _rows(folder, order)
    key, uid = cursor
    first = _ahead_count(rows, order, key, uid, inclusive=True) + 1
    last = first + len(messages) - 1
    return Place(
        first, last, total(folder, order, last), _newer(rows, order, messages[0])
    )


def _newer(rows: QuerySet[Message], order: Order, top: Any) -> str:
    """Return the cursor of the page before the one starting with top."""
    column = order.column
    ahead = "gt" if order.descending else "lt"
    # Nearest first: the reverse of the list's order.
    back = (column, "uid") if order.descending else (f"-{column}", "-uid")
    key = _key(top, order)
    names = ("uid", column) if column != "uid" else ("uid",)
    same = rows.filter(**{column: key, f"uid__{ahead}": top.uid})
    found = list(same.values_list(*names, named=True).order_by(*back)[: PAGE_SIZE + 1])
    if len(found) <= PAGE_SIZE:
        further = rows.filter(**{f"{column}__{ahead}": key}).order_by(*back)
        found += list(
            further.values_list(*names, named=True)[: PAGE_SIZE + 1 - len(found)]
        )
    if len(found) <= PAGE_SIZE:
        return ""
    # The row just above the newer page: the newer page lists after it.
    return _cursor(found[PAGE_SIZE], order.sort)


def page_holding(folder: Folder, order: Order, message: Message) -> str:
    """Return the cursor of the page that holds message ("" for page 1)."""
    rows = _rows(folder, order)
    key = _key(message, order)
    ahead = "gt" if order.descending else "lt"
    column = order.column
    # Most permalinks are to recent mail: a page's worth of rows ahead of
    # it is all that needs reading to tell page 1.
    near = rows.filter(
        Q(**{f"{column}__{ahead}": key})
        | Q(**{column: key, f"uid__{ahead}": message.uid})
    )
    if near[:PAGE_SIZE].count() < PAGE_SIZE:
        return ""
    position = _ahead_count(rows, order, key, message.uid, inclusive=False)
    start = position // PAGE_SIZE * PAGE_SIZE
    if start == 0:
        return ""
    ordering = (f"-{column}", "-uid") if order.descending else (column, "uid")
    names = ("uid", column) if column != "uid" else ("uid",)
    above = rows.values_list(*names, named=True).order_by(*ordering)[start - 1]
    return _cursor(above, order.sort)
