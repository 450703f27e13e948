"""Charset decoding as Japanese and mislabelled mail needs it."""

from __future__ import annotations

import pytest

from tests.mime.builders import jis
from webmail.mime.charsets import decode_iso2022jp, decode_text, normalize_charset

NEC = "①②③⑩㈱㈲㍻№℡"
IBM = "髙﨑ⅰⅱ"
KANA = "ｶﾀｶﾅﾃﾞｽ"
PROSE = "お世話になっております。会議の資料を送ります。"


def test_iso2022jp_keeps_nec_ibm_and_halfwidth_kana():
    text = f"{PROSE}{NEC}{IBM}{KANA} end"
    data = jis(text)
    assert data.isascii()
    assert decode_text(data, "ISO-2022-JP") == text


def test_python_codec_alone_would_fail_on_this_input():
    """The stdlib rejects NEC row 13; our decoder is why the test above passes."""
    with pytest.raises(UnicodeDecodeError):
        jis(NEC).decode("iso2022_jp")


def test_so_si_halfwidth_kana():
    # SO shifts to JIS X 0201 katakana until SI.
    data = b"abc\x0e" + bytes(b - 0x80 for b in KANA.encode("cp932")) + b"\x0fxyz"
    assert decode_iso2022jp(data) == f"abc{KANA}xyz"


def test_esc_dollar_at_and_esc_paren_j():
    # ESC $ @ is the 1978 set name, ESC ( J the JIS Roman set.
    data = b"\x1b$@F|K\\\x1b(Jabc\x1b(B"
    assert decode_iso2022jp(data) == "日本abc"


def test_line_breaks_inside_two_byte_mode_survive():
    data = b"\x1b$BF|K\\\r\n8l\x1b(B"
    assert decode_iso2022jp(data) == "日本\r\n語"


def test_truncated_pair_costs_one_replacement_only():
    assert decode_iso2022jp(b"\x1b$BF|K") == "日\ufffd"


@pytest.mark.parametrize(
    "label", ["shift_jis", "Shift-JIS", "x-sjis", "windows-31j", "SJIS", "cp932"]
)
def test_shift_jis_labels(label):
    text = PROSE + NEC + IBM + KANA
    assert decode_text(text.encode("cp932"), label) == text


def test_euc_jp_with_nec_row_13():
    text = PROSE + "①②"
    # EUC-JP is JIS X 0208 with the high bit set; row 13 is 0xAD.
    data = PROSE.encode("euc_jp") + b"\xad\xa1\xad\xa2"
    assert decode_text(data, "EUC-JP") == text
    assert decode_text(data, "x-euc-jp") == text


def test_iso2022jp_label_on_shift_jis_bytes():
    text = PROSE + "①"
    assert decode_text(text.encode("cp932"), "iso-2022-jp") == text


def test_shift_jis_label_on_euc_jp_bytes():
    assert decode_text(PROSE.encode("euc_jp"), "shift_jis") == PROSE


def test_shift_jis_label_on_utf8_bytes():
    assert decode_text(PROSE.encode("utf-8"), "Shift_JIS") == PROSE


def test_latin1_label_on_utf8_bytes():
    assert decode_text("Grüße, café".encode(), "iso-8859-1") == "Grüße, café"


def test_latin1_label_on_latin1_bytes():
    assert decode_text("Grüße".encode("latin-1"), "iso-8859-1") == "Grüße"


@pytest.mark.parametrize("codec", ["utf-8", "cp932", "euc_jp"])
def test_missing_charset_is_guessed(codec):
    assert decode_text(PROSE.encode(codec), None) == PROSE


def test_missing_charset_on_jis_text():
    assert decode_text(jis(PROSE + NEC), None) == PROSE + NEC


def test_unknown_charset_name_is_guessed():
    assert decode_text(PROSE.encode("cp932"), "x-no-such-charset") == PROSE


def test_never_raises_on_garbage():
    text = decode_text(bytes(range(256)) * 3, "utf-8")
    assert isinstance(text, str)
    assert text


def test_normalize_charset_strips_quotes_and_language():
    assert normalize_charset('"ISO-2022-JP*ja"') == "iso-2022-jp"
    assert normalize_charset("no-such") == ""


@pytest.mark.parametrize("label", ["unicode_escape", "rot13", "zlib", "undefined"])
def test_python_only_codecs_are_not_charsets(label):
    assert decode_text(b"\\x41 plain", label) == "\\x41 plain"
