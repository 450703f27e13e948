"""HTML sanitizing: what survives, what is blocked, what is rewritten."""

from __future__ import annotations

import re
import time

import pytest

from tests.mime.builders import corpus
from webmail.mime.parse import parse_message
from webmail.mime.sanitize import POLICY_VERSION, SanitizedHtml, sanitize_html


def proxy(url: str) -> str:
    return "/proxy/?sig=abc&url=" + url


def cid(content_id: str) -> str:
    return f"/m/42/cid/{content_id}"


def clean(markup: str, allow_remote: bool = False) -> SanitizedHtml:
    return sanitize_html(
        markup, allow_remote=allow_remote, rewrite_url=proxy, cid_url=cid
    )


@pytest.fixture(scope="module")
def hostile() -> str:
    html = parse_message(corpus("hostile_html.eml")).html
    assert html is not None
    return html


def assert_inert(html: str) -> None:
    lowered = html.lower()
    for needle in (
        "<script",
        "<style",
        "<iframe",
        "<object",
        "<form",
        "<input",
        "<button",
        "<svg",
        "<math",
        "<meta",
        "<base",
        "<link",
        "<title",
        "javascript",
        "data:",
        "expression(",
        "@import",
        "-moz-binding",
        "steal(",
    ):
        assert needle not in lowered, needle
    assert not re.search(r"\son[a-z]+\s*=", lowered), "event handler left"
    assert not re.search(r"position\s*:\s*(fixed|absolute|sticky)", lowered)


def test_hostile_newsletter_is_inert_and_blocked(hostile):
    result = clean(hostile)
    assert_inert(result.html)
    assert result.has_remote_content
    assert "tracker.example.net" not in result.html
    assert "phish.example.net" not in result.html
    # What the reader still sees:
    for text in ("Dear customer,", "Cell text", "Regards, the team", "Real offer"):
        assert text in result.html
    assert '<img src="/m/42/cid/banner@example.net" alt="banner">' in result.html
    assert (
        '<a href="https://shop.example.com/offer?a=1&amp;b=2" target="_blank"'
        ' rel="noopener noreferrer">Real offer</a>'
    ) in result.html
    assert 'href="mailto:help@example.com"' in result.html
    assert "font-family: 'Calibri', sans-serif" in result.html
    assert "Hidden title" not in result.html


def test_hostile_newsletter_with_remote_allowed_goes_through_proxy(hostile):
    result = clean(hostile, allow_remote=True)
    assert_inert(result.html)
    assert not result.has_remote_content
    srcs = re.findall(r'(?:src|background)="([^"]*)"', result.html)
    assert (
        "/proxy/?sig=abc&amp;url=https://tracker.example.net/pixel.gif?u=victim" in srcs
    )
    assert "/proxy/?sig=abc&amp;url=https://tracker.example.net/table.png" in srcs
    assert (
        "url('/proxy/?sig=abc&amp;url=https://tracker.example.net/bg2.png')"
        in result.html
    )
    # Every remote URL left in a loading position is a proxied one.
    for url in srcs + re.findall(r"url\('([^']*)'\)", result.html):
        assert url.startswith(("/proxy/", "/m/42/cid/")), url


@pytest.mark.parametrize(
    "markup",
    [
        '<a href="javascript:alert(1)">x</a>',
        '<a href="java&#x09;script:alert(1)">x</a>',
        '<a href="&#x6A;&#x61;vascript:alert(1)">x</a>',
        '<a href=" JaVaScRiPt:alert(1)">x</a>',
        '<a href="vbscript:msgbox(1)">x</a>',
        '<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>',
        '<img src="javascript:alert(1)">',
        '<img src="x" onerror="alert(1)">',
        '<img src="data:image/svg+xml,<svg onload=alert(1)>">',
        "<svg><script>alert(1)</script></svg>",
        "<svg><style><img src=x onerror=alert(1)></style></svg>",
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
        '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
        '<div style="background:url(javascript:alert(1))">x</div>',
        '<div style="width:expression(alert(1))">x</div>',
        '<div style="color:red&#59;position:fixed">x</div>',
        '<div style="position:&#102;ixed">x</div>',
        '<div style="position:fi\\78 ed">x</div>',
        '<p style="behavior:url(x.htc)">x</p>',
        '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
        '<base href="javascript:alert(1)//">',
        "<style>@import 'javascript:alert(1)';</style>",
        '<form action="javascript:alert(1)"><input type="submit"></form>',
        '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
        '<object data="javascript:alert(1)"></object>',
        '<embed src="javascript:alert(1)">',
        '<a href="#" onmouseover="alert(1)">x</a>',
        "<<script>script>alert(1)<</script>/script>",
        "<img src=`javascript:alert(1)`>",
        '<table background="javascript:alert(1)"><tr><td>x</td></tr></table>',
    ],
)
def test_attack_strings(markup):
    for allow in (False, True):
        result = clean(markup, allow_remote=allow)
        lowered = result.html.lower()
        assert "javascript:" not in lowered
        assert "vbscript" not in lowered
        assert "<script" not in lowered
        assert not re.search(r"<[^>]*\son[a-z]+\s*=", lowered), result.html
        assert not re.search(r"position\s*:\s*fixed", lowered)
        assert "expression(" not in lowered
        assert "data:" not in lowered


def test_tracking_pixel_blocked_then_proxied():
    markup = (
        '<p>Hi</p><img src="https://t.example.com/open.gif?id=7" width="1" height="1">'
    )
    blocked = clean(markup)
    assert blocked.has_remote_content
    assert blocked.html == '<p>Hi</p><img width="1" height="1">'
    allowed = clean(markup, allow_remote=True)
    assert not allowed.has_remote_content
    assert allowed.html == (
        '<p>Hi</p><img src="/proxy/?sig=abc&amp;url=https://t.example.com/open.gif?id=7"'
        ' width="1" height="1">'
    )


def test_protocol_relative_image_counts_as_remote():
    result = clean('<img src="//cdn.example.com/a.png">')
    assert result.has_remote_content
    assert "cdn.example.com" not in result.html


def test_relative_urls_are_dropped():
    # They would resolve against the webmail's own origin.
    result = clean('<img src="/logout"><a href="/settings/delete">x</a>')
    assert result.html == "<img><a>x</a>"
    assert not result.has_remote_content


def test_cid_urls_are_rewritten_and_unquoted():
    result = clean('<img src="cid:part1.abc%40example.com">')
    assert result.html == '<img src="/m/42/cid/part1.abc@example.com">'


def test_plain_message_without_remote_content():
    result = clean('<p style="color: red; margin: 0 0 1em">Hello <b>there</b></p>')
    assert result == SanitizedHtml(
        '<p style="color: red; margin: 0 0 1em">Hello <b>there</b></p>', False
    )


def test_mail_layout_survives():
    markup = (
        '<table width="600" cellpadding="0" bgcolor="#ffffff" align="center">'
        '<tr><td style="padding: 10px; text-align: center" colspan="2">'
        '<font face="Arial" color="#333333" size="2">News</font></td></tr></table>'
    )
    assert clean(markup).html == markup.replace("<tr>", "<tbody><tr>").replace(
        "</table>", "</tbody></table>"
    )


def test_empty_input():
    assert clean("") == SanitizedHtml("", False)


def test_policy_version_is_an_int():
    assert isinstance(POLICY_VERSION, int)


def newsletter(size: int) -> str:
    block = (
        '<table width="100%" cellpadding="0" cellspacing="0" style="border-collapse:'
        ' collapse; background-color: #f4f4f4"><tr><td style="padding: 12px 24px;'
        ' font-family: Helvetica, Arial, sans-serif; font-size: 14px; color: #333">'
        '<a href="https://news.example.com/article?id={i}&amp;utm_source=mail"'
        ' style="color: #0066cc; text-decoration: none">Article {i}</a>'
        '<p style="margin: 0 0 8px 0; line-height: 20px">Lorem ipsum dolor sit amet,'
        " consectetur adipiscing elit, sed do eiusmod tempor.</p>"
        '<img src="https://img.example.com/{i}.jpg" width="560" height="200"'
        ' alt="Picture {i}" style="display: block; border: 0"></td></tr></table>\n'
    )
    parts: list[str] = []
    i = 0
    while sum(map(len, parts)) < size:
        parts.append(block.replace("{i}", str(i)))
        i += 1
    return "<html><body>" + "".join(parts) + "</body></html>"


def test_50kb_newsletter_is_fast_enough():
    markup = newsletter(50_000)
    clean(markup)  # warm up
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        result = clean(markup, allow_remote=True)
        timings.append(time.perf_counter() - started)
    assert result.html.count("/proxy/") == markup.count("img.example.com")
    # The architecture notes measured ~54 ms for bleach with CSS on one core;
    # leave room for a loaded CI machine.
    assert min(timings) < 0.5


def test_threads_can_sanitize_at_once():
    """Celery runs a thread pool; html5lib parsers must not be shared."""
    from concurrent.futures import ThreadPoolExecutor

    pages = [newsletter(5_000).replace("Article", f"Page{n} article") for n in range(8)]
    expected = [clean(page).html for page in pages]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda page: clean(page).html, pages * 3))
    assert results == expected * 3


def test_in_message_anchor_links_stay_in_the_pane():
    result = clean('<a href="#part2">Jump</a>')
    assert result.html == '<a href="#part2">Jump</a>'
