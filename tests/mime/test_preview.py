"""A preview line from the first octets of a text part, cut anywhere.

However many octets a partial FETCH brought, the line is the one the whole
body gives, or None (fetch more): never a broken character, a piece of an
escape or a tag, or text from the wrong place.
"""

from __future__ import annotations

import pytest

from tests.engine.preview_mail import BODIES, raw_message, whole_body_preview
from webmail.mime.entity import split_entity
from webmail.mime.headers import parse_content_header
from webmail.mime.preview import preview_of_start

SINGLE_PARTS = [
    name for name, (headers, _) in BODIES.items() if "multipart" not in headers
]


def _part(name: str) -> tuple[bytes, dict[str, str | None]]:
    """Return a single-part message's body and what its BODYSTRUCTURE says."""
    headers, body = split_entity(raw_message(name))
    ctype = parse_content_header(headers.get("content-type"))
    encoding = (headers.get("content-transfer-encoding") or b"7bit").decode()
    return body, {
        "content_type": ctype.value,
        "charset": ctype.get("charset") or None,
        "encoding": encoding.lower(),
    }


@pytest.mark.parametrize("name", SINGLE_PARTS)
def test_a_start_cut_anywhere_gives_the_whole_bodys_line_or_asks_for_more(name):
    body, facts = _part(name)
    expected = whole_body_preview(raw_message(name))

    lines = {
        size: preview_of_start(body[:size], whole=False, **facts)
        for size in range(1, len(body))
    }

    assert preview_of_start(body, whole=True, **facts) == expected
    wrong = {size: line for size, line in lines.items() if line not in (None, expected)}
    assert wrong == {}
    if len(expected) > 200:
        # A long text's line comes well before its end.
        assert lines[len(body) - 1] == expected


def test_a_cut_in_the_middle_of_a_shift_jis_character_is_left_out():
    text = "お世話になっております。" * 30
    data = text.encode("cp932")
    line = preview_of_start(
        data[:421],
        content_type="text/plain",
        charset="shift_jis",
        encoding="8bit",
        whole=False,
    )
    assert line is not None and "\ufffd" not in line and line.endswith("\u2026")


def test_an_iso_2022_jp_escape_cut_short_is_left_out():
    data = ("a" * 250 + "日本語").encode("iso2022_jp")
    for size in range(250, len(data)):
        line = preview_of_start(
            data[:size],
            content_type="text/plain",
            charset="iso-2022-jp",
            encoding="7bit",
            whole=False,
        )
        assert line == "a" * 200 + "\u2026"


def test_html_text_starts_after_a_long_head_and_a_tag_cut_short():
    markup = b"<html><head><style>p { color: red }</style></head><body><p>" + (
        b"word " * 60
    )
    assert (
        preview_of_start(
            markup[:40],
            content_type="text/html",
            charset=None,
            encoding="7bit",
            whole=False,
        )
        is None
    )
    line = preview_of_start(
        markup + b"<a hre",
        content_type="text/html",
        charset=None,
        encoding="7bit",
        whole=False,
    )
    assert line is not None and "<" not in line and line.startswith("word word")
