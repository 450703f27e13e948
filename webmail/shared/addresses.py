"""What the address book and the collected addresses agree on: folding, search, rank.

Autocomplete matches the start of the address or of any word of the name.
Each row keeps a ``search`` text of its folded address and name words, each
after a space, so that one ``LIKE '% typed%'`` finds both. Folding is NFKC
and casefold: a full-width "TARO" typed through an input method (U+FF34...) finds
"Taro", and a name written without spaces ("山田太郎") is also kept whole.
Collected addresses also have their words' first one to three characters
in AddressKey, with their rank, so that the best-ranked rows for any
typing are read from one index: the search text only narrows those that
share a key when more than three characters were typed.

A collected address's rank sums 2^(t / HALF_LIFE) over the times t it was
used: each use counts, and a use HALF_LIFE older counts half as much. All
ranks decay alike, so the order holds without rewriting rows as time
passes. The sum is kept as its base-2 logarithm, which stays small.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

HALF_LIFE = timedelta(days=30)
MAX_SEARCH = 600
KEY_LENGTH = 3
_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
_WORD_BREAKS = re.compile(r"[\s,.;:()<>\"'/\\|\[\]{}・･　]+")


def fold(text: str) -> str:
    """Text as it is compared: NFKC, case-folded, trimmed."""
    return unicodedata.normalize("NFKC", text).casefold().strip()


def search_text(address: str, name: str) -> str:
    """The searchable text of a row: " address word word namewithoutspaces"."""
    words = [w for w in _WORD_BREAKS.split(fold(name)) if w]
    if len(words) > 1:
        words.append("".join(words))
    seen: dict[str, None] = dict.fromkeys([fold(address), *words])
    # Short enough for any database's index entry (PostgreSQL's btree: 2,704 bytes).
    return "".join(" " + word for word in seen)[:MAX_SEARCH]


def prefix_keys(search: str) -> set[str]:
    """The starts, 1 to KEY_LENGTH characters, of the words of a search text."""
    return {
        word[:length]
        for word in search.split(" ")
        if word
        for length in range(1, KEY_LENGTH + 1)
    }


def typed_key(typed: str) -> str:
    """The key of the rows that typed text may match."""
    return fold(typed)[:KEY_LENGTH]


def typed_pattern(typed: str) -> str:
    """What a row's search text contains when a word starts with typed text."""
    return " " + fold(typed)


def use_weight(when: datetime) -> float:
    """A use at this time, on the rank's log-2 scale."""
    return (when - _EPOCH) / HALF_LIFE


def add_ranks(ranks: Iterable[float]) -> float:
    """The rank of all these uses together (a log-2 sum, without overflow)."""
    values = list(ranks)
    if not values:
        return 0.0
    top = max(values)
    return top + math.log2(sum(2 ** (value - top) for value in values))


def address_pairs(entries: Sequence[Any] | None) -> list[tuple[str, str]]:
    """The cache's [name, address] lists (or dicts) as tuples, blanks dropped."""
    found = []
    for entry in entries or ():
        if isinstance(entry, dict):
            name, address = entry.get("name", ""), entry.get("address", "")
        else:
            name, address = [*list(entry), "", ""][:2]
        if address:
            found.append((str(name or ""), str(address)))
    return found
