"""A fast reader for FETCH response data that gives what imapclient's gives.

imapclient's lexer walks responses one byte at a time in Python, which made
it most of the cost of fetching message summaries. Here one compiled regular
expression cuts each response line into tokens at C speed, a small loop
nests them into tuples, and imapclient's own converters turn ENVELOPE,
BODYSTRUCTURE, INTERNALDATE and UID into the values the rest of the facade
already reads.

The tokens are imapclient's (``response_lexer``): an atom runs until
whitespace or one of ``(`` ``)`` ``%`` ``"`` or a control character, and a
``[`` inside it swallows everything up to the next ``]`` (so
``BODY[HEADER.FIELDS (REFERENCES)]<0>`` is one atom); ``NIL`` is None; digits
without a leading zero are an int; a quoted string drops the backslash only
before ``\\`` and ``"``; ``{n}`` is the literal handed over with its line.
Anything outside that (``%``, control characters, a quote right after an
atom, an unclosed bracket, quote or parenthesis, lists nested deeper than
MAX_DEPTH, ...) raises Unsupported, and
parse.parse_fetch then asks imapclient, so odd input gets imapclient's answer
or error, never a different one.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from imapclient.response_parser import (
    _convert_ENVELOPE,
    _convert_INTERNALDATE,
    _int_or_error,
)
from imapclient.response_types import BodyData

from webmail.imap.wire import ResponseItem

__all__ = ["Unsupported", "parse_fetch", "parse_items"]

# What may follow an atom: imapclient ends a token at these (a quote straight
# after an atom is its protocol error, so it is not here).
_END = rb"(?=[\x00-\x20()%]|\Z)"
# A run of atom bytes, or a whole "[...]" (spaces and parentheses included).
_ATOM_PART = rb'(?:[^\x00-\x20()%"\[]++|\[[^\]]*+\])'
# A "{" cannot start an atom: imapclient takes every such token as a literal.
_ATOM_START = rb'(?:[^\x00-\x20()%"\[{]|\[[^\]]*+\])'
# One token after optional whitespace, told apart by its first byte. Where
# no token can start, the empty match before the byte says so.
_TOKEN = re.compile(
    rb"[ \t\r\n]*+("
    + b"|".join(
        [
            rb"[()]",
            rb'"(?:[^"\\]++|\\.)*+"',
            rb"\{[0-9]++\}" + _END,
            _ATOM_START + _ATOM_PART + rb"*+" + _END,
            rb"(?=.)",
        ]
    )
    + rb")",
    re.DOTALL,
)
_ESCAPED = re.compile(rb'\\([\\"])')
# imapclient recurses once per level and fails somewhere past a few hundred;
# deeper data goes to it, so that it fails there as before. Real BODYSTRUCTUREs
# stay far below this.
MAX_DEPTH = 100


class Unsupported(ValueError):
    """The data is not plain FETCH data this module reads; ask imapclient.

    The message never holds response bytes: they may be private mail.
    """


def parse_items(items: list[ResponseItem]) -> list[Any]:
    """Return the top-level values of response data, tuples nested.

    items are in imaplib's format: lines, or (line ending in {n}, literal)
    pairs. Tokens never run from one line into the next, as in imapclient.
    """
    top: list[Any] = []
    current = top
    append = top.append
    stack: list[list[Any]] = []
    push, pop = stack.append, stack.pop
    findall = _TOKEN.findall
    try:
        for item in items:
            if isinstance(item, tuple):
                line, literal = item
                if not line.endswith(b"}"):
                    raise Unsupported("A literal's line does not end in {n}.")
            else:
                line, literal = item, None
            for token in findall(line):
                # Most frequent first: this loop is where the time goes.
                first = token[0]
                if first == 34:  # '"'
                    value = token[1:-1]
                    if b"\\" in value:
                        value = _ESCAPED.sub(rb"\1", value)
                    append(value)
                elif first == 40:  # "("
                    push(current)
                    if len(stack) > MAX_DEPTH:
                        raise Unsupported("Lists nested too deep.")
                    current = []
                    append = current.append
                elif first == 41:  # ")"
                    done = tuple(current)
                    current = pop()
                    append = current.append
                    append(done)
                elif token == b"NIL":
                    append(None)
                elif 48 <= first <= 57 and token.isdigit():
                    # imapclient keeps "0123" as bytes: it is no number.
                    append(int(token) if first != 48 or len(token) == 1 else token)
                elif first == 123:  # "{"
                    if literal is None or len(literal) != int(token[1:-1]):
                        raise Unsupported("A literal marker without its literal.")
                    append(literal)
                else:
                    append(token)
    except IndexError:
        # An empty token (a byte no token starts with) or a ")" too many.
        raise Unsupported("Not FETCH data this module reads.") from None
    if stack:
        raise Unsupported("A parenthesised list is not closed.")
    return top


def parse_fetch(
    number: int, items: list[ResponseItem], as_read: Collection[bytes] = ()
) -> dict[bytes, Any]:
    """Parse the data of one "* number FETCH (...)" response.

    Returns what imapclient's parse_fetch_response(..., normalise_times=False,
    uid_is_key=False) gives for that message, with a b"SEQ" key. Items
    named in as_read (upper case) keep their value as read instead.
    """
    top = parse_items(items)
    if len(top) != 1 or not isinstance(top[0], tuple) or len(top[0]) % 2:
        raise Unsupported("FETCH data is not one list of name-value pairs.")
    pairs = top[0]
    data: dict[bytes, Any] = {b"SEQ": number}
    for index in range(0, len(pairs), 2):
        name = pairs[index]
        if not isinstance(name, bytes):
            raise Unsupported("A FETCH item name is not an atom.")
        word = name.upper()
        value = pairs[index + 1]
        if word in as_read:
            data[word] = value
        elif word == b"UID":
            data[word] = _int_or_error(value, "invalid UID")
        elif word == b"INTERNALDATE":
            data[word] = _convert_INTERNALDATE(value, False)
        elif word == b"ENVELOPE":
            data[word] = _convert_ENVELOPE(value, False)
        elif word in (b"BODY", b"BODYSTRUCTURE"):
            data[word] = BodyData.create(value)
        else:
            data[word] = value
    return data
