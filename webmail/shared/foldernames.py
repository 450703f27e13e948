"""Folder names as the server spells them, and the rules a new name must pass.

The page side names folders before the worker has told the server: it
stores the name the server will list (RFC 3501 modified UTF-7, parts joined
by the server's delimiter), so the next LIST finds the same row. The
worker's IMAP code (webmail.imap) decodes what servers send; this module
encodes, without importing it, as the page side may not.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

MAX_NAME = 200


class BadFolderName(ValueError):
    """A folder name the user must change; code says why (see NAME_PROBLEMS)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def encode_part(part: str) -> str:
    """Return one level of a folder name in modified UTF-7 (RFC 3501 5.1.3)."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            data = "".join(pending).encode("utf-16-be")
            text = base64.b64encode(data).decode("ascii").rstrip("=")
            out.append("&" + text.replace("/", ",") + "-")
            pending.clear()

    for char in part:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def server_name(path: Sequence[str], delimiter: str) -> str:
    """Return the server's spelling of a folder from its decoded path."""
    return (delimiter or "/").join(encode_part(part) for part in path)


def check_name(name: str, delimiter: str, siblings: Sequence[str]) -> str:
    """Return the name, trimmed, or raise BadFolderName.

    siblings: the decoded names of the folders beside it (same parent).
    """
    name = name.strip()
    if not name:
        raise BadFolderName("empty")
    if delimiter and delimiter in name:
        raise BadFolderName("delimiter")
    if len(name) > MAX_NAME or any(ord(c) < 0x20 or c in "\x7f*%" for c in name):
        raise BadFolderName("characters")
    if name.upper() == "INBOX" or name.casefold() in {s.casefold() for s in siblings}:
        raise BadFolderName("exists")
    return name
