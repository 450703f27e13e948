"""Header decoding: encoded words, raw 8-bit, parameters, addresses, dates."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.mime.builders import b_word, jis
from webmail.mime.headers import (
    Address,
    decode_header,
    parse_addresses,
    parse_content_header,
    parse_date,
)

JST = timezone(timedelta(hours=9))


def test_encoded_word_split_inside_a_character():
    raw = "会議の議事録".encode()
    # Byte 8 is inside "の" (3 bytes): neither half decodes on its own.
    header = b_word("UTF-8", raw[:8]) + b"\r\n " + b_word("utf-8", raw[8:])
    assert decode_header(header) == "会議の議事録"


def test_iso2022jp_word_split_between_escape_runs():
    data = jis("①㈱ﾃｽﾄ")
    header = b_word("ISO-2022-JP", data[:5]) + b" " + b_word("ISO-2022-JP", data[5:])
    assert decode_header(header) == "①㈱ﾃｽﾄ"


def test_space_between_words_dropped_but_not_around_text():
    header = b"=?utf-8?q?Hello?= =?utf-8?q?_world?= and =?utf-8?q?more?="
    assert decode_header(header) == "Hello world and more"


def test_q_encoding_with_underscores_and_hex():
    assert decode_header(b"=?ISO-8859-1?Q?caf=E9_au_lait?=") == "café au lait"


def test_malformed_word_is_left_readable():
    assert decode_header(b"Re: =?utf-8?B?broken") == "Re: =?utf-8?B?broken"


def test_bad_base64_padding_still_decodes():
    word = base64.b64encode("日本語".encode()).rstrip(b"=")
    assert decode_header(b"=?utf-8?b?" + word + b"?=") == "日本語"


def test_raw_utf8_header():
    assert decode_header("Re: 見積もりの件".encode()) == "Re: 見積もりの件"


def test_raw_shift_jis_header():
    assert decode_header("Re: 見積もりの件①".encode("cp932")) == "Re: 見積もりの件①"


def test_raw_iso2022jp_header_without_encoded_words():
    assert decode_header(b"Re: " + jis("見積もり㈱")) == "Re: 見積もり㈱"


def test_rfc2231_language_in_encoded_word_charset():
    assert (
        decode_header(b"=?UTF-8*ja?B?" + base64.b64encode("件名".encode()) + b"?=")
        == "件名"
    )


def test_folding_and_controls_are_removed():
    assert decode_header(b"one\r\n two\x07") == "one two"


def test_addresses_with_encoded_names_and_commas():
    name = b_word("UTF-8", "山田, 太郎".encode())
    parsed = parse_addresses([name + b' <taro@example.jp>, "Doe, Jane" <jane@x.org>'])
    assert parsed == (
        Address("山田, 太郎", "taro@example.jp"),
        Address("Doe, Jane", "jane@x.org"),
    )


def test_addresses_raw_utf8_and_bare():
    parsed = parse_addresses(['"佐藤" <sato@example.jp>'.encode(), b"bare@example.org"])
    assert parsed == (
        Address("佐藤", "sato@example.jp"),
        Address("", "bare@example.org"),
    )


def test_address_garbage_does_not_raise():
    assert isinstance(parse_addresses([b"<<<>>>,,,@@@"]), tuple)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"Mon, 3 Jun 2024 10:00:00 +0900", datetime(2024, 6, 3, 10, tzinfo=JST)),
        (b"Mon, 3 Jun 2024 10:00:00 +0900 (JST)", datetime(2024, 6, 3, 10, tzinfo=JST)),
        (b"3 Jun 2024 10:00:00 +0900 junk junk", datetime(2024, 6, 3, 10, tzinfo=JST)),
        (b"Mon, 3 Jun 2024 10:00:00 JST", datetime(2024, 6, 3, 10, tzinfo=JST)),
        (b"Mon,  3 Jun 2024 01:00:00 GMT", datetime(2024, 6, 3, 1, tzinfo=UTC)),
        (b"2024-06-03T10:00:00+09:00", datetime(2024, 6, 3, 10, tzinfo=JST)),
    ],
)
def test_dates(raw, expected):
    assert parse_date(raw) == expected


@pytest.mark.parametrize(
    "raw", [b"", b"yesterday", b"Mon, 31 Feb 2024 10:00 +0000", None]
)
def test_unreadable_dates_are_none(raw):
    assert parse_date(raw) is None


def test_rfc2231_continuations_in_japanese():
    raw = (
        b"attachment;\r\n filename*0*=UTF-8''%E8%A6%8B%E7%A9%8D;\r\n"
        b" filename*1*=%E6%9B%B8.pdf"
    )
    header = parse_content_header(raw)
    assert header.value == "attachment"
    assert header.get("filename") == "見積書.pdf"


def test_rfc2231_in_shift_jis_with_language():
    encoded = "".join(f"%{b:02X}" for b in "請求書.xlsx".encode("cp932"))
    header = parse_content_header(
        f"attachment; filename*=shift_jis'ja'{encoded}".encode()
    )
    assert header.get("filename") == "請求書.xlsx"


def test_rfc2047_in_quoted_parameter():
    raw = b'application/pdf; name="' + b_word("ISO-2022-JP", jis("資料①")) + b'.pdf"'
    assert parse_content_header(raw).get("name") == "資料①.pdf"


def test_raw_8bit_parameter():
    raw = 'attachment; filename="報告書.docx"'.encode("cp932")
    assert parse_content_header(raw).get("filename") == "報告書.docx"


def test_quoted_parameter_with_semicolon_and_escapes():
    raw = b'text/plain; charset="utf-8"; name="a;b \\"c\\".txt"'
    header = parse_content_header(raw)
    assert header.value == "text/plain"
    assert header.get("charset") == "utf-8"
    assert header.get("name") == 'a;b "c".txt'
