"""Reading and writing the vCard subset an address book needs: FN, N and EMAIL.

Reads vCard 2.1, 3.0 and 4.0 as phones and mail programs export them:
folded lines, group prefixes ("item1.EMAIL"), backslash escapes, and the
2.1 form Japanese phones still write (CHARSET=SHIFT_JIS with
ENCODING=QUOTED-PRINTABLE and soft line breaks). Writes vCard 3.0 in
UTF-8, which every address book takes, with lines folded at 75 octets.

No Django here.
"""

from __future__ import annotations

import codecs
import quopri
import re
from collections.abc import Iterable
from dataclasses import dataclass

_MAX_LINE = 75
_ESCAPED = re.compile(r"\\(.)", re.S)


@dataclass(frozen=True)
class Card:
    """One person: a display name and their addresses."""

    name: str
    emails: tuple[str, ...]


def _decode_file(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp932", "replace")


def _unfold(text: str) -> list[str]:
    lines: list[str] = []
    for raw in re.split(r"\r\n|\r|\n", text):
        if raw[:1] in (" ", "\t") and lines:
            lines[-1] += raw[1:]
        elif lines and lines[-1].endswith("=") and _is_qp(lines[-1]):
            lines[-1] = lines[-1][:-1] + raw  # a quoted-printable soft break
        elif raw.strip():
            lines.append(raw)
    return lines


def _is_qp(line: str) -> bool:
    head = line.partition(":")[0].upper()
    return "QUOTED-PRINTABLE" in head


def _unescape(value: str) -> str:
    return _ESCAPED.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def _split_unescaped(value: str, separator: str) -> list[str]:
    parts, current, escaped = [], [], False
    for char in value:
        if escaped:
            current.append("\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [_unescape(part) for part in parts]


def _property(line: str) -> tuple[str, dict[str, str], str]:
    head, _, value = line.partition(":")
    name, *params = head.split(";")
    name = name.rpartition(".")[2].upper()  # without its group
    found: dict[str, str] = {}
    for param in params:
        key, equals, param_value = param.partition("=")
        if equals:
            found[key.upper()] = param_value.strip('"')
        else:  # 2.1's bare "QUOTED-PRINTABLE", "INTERNET"
            found.setdefault("BARE", "")
            found["BARE"] += ";" + key.upper()
    if "QUOTED-PRINTABLE" in (found.get("ENCODING", "").upper(), *_bare(found)):
        charset = found.get("CHARSET", "utf-8")
        try:
            value = quopri.decodestring(value.encode("ascii", "replace")).decode(
                charset, "replace"
            )
        except LookupError:
            value = quopri.decodestring(value.encode("ascii", "replace")).decode(
                "utf-8", "replace"
            )
    return name, found, value


def _bare(params: dict[str, str]) -> list[str]:
    return [p for p in params.get("BARE", "").split(";") if p]


def _name_from_n(value: str) -> str:
    family, given = ([*_split_unescaped(value, ";"), "", ""])[:2]
    family, given = family.strip(), given.strip()
    if not family or not given:
        return family or given
    if not (family + given).isascii():  # 山田 太郎: the family name first
        return f"{family} {given}"
    return f"{given} {family}"


def read_vcards(data: bytes) -> list[Card]:
    """The cards of a .vcf file; cards without an address are left out."""
    cards: list[Card] = []
    name = family_name = ""
    emails: list[str] = []
    inside = False
    for line in _unfold(_decode_file(data)):
        prop, _, value = _property(line)
        if prop == "BEGIN" and value.strip().upper() == "VCARD":
            inside, name, family_name, emails = True, "", "", []
        elif prop == "END" and inside:
            inside = False
            # FN is required, so a card without a name has its address there.
            shown = name or family_name
            if shown.casefold() in (e.casefold() for e in emails):
                shown = ""
            if emails:
                cards.append(Card(shown, tuple(emails)))
        elif not inside:
            continue
        elif prop == "FN":
            name = _unescape(value).strip()
        elif prop == "N":
            family_name = _name_from_n(value)
        elif prop == "EMAIL":
            address = _unescape(value).strip()
            if address.lower().startswith("mailto:"):
                address = address[7:]
            if address and address not in emails:
                emails.append(address)
    return cards


def _escape(value: str) -> str:
    return (
        value.replace("\\", "\\\\")
        .replace(",", "\\,")
        .replace(";", "\\;")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """Lines longer than 75 octets, folded between characters, never inside one."""
    pieces: list[str] = []
    current, size = "", 0
    for char in line:
        width = len(char.encode("utf-8"))
        limit = _MAX_LINE if not pieces else _MAX_LINE - 1
        if size + width > limit:
            pieces.append(current)
            current, size = "", 0
        current += char
        size += width
    pieces.append(current)
    return "\r\n ".join(pieces)


def _n_value(name: str) -> str:
    words = name.split()
    if len(words) < 2:
        return f"{_escape(name)};;;;"
    if not name.isascii():
        family, given = words[0], " ".join(words[1:])
    else:
        family, given = words[-1], " ".join(words[:-1])
    return f"{_escape(family)};{_escape(given)};;;"


def write_vcards(cards: Iterable[Card]) -> bytes:
    """A .vcf file (vCard 3.0, UTF-8) of these cards."""
    lines: list[str] = []
    for card in cards:
        name = card.name or (card.emails[0] if card.emails else "")
        lines += ["BEGIN:VCARD", "VERSION:3.0"]
        lines.append(_fold(f"FN:{_escape(name)}"))
        lines.append(_fold(f"N:{_n_value(card.name)}"))
        lines += [_fold(f"EMAIL;TYPE=INTERNET:{e}") for e in card.emails]
        lines.append("END:VCARD")
    return "".join(line + "\r\n" for line in lines).encode("utf-8")
