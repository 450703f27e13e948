"""Whole messages parsed into what a reader sees."""

from __future__ import annotations

import base64
import random
import time

import pytest

from tests.mime.builders import CORPUS, b_word, corpus, jis, message, tnef
from webmail.mime.headers import Address
from webmail.mime.parse import parse_message
from webmail.mime.preview import preview_text


def names(parsed):
    return [a.filename for a in parsed.attachments]


def test_iso2022jp_subject_sender_and_body():
    subject = "【重要】①②㈱ﾃｽﾄのご案内"
    body = "山田様\n\n㈱サンプルの①②③についてﾊﾝｶｸもOKです。\n"
    raw = message(
        [
            (
                "From",
                b_word("ISO-2022-JP", jis("株式会社サンプル")) + b" <info@example.jp>",
            ),
            ("To", b"yamada@example.jp"),
            ("Subject", b_word("ISO-2022-JP", jis(subject))),
            ("Date", b"Mon, 3 Jun 2024 10:00:00 +0900"),
            ("MIME-Version", b"1.0"),
            ("Content-Type", b"text/plain; charset=ISO-2022-JP"),
            ("Content-Transfer-Encoding", b"7bit"),
        ],
        jis(body.replace("\n", "\r\n")),
    )
    parsed = parse_message(raw)
    assert parsed.subject == subject
    assert parsed.from_ == (Address("株式会社サンプル", "info@example.jp"),)
    assert parsed.text == body
    assert "\ufffd" not in parsed.text


def test_shift_jis_body_and_raw_header():
    body = "お世話になっております。①の件、了解しました。"
    raw = message(
        [
            ("From", "佐藤 <sato@example.jp>".encode("cp932")),
            ("Subject", "Re: ①の件".encode("cp932")),
            ("Content-Type", b"text/plain; charset=Shift_JIS"),
            ("Content-Transfer-Encoding", b"8bit"),
        ],
        body.encode("cp932"),
    )
    parsed = parse_message(raw)
    assert parsed.subject == "Re: ①の件"
    assert parsed.from_ == (Address("佐藤", "sato@example.jp"),)
    assert parsed.text == body


def test_euc_jp_base64_body():
    body = "本日の会議は中止です。"
    raw = message(
        [
            ("Subject", b"euc"),
            ("Content-Type", b'text/plain; charset="EUC-JP"'),
            ("Content-Transfer-Encoding", b"base64"),
        ],
        base64.encodebytes(body.encode("euc_jp")),
    )
    assert parse_message(raw).text == body


def test_body_with_wrong_charset_label():
    parsed = parse_message(corpus("wrong_charset_latin1.eml"))
    assert parsed.subject == "Grüße aus Köln"
    assert parsed.text == "Schöne Grüße, café €5.\n"


def test_iso2022jp_label_on_shift_jis_body():
    body = "見積もりを送付いたします①"
    raw = message(
        [("Content-Type", b"text/plain; charset=iso-2022-jp")], body.encode("cp932")
    )
    assert parse_message(raw).text == body


def test_no_charset_on_8bit_japanese():
    body = "文字コードの指定がないメールです。"
    for codec in ("utf-8", "cp932", "euc_jp"):
        raw = message([("Content-Type", b"text/plain")], body.encode(codec))
        assert parse_message(raw).text == body, codec


def test_html_meta_charset_used_when_header_has_none():
    html = '<meta charset="shift_jis"><p>日本語のHTML</p>'.encode("cp932")
    raw = message([("Content-Type", b"text/html")], html)
    assert "日本語のHTML" in (parse_message(raw).html or "")


def test_split_encoded_word_subject():
    parsed = parse_message(corpus("split_encoded_word.eml"))
    assert parsed.subject == "会議の議事録について"
    assert parsed.from_ == (Address("山田 太郎", "taro@example.jp"),)


def test_rfc2231_and_rfc2047_attachment_names():
    parsed = parse_message(corpus("rfc2231_filename.eml"))
    assert names(parsed) == ["見積書_2024年度.pdf", "ロゴ画像.png"]
    assert [a.part_id for a in parsed.attachments] == ["2", "3"]
    assert parsed.attachments[0].content_type == "application/pdf"
    assert parsed.attachments[0].size == len(
        base64.b64decode("JVBERi0xLjQKJcOkw7zDtsOfCg==")
    )


def test_raw_utf8_headers_and_filename():
    raw = (
        "From: 鈴木一郎 <suzuki@example.jp>\r\n"
        "To: 田中 <tanaka@example.jp>, 高橋 <takahashi@example.jp>\r\n"
        "Subject: 来週の予定\r\n"
        "Content-Type: multipart/mixed; boundary=zz\r\n\r\n"
        "--zz\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n本文です。\r\n"
        "--zz\r\nContent-Type: application/pdf\r\n"
        'Content-Disposition: attachment; filename="予定表.pdf"\r\n\r\n'
        "%PDF\r\n--zz--\r\n"
    ).encode()
    parsed = parse_message(raw)
    assert parsed.subject == "来週の予定"
    assert parsed.from_ == (Address("鈴木一郎", "suzuki@example.jp"),)
    assert [a.name for a in parsed.to] == ["田中", "高橋"]
    assert parsed.text == "本文です。"
    assert names(parsed) == ["予定表.pdf"]


def test_broken_boundary_still_shows_text_and_attachment():
    parsed = parse_message(corpus("broken_boundary.eml"))
    assert parsed.text == "The text a reader should still see."
    assert names(parsed) == ["report.zip"]


def test_missing_end_boundary():
    parsed = parse_message(corpus("missing_end_boundary.eml"))
    assert parsed.text == "Hello before the cut."
    assert names(parsed) == ["big.pdf"]
    assert "missing end boundary" in parsed.defects


def test_deep_nesting_is_bounded():
    depth = 200
    head = b"".join(
        b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i, i + 1)
        for i in range(depth)
    )
    tail = b"".join(b"\r\n--b%d--" % i for i in reversed(range(depth + 1)))
    raw = message(
        [("Subject", b"deep"), ("Content-Type", b"multipart/mixed; boundary=b0")],
        b"--b0\r\nContent-Type: text/plain\r\n\r\nTop text\r\n"
        + head
        + b"--b200\r\nContent-Type: text/plain\r\n\r\nbottom"
        + tail,
    )
    started = time.perf_counter()
    parsed = parse_message(raw)
    assert time.perf_counter() - started < 2
    assert parsed.subject == "deep"
    assert parsed.text == "Top text"
    assert "nesting too deep" in parsed.defects


def test_deeply_nested_forwards_are_bounded():
    raw = b"Subject: leaf\r\n\r\nleaf text"
    for level in range(200):
        raw = message(
            [("Subject", b"level %d" % level), ("Content-Type", b"message/rfc822")], raw
        )
    parsed = parse_message(raw)
    assert parsed.subject == "level 199"
    assert parsed.forwarded[0].subject == "level 198"


def test_forwarded_message_is_nested_with_its_own_parts():
    parsed = parse_message(corpus("forwarded.eml"))
    assert parsed.text == "See below."
    assert names(parsed) == ["Lunch on Friday.eml"]
    assert parsed.attachments[0].part_id == "2"
    (inner,) = parsed.forwarded
    assert inner.part_id == "2"
    assert inner.subject == "Lunch on Friday"
    assert inner.from_ == (Address("Carol Example", "carol@example.org"),)
    assert inner.text == "Shall we meet at noon?"
    assert [(a.part_id, a.filename) for a in inner.attachments] == [("2.2", "menu.txt")]


def test_related_html_with_cid_image():
    parsed = parse_message(corpus("related_cid.eml"))
    assert parsed.text == "Our logo is attached."
    assert parsed.html is not None
    assert 'src="cid:logo@example.com"' in parsed.html
    assert parsed.part_for_cid("<logo@example.com>") == "2.2"
    (logo,) = parsed.attachments
    assert (logo.filename, logo.disposition, logo.content_id) == (
        "logo.png",
        "inline",
        "logo@example.com",
    )


def test_tnef_files_are_listed_and_body_shown():
    blob = tnef(
        [("report.pdf", b"%PDF-1.4 data"), ("notes.txt", b"hello")], "Body from Outlook"
    )
    raw = message(
        [("Subject", b"tnef"), ("Content-Type", b"multipart/mixed; boundary=t")],
        b"--t\r\nContent-Type: application/ms-tnef; name=winmail.dat\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(blob)
        + b"--t--\r\n",
    )
    parsed = parse_message(raw)
    assert parsed.text == "Body from Outlook"
    assert names(parsed) == ["report.pdf", "notes.txt"]
    assert [(a.part_id, a.tnef_index, a.size) for a in parsed.attachments] == [
        ("1", 0, 13),
        ("1", 1, 5),
    ]


def test_corrupt_tnef_is_listed_as_winmail_dat():
    raw = message(
        [("Content-Type", b"application/ms-tnef; name=winmail.dat")], b"not tnef"
    )
    assert names(parse_message(raw)) == ["winmail.dat"]


def test_calendar_invite_shows_text_and_lists_the_invitation():
    parsed = parse_message(corpus("calendar_invite.eml"))
    assert parsed.text == "You have been invited to: Planning meeting"
    assert parsed.html == "<p>You have been invited to: <b>Planning meeting</b></p>"
    assert [(a.part_id, a.filename, a.content_type) for a in parsed.attachments] == [
        ("1.3", "part-1.3.ics", "text/calendar"),
        ("2", "invite.ics", "application/ics"),
    ]


def test_calendar_only_message_gets_a_summary():
    parsed = parse_message(corpus("calendar_only.eml"))
    assert parsed.text == (
        "Event: Daily standup\nStarts: 20240611T090000Z\nWhere: Video call"
    )


def test_signed_message_shows_text_and_lists_signature():
    parsed = parse_message(corpus("signed.eml"))
    assert parsed.text == "This note is signed."
    assert names(parsed) == ["signature.asc"]
    assert parsed.attachments[0].content_type == "application/pgp-signature"


def test_empty_and_headers_only_messages():
    empty = parse_message(corpus("empty.eml"))
    assert (empty.subject, empty.text, empty.attachments) == ("", "", ())
    headers_only = parse_message(corpus("headers_only.eml"))
    assert headers_only.subject == "headers only"
    assert headers_only.from_ == (Address("", "nobody@example.com"),)


def test_huge_message_parses_quickly():
    attachment = base64.encodebytes(random.Random(1).randbytes(6_000_000))
    raw = message(
        [("Subject", b"big"), ("Content-Type", b"multipart/mixed; boundary=big")],
        b"--big\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n"
        b"--big\r\nContent-Type: application/octet-stream; name=data.bin\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + attachment + b"--big--\r\n",
    )
    assert len(raw) > 8_000_000
    started = time.perf_counter()
    parsed = parse_message(raw)
    assert time.perf_counter() - started < 3
    assert parsed.text == "see attachment"
    assert [(a.filename, a.size) for a in parsed.attachments] == [
        ("data.bin", 6_000_000)
    ]


def test_format_flowed_with_delsp():
    body = (
        b"This paragraph was wrapped by the sender's client and should be one"
        b" line.\r\n> Quoted text that was also \r\n> wrapped.\r\n\r\n-- \r\nSig\r\n"
    ).replace(b"should be one line.", b"should be one \r\nline.")
    raw = message(
        [("Content-Type", b"text/plain; charset=utf-8; format=flowed; delsp=no")], body
    )
    assert parse_message(raw).text == (
        "This paragraph was wrapped by the sender's client and should be one line.\n"
        "> Quoted text that was also wrapped.\n\n-- \nSig\n"
    )
    delsp = message(
        [("Content-Type", b"text/plain; format=flowed; delsp=yes")],
        "長い日本語の \r\n文章です。\r\n".encode(),
    )
    assert parse_message(delsp).text == "長い日本語の文章です。\n"


def test_section_numbers_match_imap():
    raw = message(
        [("Content-Type", b"multipart/mixed; boundary=a")],
        b"--a\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
        b"--b\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--b--\r\n"
        b"--a\r\nContent-Type: image/gif; name=a.gif\r\n\r\nGIF\r\n"
        b"--a\r\nContent-Type: message/rfc822\r\n\r\n"
        b"Subject: inner\r\nContent-Type: image/png; name=b.png\r\n\r\n"
        b"PNG\r\n--a--\r\n",
    )
    parsed = parse_message(raw)
    assert (parsed.text, parsed.html) == ("plain", "<p>html</p>")
    assert [(a.part_id, a.filename) for a in parsed.attachments] == [
        ("2", "a.gif"),
        ("3", "inner.eml"),
    ]
    assert [(a.part_id, a.filename) for a in parsed.forwarded[0].attachments] == [
        ("3.1", "b.png")
    ]


def test_mixed_inline_parts_are_joined_in_order():
    raw = message(
        [("Content-Type", b"multipart/mixed; boundary=m")],
        b"--m\r\nContent-Type: text/plain\r\n\r\nfirst\r\n"
        b"--m\r\nContent-Type: text/html\r\n\r\n<p>second</p>\r\n"
        b"--m\r\nContent-Type: text/plain\r\n\r\nthird > 2\r\n--m--\r\n",
    )
    parsed = parse_message(raw)
    assert parsed.text == "first\n\nsecond\n\nthird > 2"
    assert parsed.html is not None
    assert "<p>second</p>" in parsed.html
    assert "third &gt; 2" in parsed.html


EPILOGUE = b"Sent through the list. Unsubscribe: https://lists.example.org/u\r\n"


@pytest.mark.parametrize(
    "close",
    [
        b"--e--\r\n",
        b"--e-- \t\r\n\r\n",
        # A list server that appends its footer to a message whose last line
        # had no line break glues it to the closing delimiter (RFC 2046: a
        # delimiter need only begin the line).
        b"--e--",
        b"--e--\t",
    ],
)
@pytest.mark.parametrize("last", ["text/plain", "text/html"])
def test_text_after_the_closing_boundary_is_not_shown(close, last):
    first = "text/html" if last == "text/plain" else "text/plain"
    inner = (
        b'Content-Type: multipart/alternative; boundary="e"\r\n\r\n'
        b"--e\r\nContent-Type: " + first.encode() + b"\r\n\r\nThe message.\r\n"
        b"--e\r\nContent-Type: "
        + last.encode()
        + b"\r\n\r\nThe message.\r\n"
        + close
        + EPILOGUE
    )
    for raw in (
        b"Subject: list mail\r\n" + inner,
        message(
            [("Content-Type", b'multipart/mixed; boundary="o"')],
            b"--o\r\n" + inner + b"--o\r\nContent-Type: image/gif\r\n\r\nGIF\r\n"
            b"--o--" + EPILOGUE,
        ),
    ):
        parsed = parse_message(raw)
        assert parsed.text == "The message."
        assert parsed.html == "The message."
        assert "missing end boundary" not in parsed.defects
        assert "Unsubscribe" not in preview_text(parsed)


def test_a_body_too_long_to_show_is_cut_and_says_so(monkeypatch):
    monkeypatch.setattr("webmail.mime.parse.MAX_BODY_CHARS", 1000)
    html = b"<p>" + b"news " * 1000 + b"</p>"
    parsed = parse_message(message([("Content-Type", b"text/html")], html))
    assert parsed.truncated
    assert parsed.html == html[:1000].decode()
    short = parse_message(message([("Content-Type", b"text/html")], html[:900]))
    assert not short.truncated
    # A cut inside an attached message is that message's own.
    raw = message(
        [("Content-Type", b"multipart/mixed; boundary=t")],
        b"--t\r\nContent-Type: text/plain\r\n\r\nshort\r\n"
        b"--t\r\nContent-Type: message/rfc822\r\n\r\n"
        + message([("Content-Type", b"text/html")], html)
        + b"\r\n--t--\r\n",
    )
    outer = parse_message(raw)
    assert not outer.truncated
    assert outer.forwarded[0].truncated


def test_headers_of_a_reply():
    raw = message(
        [
            ("Message-ID", b"<reply@example.org>"),
            ("In-Reply-To", b"<orig@example.org> (comment)"),
            ("References", b"<a@example.org>\r\n <orig@example.org>"),
            ("Cc", b"Ann <ann@example.org>"),
            ("Reply-To", b"list@example.org"),
        ],
        b"hi",
    )
    parsed = parse_message(raw)
    assert parsed.message_id == "<reply@example.org>"
    assert parsed.in_reply_to == "<orig@example.org>"
    assert parsed.references == ("<a@example.org>", "<orig@example.org>")
    assert parsed.cc == (Address("Ann", "ann@example.org"),)
    assert parsed.reply_to == (Address("", "list@example.org"),)


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.glob("*.eml")))
def test_truncated_and_mangled_corpus_never_raises(name):
    data = corpus(name)
    rng = random.Random(name)
    samples = [data[:cut] for cut in range(0, len(data), max(1, len(data) // 40))]
    for _ in range(30):
        mangled = bytearray(data)
        for _ in range(10):
            if mangled:
                mangled[rng.randrange(len(mangled))] = rng.randrange(256)
        samples.append(bytes(mangled))
    for sample in samples:
        parsed = parse_message(sample)
        # The catch-all fallback must not be what kept these alive.
        assert not [d for d in parsed.defects if d.startswith("parser error")]


def test_preview_uses_text_and_skips_quotes():
    raw = message(
        [("Content-Type", b"text/plain")],
        b"Sounds good,\r\n  see you   there.\r\n\r\n> old quoted text\r\n",
    )
    assert preview_text(parse_message(raw)) == "Sounds good, see you there."


def test_preview_from_html_and_length_limit():
    html = "<style>p{}</style><p>" + "word " * 100 + "</p>"
    raw = message([("Content-Type", b"text/html")], html.encode())
    preview = preview_text(parse_message(raw))
    assert preview.startswith("word word")
    assert "p{}" not in preview
    assert len(preview) <= 201
    assert preview.endswith("\u2026")


def test_forwarded_message_keeps_its_declared_file_name():
    raw = message(
        [("Content-Type", b"multipart/mixed; boundary=f")],
        b"--f\r\nContent-Type: message/rfc822\r\n"
        b'Content-Disposition: attachment; filename="original.eml"\r\n\r\n'
        b"Subject: inner\r\n\r\nbody\r\n--f--\r\n",
    )
    parsed = parse_message(raw)
    assert names(parsed) == ["original.eml"]
    assert parsed.forwarded[0].text == "body"


def test_part_count_is_bounded_across_forwarded_messages():
    inner = message(
        [("Content-Type", b"multipart/mixed; boundary=p")],
        b"".join(b"--p\r\nContent-Type: image/gif\r\n\r\nGIF\r\n" for _ in range(600))
        + b"--p--\r\n",
    )
    outer = message(
        [("Content-Type", b"multipart/mixed; boundary=o")],
        b"".join(
            b"--o\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"\r\n"
            for _ in range(5)
        )
        + b"--o--\r\n",
    )
    parsed = parse_message(outer)
    listed = sum(len(m.attachments) for m in parsed.forwarded)
    assert 900 <= listed <= 1000
    assert "too many parts" in parsed.defects
