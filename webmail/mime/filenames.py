"""Attachment file names that are safe to show and to save."""

from __future__ import annotations

import re
import unicodedata

# Bidi embeddings, overrides and isolates, plus marks and invisible format
# characters that can make "invoice\u202efdp.exe" render as "invoiceexe.pdf".
_INVISIBLE = re.compile(
    "[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\u061c\u180e]"
)
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")
# Runs of spaces of any width, and of letters drawn blank (Hangul fillers,
# the blank Braille pattern): "invoice.pdf<60 spaces>.exe" must not push
# the real extension out of sight, so each run becomes one space.
_BLANKS = re.compile("[\\s\u115f\u1160\u2800\u3164\uffa0]+")
_RESERVED = re.compile(r'[<>:"|?*]')
_WINDOWS_DEVICES = re.compile(
    r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE
)
MAX_LENGTH = 200


def safe_filename(name: str, default: str = "attachment") -> str:
    """Return ``name`` stripped of paths, controls and bidi tricks.

    Japanese and other non-ASCII letters are kept. The result is never
    empty, never a dot file or a device name, and at most MAX_LENGTH chars.
    """
    name = unicodedata.normalize("NFC", name)
    name = _INVISIBLE.sub("", name)
    name = _CONTROLS.sub("", name)
    name = _BLANKS.sub(" ", name)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _RESERVED.sub("_", name)
    name = name.strip().strip(".").strip()
    if not name:
        return default
    if _WINDOWS_DEVICES.match(name):
        name = "_" + name
    if len(name) > MAX_LENGTH:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[: MAX_LENGTH - len(ext) - 1] + "." + ext
        else:
            name = name[:MAX_LENGTH]
    return name


def unique_names(names: list[str]) -> list[str]:
    """Return names with repeats made unique: "a.pdf", "a (2).pdf", ...

    Names differing only in case count as repeats, as on Windows and macOS.
    """
    taken: set[str] = set()
    result = []
    for name in names:
        candidate = name
        stem, dot, ext = name.rpartition(".")
        if not dot or not stem:
            stem, dot, ext = name, "", ""
        number = 2
        while candidate.casefold() in taken:
            candidate = f"{stem} ({number}){dot}{ext}"
            number += 1
        taken.add(candidate.casefold())
        result.append(candidate)
    return result
