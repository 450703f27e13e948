"""Plain text rendering, HTML-to-text, format=flowed and file names."""

from __future__ import annotations

import pytest

from webmail.mime.filenames import safe_filename
from webmail.mime.text import html_to_text, text_to_html, unflow


def test_text_is_escaped_and_links_are_made():
    html = text_to_html("<b>Hi</b> & see https://example.com/a?b=1&c=2.")
    assert html == (
        '<div class="plain-text">&lt;b&gt;Hi&lt;/b&gt; &amp; see '
        '<a href="https://example.com/a?b=1&amp;c=2" target="_blank"'
        ' rel="noopener noreferrer">https://example.com/a?b=1&amp;c=2</a>.</div>'
    )


def test_mailto_and_parenthesised_links():
    html = text_to_html("(mailto:a@example.org) https://en.example.org/wiki/X_(y)")
    assert 'href="mailto:a@example.org"' in html
    assert 'href="https://en.example.org/wiki/X_(y)"' in html


def test_javascript_is_never_linked():
    html = text_to_html('javascript:alert(1) "onmouseover=alert(1)')
    assert "<a" not in html
    assert "&quot;" not in html  # quotes in text need no escaping
    assert '"onmouseover' in html


def test_url_cannot_break_out_of_the_attribute():
    html = text_to_html('https://example.com/"onmouseover="alert(1)')
    assert 'href="https://example.com/"' in html
    assert "onmouseover=" in html
    assert 'onmouseover="alert' not in html.split("</a>")[0]


def test_quotes_fold_into_nested_blockquotes():
    html = text_to_html("Sure.\n> Can you come?\n>> Party at 8\n> Yes?\nBye")
    assert html == (
        '<div class="plain-text">Sure.<br>\n'
        '<blockquote class="quoted">Can you come?<br>\n'
        '<blockquote class="quoted">Party at 8<br>\n'
        "</blockquote>Yes?<br>\n"
        "</blockquote>Bye</div>"
    )


def test_line_breaks_and_indentation_are_kept():
    html = text_to_html("a\n    indented\n\nb")
    assert html == (
        '<div class="plain-text">a<br>\n \u00a0 \u00a0indented<br>\n<br>\nb</div>'
    )


def test_japanese_text_and_fullwidth_punctuation_end_urls():
    html = text_to_html("詳細はhttps://example.jp/x。よろしく")
    assert 'href="https://example.jp/x"' in html
    assert "。よろしく" in html


def test_html_to_text_skips_scripts_and_styles():
    text = html_to_text(
        "<style>p{color:red}</style><p>One&amp;two</p><script>x()</script><p>Three</p>"
    )
    assert text == "One&two\nThree"


def test_unflow_signature_and_stuffing():
    flowed = "Hello \r\nworld\r\n From a stuffed line\r\n-- \r\nSig"
    assert unflow(flowed) == "Hello world\nFrom a stuffed line\n-- \nSig"


def test_unflow_counts_quote_markers_written_with_spaces():
    """``> > `` is two levels of quoting; the markers never end up in the text."""
    flowed = (
        "> > The first message was wrapped \r\n"
        "> > by its client.\r\n"
        "> >\r\n"
        ">> Written without \r\n"
        "> > spaces too.\r\n"
        "> The answer was \r\n"
        "> wrapped as well.\r\n"
        "Top.\r\n"
    )
    text = unflow(flowed)
    assert text == (
        ">> The first message was wrapped by its client.\n"
        ">> \n"
        ">> Written without spaces too.\n"
        "> The answer was wrapped as well.\n"
        "Top.\n"
    )
    html = text_to_html(text)
    assert "&gt;" not in html
    assert html.count('<blockquote class="quoted">') == 2
    assert "The first message was wrapped by its client." in html


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("photo\u2066gpj.\u2069exe", "photogpj.exe"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\report.pdf", "report.pdf"),
        ("見積書_2024年度.pdf", "見積書_2024年度.pdf"),
        ("ﾃｽﾄ.txt", "ﾃｽﾄ.txt"),
        ("bad\x00name\r\n.txt", "badname.txt"),
        ("...", "attachment"),
        ("", "attachment"),
        (".bashrc", "bashrc"),
        ("CON.txt", "_CON.txt"),
        ('a<b>c:"d|e?.txt', "a_b_c__d_e_.txt"),
        ("zero\u200bwidth.pdf", "zerowidth.pdf"),
    ],
)
def test_safe_filename(name, expected):
    assert safe_filename(name) == expected


def test_safe_filename_keeps_extension_when_shortening():
    name = "あ" * 300 + ".pdf"
    safe = safe_filename(name)
    assert len(safe) == 200
    assert safe.endswith(".pdf")
