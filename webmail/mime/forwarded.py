"""Attached messages (message/rfc822), summed up to be read inline.

An attached message is offered as an .eml file, and is also shown below
the message that carries it: its own headers, its text and its files.
``attached_messages`` turns a ParsedMessage's ``forwarded`` into plain
values that keep in the body cache (JSON); the caller renders each body,
as it knows how to sanitize it and where inline images are served from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from webmail.mime.headers import Address
from webmail.mime.parse import ParsedMessage

# Attached messages inside attached messages are shown this deep; deeper
# ones are offered as files only.
MAX_DEPTH = 3
# At most this many are shown for one message, however they nest.
MAX_SHOWN = 20

RenderBody = Callable[[ParsedMessage], dict[str, Any]]


def attached_messages(
    message: ParsedMessage, render: RenderBody
) -> list[dict[str, Any]]:
    """Return the messages attached to ``message``, for reading inline.

    Each is a dict of its section (``part_id``), ``subject``, ``from``,
    ``to`` and ``cc`` (lists of [name, address]), ``date`` (ISO 8601, or
    ""), what ``render(attached)`` returns (its body and files), and its
    own attached messages under ``forwarded``.
    """
    return _summaries(message, render, 1, [MAX_SHOWN])


def _summaries(
    message: ParsedMessage, render: RenderBody, depth: int, budget: list[int]
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for attached in message.forwarded:
        if budget[0] <= 0:
            break
        budget[0] -= 1
        summary: dict[str, Any] = {
            "part_id": attached.part_id,
            "subject": attached.subject,
            "from": _pairs(attached.from_),
            "to": _pairs(attached.to),
            "cc": _pairs(attached.cc),
            "date": attached.date.isoformat() if attached.date else "",
        }
        summary.update(render(attached))
        summary["forwarded"] = (
            _summaries(attached, render, depth + 1, budget) if depth < MAX_DEPTH else []
        )
        found.append(summary)
    return found


def _pairs(addresses: Sequence[Address]) -> list[list[str]]:
    return [[a.name, a.address] for a in addresses]
