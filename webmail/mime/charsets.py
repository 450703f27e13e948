"""Decode mail bytes to text whatever the declared charset claims.

Real mail mislabels its charsets, omits them, and (in Japan) uses vendor
extensions that Python's strict codecs reject. ``decode_text`` never raises
and returns U+FFFD only for bytes that no plausible charset can decode.
"""

from __future__ import annotations

import codecs
import re

# Names seen in the wild mapped to the codec that really decodes them. The
# Japanese vendor sets are decoded by supersets so NEC and IBM characters
# (①, ㈱, ㍻, 髙) survive.
_ALIASES: dict[str, str] = {
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "x-sjis": "cp932",
    "sjis": "cp932",
    "s-jis": "cp932",
    "shiftjis": "cp932",
    "x-shift_jis": "cp932",
    "x-shift-jis": "cp932",
    "ms_kanji": "cp932",
    "csshiftjis": "cp932",
    "windows-31j": "cp932",
    "cswindows31j": "cp932",
    "ms932": "cp932",
    "cp932": "cp932",
    "x-ms-cp932": "cp932",
    "euc-jp": "euc-jp",
    "euc_jp": "euc-jp",
    "eucjp": "euc-jp",
    "x-euc-jp": "euc-jp",
    "x-euc": "euc-jp",
    "eucjp-ms": "euc-jp",
    "cseucpkdfmtjapanese": "euc-jp",
    "cp51932": "euc-jp",
    "iso-2022-jp": "iso-2022-jp",
    "iso2022jp": "iso-2022-jp",
    "iso_2022_jp": "iso-2022-jp",
    "csiso2022jp": "iso-2022-jp",
    "iso-2022-jp-1": "iso-2022-jp",
    "iso-2022-jp-2": "iso-2022-jp",
    "iso-2022-jp-3": "iso-2022-jp",
    "iso-2022-jp-ms": "iso-2022-jp",
    "iso-2022-jp-2004": "iso-2022-jp",
    "cp50220": "iso-2022-jp",
    "cp50221": "iso-2022-jp",
    "cp50222": "iso-2022-jp",
    "x-unknown": "",
    "unknown-8bit": "",
    "unknown": "",
    "x-user-defined": "",
    "default": "",
    "us-ascii": "",
    "ascii": "",
    "ansi_x3.4-1968": "",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "iso-8859-9": "cp1254",
    "iso-8859-11": "cp874",
    "tis-620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "ks_c_5601": "cp949",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "utf8": "utf-8",
    "utf-8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
    "x-unicode20utf8": "utf-8",
    "utf-7": "utf-7",
    "unicode-1-1-utf-7": "utf-7",
}

_JAPANESE = ("cp932", "euc-jp", "iso-2022-jp")
_ESC_RE = re.compile(rb"\x1b[\(\$\.][@-Z]|\x1b\$\([@-Z]")
_HIGH_RE = re.compile(rb"[\x80-\xff]")


def normalize_charset(charset: str | None) -> str:
    """Return the codec name to use for a declared charset, "" if unknown."""
    if not charset:
        return ""
    name = charset.strip().strip("\"'").lower()
    # RFC 2231 allows a language suffix such as "iso-2022-jp*ja".
    name = name.split("*", 1)[0].strip()
    if name in _ALIASES:
        return _ALIASES[name]
    try:
        info = codecs.lookup(name)
    except LookupError:
        return ""
    # Python also registers transforms (rot13, zlib) and escape codecs that
    # no mailer means; a sender must not pick them.
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_CHARSETS:
        return ""
    return info.name


_NOT_CHARSETS = {
    "undefined",
    "unicode-escape",
    "raw-unicode-escape",
    "idna",
    "punycode",
    "mbcs",
    "oem",
}


def decode_text(data: bytes, charset: str | None) -> str:
    """Decode ``data`` that claims to be in ``charset``; never raise."""
    if not data:
        return ""
    codec = normalize_charset(charset)
    if codec == "iso-2022-jp":
        if _HIGH_RE.search(data) and not _ESC_RE.search(data):
            # 8-bit text labelled as 7-bit JIS: usually Shift_JIS or UTF-8.
            return guess_decode(data)
        return decode_iso2022jp(data)
    if codec in ("cp932", "euc-jp"):
        return _decode_japanese(data, codec)
    if codec == "utf-7" and _HIGH_RE.search(data):
        return guess_decode(data)
    if not codec:
        return guess_decode(data)
    try:
        text = data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return _better_of(_decode_replace(data, codec), data)
    if codec in _SINGLE_BYTE_WESTERN and _HIGH_RE.search(data):
        # Valid multi-byte UTF-8 is vanishingly rare in real Latin text, and
        # common in mail whose client labelled UTF-8 as Latin-1.
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    if codec in _SINGLE_BYTE_WESTERN and _ESC_RE.search(data):
        # A JIS escape in "latin-1" text means the label lied.
        return decode_iso2022jp(data)
    return text


_SINGLE_BYTE_WESTERN = {"cp1252", "cp1254", "iso8859-15", "cp1250", "iso8859-2"}


def _decode_japanese(data: bytes, codec: str) -> str:
    """Decode Shift_JIS or EUC-JP, trusting the label unless it clearly lies.

    EUC-JP bytes often also decode as Shift_JIS (as half-width kana and odd
    kanji) and UTF-8 may be mislabelled as either, so the declared reading
    must also look like Japanese text to win.
    """
    declared = _strict_cp932(data) if codec == "cp932" else decode_eucjp(data)
    if not _HIGH_RE.search(data):
        return decode_iso2022jp(data) if _ESC_RE.search(data) else declared
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    other = decode_eucjp(data) if codec == "cp932" else _strict_cp932(data)
    if "\ufffd" in declared:
        if "\ufffd" not in other:
            return other
        if codec == "cp932":
            return data.decode("cp932", "replace")
        return declared
    if (
        "\ufffd" not in other
        and _japanese_score(other) > _japanese_score(declared) + len(declared) // 4
    ):
        return other
    return declared


def _decode_replace(data: bytes, codec: str) -> str:
    try:
        return data.decode(codec, "replace")
    except LookupError:
        return data.decode("utf-8", "replace")


def _better_of(text: str, data: bytes) -> str:
    """Keep ``text`` unless a guess decodes ``data`` with fewer errors."""
    guessed = guess_decode(data)
    if guessed.count("\ufffd") < text.count("\ufffd"):
        return guessed
    return text


def guess_decode(data: bytes) -> str:
    """Decode bytes of unknown charset: ASCII, UTF-8, Japanese, else cp1252."""
    if not _HIGH_RE.search(data):
        if _ESC_RE.search(data):
            return decode_iso2022jp(data)
        return data.decode("ascii")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    candidates: list[tuple[int, str]] = []
    for decode in (_strict_cp932, decode_eucjp):
        text = decode(data)
        if "\ufffd" not in text:
            candidates.append((_japanese_score(text), text))
    if candidates:
        score, text = max(candidates, key=lambda pair: pair[0])
        if score > 0:
            return text
    if _ESC_RE.search(data):
        return decode_iso2022jp(data)
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _strict_cp932(data: bytes) -> str:
    try:
        return data.decode("cp932")
    except UnicodeDecodeError:
        return "\ufffd"


def _japanese_score(text: str) -> int:
    """Score how much ``text`` looks like Japanese prose.

    Hiragana and common kanji count for it; half-width kana and private-use
    characters (what EUC-JP bytes look like when read as Shift_JIS) against.
    """
    score = 0
    for ch in text[:65536]:
        code = ord(ch)
        if code < 0x80:
            continue
        if 0x3040 <= code <= 0x30FF or 0x4E00 <= code <= 0x9FFF:
            score += 2
        elif 0x3000 <= code <= 0x303F or 0xFF01 <= code <= 0xFF5E:
            score += 1
        elif 0xFF61 <= code <= 0xFF9F:
            score -= 1
        elif 0xE000 <= code <= 0xF8FF or 0x80 <= code <= 0x2FFF:
            score -= 3
    return score


def jis_to_sjis(j1: int, j2: int) -> bytes:
    """Convert one JIS X 0208 row/cell pair (0x21-0x7E each) to Shift_JIS."""
    if j1 & 1:
        s2 = j2 + 0x1F
        if s2 >= 0x7F:
            s2 += 1
    else:
        s2 = j2 + 0x7E
    s1 = ((j1 + 1) >> 1) + 0x70
    if s1 >= 0xA0:
        s1 += 0x40
    return bytes((s1, s2))


def _pair_or_replacement(sjis: bytes) -> str:
    try:
        return sjis.decode("cp932")
    except UnicodeDecodeError:
        return "\ufffd"


def _build_jis_table() -> dict[bytes, str]:
    table: dict[bytes, str] = {}
    for j1 in range(0x21, 0x7F):
        for j2 in range(0x21, 0x7F):
            table[bytes((j1, j2))] = _pair_or_replacement(jis_to_sjis(j1, j2))
    return table


# Every 7-bit JIS X 0208 pair, decoded through cp932 (NEC and IBM rows too).
_JIS_TABLE = _build_jis_table()
_PAIR = re.compile(rb"..", re.DOTALL)


def _decode_jis_pairs(pairs: bytes) -> str:
    """Decode a run of 7-bit JIS X 0208 pairs (bytes 0x21-0x7E)."""
    if len(pairs) % 2:
        return _decode_jis_pairs(pairs[:-1]) + "\ufffd"
    return "".join([_JIS_TABLE.get(pair, "\ufffd") for pair in _PAIR.findall(pairs)])


_KANA_SHIFT = bytes.maketrans(bytes(range(0x21, 0x60)), bytes(range(0xA1, 0xE0)))


def _decode_kana(data: bytes) -> str:
    """Decode 7-bit JIS X 0201 katakana (0x21-0x5F) as cp932 0xA1-0xDF."""
    return data.translate(_KANA_SHIFT).decode("cp932", "replace")


def _decode_other_g0(data: bytes, codec: str, prefix: bytes = b"") -> str:
    """Decode 7-bit two-byte text of a non-JIS X 0208 set via its EUC form."""
    if len(data) % 2:
        return _decode_other_g0(data[:-1], codec, prefix) + "\ufffd"
    eight = bytearray()
    for i in range(0, len(data), 2):
        eight += prefix + bytes((data[i] | 0x80, data[i + 1] | 0x80))
    return bytes(eight).decode(codec, "replace")


_ISO2022_SPLIT = re.compile(
    rb"(\x1b\$\([@-Z]|\x1b[\(\$\.][@-Z]|\x1bN[\x00-\xff]|[\x0e\x0f])"
)

# Escape sequence -> state name.
_DESIGNATIONS: dict[bytes, str] = {
    b"\x1b(B": "ascii",
    b"\x1b(J": "ascii",  # JIS X 0201 Roman: read as ASCII, as mailers do.
    b"\x1b(H": "ascii",
    b"\x1b(I": "kana",
    b"\x1b$@": "jis0208",
    b"\x1b$B": "jis0208",
    b"\x1b$(B": "jis0208",
    b"\x1b$(Q": "jis0208",  # JIS X 0213 plane 1 is a superset of 0208.
    b"\x1b$(O": "jis0208",
    b"\x1b$(D": "jis0212",
    b"\x1b$A": "gb2312",
    b"\x1b$(C": "ksc5601",
}


def decode_iso2022jp(data: bytes) -> str:
    """Decode ISO-2022-JP the way Windows (CP50220) and real mail use it.

    Handles NEC row 13 and NEC-selected IBM extensions, JIS X 0201 kana via
    ``ESC ( I`` or SO/SI, JIS X 0212 and the ISO-2022-JP-2 sets.
    """
    out: list[str] = []
    state = "ascii"
    shifted = False
    for chunk in _ISO2022_SPLIT.split(data):
        if not chunk:
            continue
        if chunk in _DESIGNATIONS:
            state = _DESIGNATIONS[chunk]
            continue
        if chunk == b"\x0e":
            shifted = True
            continue
        if chunk == b"\x0f":
            shifted = False
            continue
        if chunk.startswith(b"\x1bN"):
            # Single shift 2 (ISO-2022-JP-2 Latin-1): one high-half char.
            out.append(chr(chunk[2] | 0x80))
            continue
        if chunk[:1] == b"\x1b" and len(chunk) in (3, 4):
            continue  # A designation this decoder does not know: skip it.
        out.append(_decode_segment(chunk, "kana" if shifted else state))
    return "".join(out)


def _decode_segment(chunk: bytes, state: str) -> str:
    if state == "ascii":
        return _decode_ascii_segment(chunk)
    # Line breaks inside a two-byte run keep their meaning.
    parts = re.split(rb"([\x00-\x20\x7f-\xff]+)", chunk)
    out: list[str] = []
    for i, part in enumerate(parts):
        if not part:
            continue
        if i % 2:
            out.append(_decode_ascii_segment(part))
        elif state == "jis0208":
            out.append(_decode_jis_pairs(part))
        elif state == "kana":
            out.append(_decode_kana(part))
        elif state == "jis0212":
            out.append(_decode_other_g0(part, "euc_jp", b"\x8f"))
        elif state == "gb2312":
            out.append(_decode_other_g0(part, "gb18030"))
        else:
            out.append(_decode_other_g0(part, "cp949"))
    return "".join(out)


def _decode_ascii_segment(chunk: bytes) -> str:
    try:
        return chunk.decode("ascii")
    except UnicodeDecodeError:
        # Some mailers put raw 8-bit Shift_JIS kana or kanji in JIS text.
        return chunk.decode("cp932", "replace")


_EUC_RE = re.compile(
    rb"\x8f[\xa1-\xfe][\xa1-\xfe]|\x8e[\xa1-\xdf]|[\xa1-\xfe][\xa1-\xfe]"
)


def decode_eucjp(data: bytes) -> str:
    """Decode EUC-JP including NEC row 13 and IBM rows (as in eucJP-ms)."""
    try:
        return data.decode("euc_jp")
    except UnicodeDecodeError:
        pass
    out: list[str] = []
    pos = 0
    for match in _EUC_RE.finditer(data):
        if match.start() > pos:
            out.append(data[pos : match.start()].decode("ascii", "replace"))
        seq = match.group()
        if seq[0] == 0x8E:
            out.append(bytes((seq[1],)).decode("cp932"))
        elif seq[0] == 0x8F:
            out.append(_decode_jis0212(seq))
        else:
            out.append(_pair_or_replacement(jis_to_sjis(seq[0] & 0x7F, seq[1] & 0x7F)))
        pos = match.end()
    if pos < len(data):
        out.append(data[pos:].decode("ascii", "replace"))
    return "".join(out)


def _decode_jis0212(seq: bytes) -> str:
    try:
        return seq.decode("euc_jp")
    except UnicodeDecodeError:
        return "\ufffd"


def is_japanese_codec(codec: str) -> bool:
    """Return whether ``codec`` (a normalized name) is a Japanese encoding."""
    return codec in _JAPANESE
