"""HTML a user wrote: sanitized, its images made parts, its plain text."""

from __future__ import annotations

import base64
import email
from email import policy

import pytest

from webmail.mime.compose import FileToSend, Outgoing, Recipient, build_message
from webmail.mime.outgoing_html import InlineTooLarge, prepare_html
from webmail.mime.plaintext import html_to_plain
from webmail.mime.sanitize import sanitize_outgoing

SENDER = Recipient("", "alice@example.com")
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200))


def _data_url(data: bytes = PNG, kind: str = "image/png") -> str:
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


def test_scripts_handlers_remote_images_and_escaping_styles_are_removed():
    written = (
        '<div onclick="steal()">Hi <b onmouseover="x()">there</b></div>'
        "<script>alert(1)</script><style>body{display:none}</style>"
        '<img src="https://tracker.example/p.gif">'
        '<a href="javascript:alert(1)">click</a>'
        '<div style="position: fixed; top: 0; color: red">banner</div>'
        '<iframe src="https://evil.example/"></iframe>'
    )
    safe = sanitize_outgoing(written)
    for bad in ("onclick", "onmouseover", "script", "alert", "tracker", "<img"):
        assert bad not in safe
    assert "display:none" not in safe and "iframe" not in safe
    assert "position" not in safe and "color: red" in safe
    assert "<b>there</b>" in safe and ">click</a>" in safe


def test_a_reply_quote_keeps_its_cite_and_links_get_no_target():
    safe = sanitize_outgoing(
        '<blockquote type="cite"><a href="https://example.org/">x</a></blockquote>'
        '<blockquote type="evil">y</blockquote>'
    )
    assert '<blockquote type="cite">' in safe
    assert 'type="evil"' not in safe
    assert "target" not in safe


def test_an_image_in_the_text_becomes_a_part_named_by_its_cid():
    markup = f'<div>Look <img src="{_data_url()}" alt="chart"></div>'
    prepared = prepare_html(markup, "example.com", 10_000)
    (image,) = prepared.inline
    assert image.data == PNG and image.content_type == "image/png"
    assert image.content_id.endswith("@example.com")
    assert f'src="cid:{image.content_id}"' in prepared.html
    assert "data:" not in prepared.html


def test_the_same_image_twice_is_one_part():
    markup = f'<img src="{_data_url()}"><img src="{_data_url()}">'
    prepared = prepare_html(markup, "example.com", 10_000)
    assert len(prepared.inline) == 1
    assert prepared.html.count(prepared.inline[0].content_id) == 2


def test_images_over_the_limit_are_refused():
    markup = f'<img src="{_data_url()}"><img src="{_data_url(PNG + b"x")}">'
    with pytest.raises(InlineTooLarge) as caught:
        prepare_html(markup, "example.com", len(PNG) + 10)
    assert caught.value.size == 2 * len(PNG) + 1


def test_data_urls_of_other_types_are_dropped():
    markup = (
        f'<img src="{_data_url(b"<svg onload=alert(1)>", "image/svg+xml")}">'
        '<img src="data:image/png;base64,!!!not base64">ok'
    )
    prepared = prepare_html(markup, "example.com", 10_000)
    assert prepared.inline == ()
    assert "<img" not in prepared.html and "svg" not in prepared.html
    assert "ok" in prepared.html


def test_the_plain_text_says_what_the_html_means():
    text = html_to_plain(
        "<div>Dear <b>Bob</b>,</div><div><br></div>"
        "<ul><li>milk</li><li><div>eggs</div></li></ul>"
        "<ol><li>first</li><li>second</li></ol>"
        '<div>See <a href="https://example.org/report">the report</a> or '
        '<a href="https://example.org/">https://example.org/</a>.</div>'
        '<div>On Monday, Carol wrote:</div><blockquote type="cite">'
        "<div>Can you come?</div><blockquote>Earlier</blockquote></blockquote>"
        "<div>日本語です</div>"
    )
    assert text == (
        "Dear Bob,\n"
        "\n"
        "- milk\n"
        "- eggs\n"
        "1. first\n"
        "2. second\n"
        "See the report <https://example.org/report> or https://example.org/.\n"
        "On Monday, Carol wrote:\n"
        "> Can you come?\n"
        ">> Earlier\n"
        "日本語です\n"
    )


def test_with_images_and_files_the_message_nests_mixed_alternative_related():
    prepared = prepare_html(
        f'<p>図 <img src="{_data_url()}"></p>', "example.com", 10**6
    )
    data = build_message(
        Outgoing(
            sender=SENDER,
            to=(Recipient("", "bob@example.org"),),
            subject="図",
            html=prepared.html,
            inline=prepared.inline,
            files=(FileToSend("a.txt", b"hello", "text/plain"),),
        )
    )
    message = email.message_from_bytes(data, policy=policy.default)
    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = message.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    text, related = alternative.iter_parts()
    assert text.get_content_type() == "text/plain"
    assert text.get_content().strip() == "図"
    assert related.get_content_type() == "multipart/related"
    html, image = related.iter_parts()
    assert html.get_content_charset() == "utf-8" and "図" in html.get_content()
    cid = image["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html.get_content()
    assert image.get_content() == PNG
    assert attachment.get_filename() == "a.txt"
