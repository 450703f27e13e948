"""Building outgoing mail: what is built is parsed back and read for meaning."""

from __future__ import annotations

import email
from datetime import datetime, timedelta, timezone
from email import policy

import pytest

from webmail.mime.compose import (
    ISO_2022_JP,
    ComposeError,
    FileToSend,
    Outgoing,
    Recipient,
    build_message,
    envelope_recipients,
    parse_recipients,
)
from webmail.mime.headers import Address
from webmail.mime.parse import parse_message

TARO = Recipient("山田 太郎", "taro@example.jp")
JST = timezone(timedelta(hours=9))


def _headers(data: bytes) -> email.message.Message:
    return email.message_from_bytes(data, policy=policy.compat32)


def test_it_builds_a_plain_japanese_message():
    outgoing = Outgoing(
        sender=TARO,
        to=(Recipient("花子", "hanako@example.jp"),),
        cc=(Recipient("", "bob@example.org"),),
        subject="来週の会議について、資料を添付します【第二版】",
        text="花子さん\n\nよろしくお願いします。\n",
        date=datetime(2026, 11, 28, 10, 0, tzinfo=JST),
    )
    data = build_message(outgoing)
    assert data.isascii()  # 7-bit clean: no 8BITMIME needed anywhere
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    parsed = parse_message(data)
    assert parsed.subject == "来週の会議について、資料を添付します【第二版】"
    assert parsed.from_ == (Address("山田 太郎", "taro@example.jp"),)
    assert parsed.to == (Address("花子", "hanako@example.jp"),)
    assert parsed.cc == (Address("", "bob@example.org"),)
    assert parsed.text == "花子さん\n\nよろしくお願いします。\n"
    assert parsed.date == datetime(2026, 11, 28, 10, 0, tzinfo=JST)
    assert parsed.message_id and parsed.message_id.endswith("@example.jp>")
    assert all(len(line) <= 78 for line in data.split(b"\r\n"))


def test_bcc_goes_in_the_envelope_not_in_the_headers():
    outgoing = Outgoing(
        sender=TARO,
        to=(Recipient("", "a@example.org"),),
        cc=(Recipient("", "b@example.org"),),
        bcc=(Recipient("Secret", "hidden@example.org"), Recipient("", "a@example.org")),
        subject="x",
        text="y",
    )
    data = build_message(outgoing)
    assert b"hidden" not in data
    assert "Bcc" not in _headers(data)
    assert envelope_recipients(outgoing) == [
        "a@example.org",
        "b@example.org",
        "hidden@example.org",
    ]


def test_iso_2022_jp_on_request():
    outgoing = Outgoing(
        sender=TARO,
        to=(Recipient("鈴木", "suzuki@example.jp"),),
        subject="お見積もりの件",
        text="いつもお世話になっております。\n",
        charset=ISO_2022_JP,
    )
    data = build_message(outgoing)
    headers = _headers(data)
    assert headers["Subject"].lower().startswith("=?iso-2022-jp?b?")
    assert "=?iso-2022-jp?" in headers["From"].lower()
    assert headers.get_content_charset() == "iso-2022-jp"
    assert headers["Content-Transfer-Encoding"] == "7bit"
    assert b"\x1b$B" in data  # JIS escape sequences in the body itself
    parsed = parse_message(data)
    assert parsed.subject == "お見積もりの件"
    assert parsed.from_ == (Address("山田 太郎", "taro@example.jp"),)
    assert parsed.to == (Address("鈴木", "suzuki@example.jp"),)
    assert parsed.text == "いつもお世話になっております。\n"


def test_text_iso_2022_jp_cannot_carry_goes_in_utf_8():
    outgoing = Outgoing(
        sender=TARO, subject="①の件", text="丸数字①と絵文字🙂\n", charset=ISO_2022_JP
    )
    data = build_message(outgoing)
    assert _headers(data).get_content_charset() == "utf-8"
    parsed = parse_message(data)
    assert parsed.subject == "①の件"
    assert parsed.text == "丸数字①と絵文字🙂\n"


def test_html_goes_with_a_plain_text_made_from_it():
    outgoing = Outgoing(
        sender=TARO,
        subject="HTML",
        text="ignored",
        html="<p>こんにちは <b>世界</b></p><ul><li>一</li><li>二</li></ul>",
    )
    data = build_message(outgoing)
    assert _headers(data).get_content_type() == "multipart/alternative"
    parsed = parse_message(data)
    assert parsed.html is not None and "<b>世界</b>" in parsed.html
    assert parsed.text is not None
    assert "こんにちは 世界" in parsed.text and "- 一\n- 二" in parsed.text
    assert "ignored" not in parsed.text


def test_attachments_keep_their_names_and_bytes():
    pdf = bytes(range(256)) * 40
    files = (
        FileToSend("請求書 2026年11月分【株式会社サンプル御中】.pdf", pdf),
        FileToSend("notes.txt", "メモ\n".encode(), "text/plain"),
    )
    outgoing = Outgoing(sender=TARO, subject="添付", text="本文\n", files=files)
    data = build_message(outgoing)
    message = email.message_from_bytes(data, policy=policy.default)
    parts = list(message.iter_attachments())
    assert [p.get_filename() for p in parts] == [f.filename for f in files]
    assert parts[0].get_content() == pdf
    assert parts[0].get_content_type() == "application/pdf"
    # RFC 2231 for standard readers, RFC 2047 name= for older Japanese ones.
    assert b"filename*0*=utf-8''" in data
    assert b'name="=?utf-8?b?' in data
    parsed = parse_message(data)
    assert parsed.text == "本文\n"
    names = [(a.filename, a.content_type, a.size) for a in parsed.attachments]
    assert names == [
        (files[0].filename, "application/pdf", len(pdf)),
        ("notes.txt", "text/plain", len("メモ\n".encode())),
    ]


def test_a_reply_carries_its_threading_headers():
    outgoing = Outgoing(
        sender=TARO,
        to=(Recipient("", "a@example.org"),),
        subject="Re: 予定",
        text="> 元の文\n返事\n",
        in_reply_to="<two@example.org>",
        references=("<one@example.org>", "<two@example.org>"),
    )
    parsed = parse_message(build_message(outgoing))
    assert parsed.in_reply_to == "<two@example.org>"
    assert parsed.references == ("<one@example.org>", "<two@example.org>")
    assert parsed.subject == "Re: 予定"


def test_typed_addresses_are_read_like_a_mail_program():
    typed = '"Doe, Jane" <jane@example.org>; 花子 <hanako@example.jp>,bob@example.org, '
    assert parse_recipients(typed) == (
        Recipient("Doe, Jane", "jane@example.org"),
        Recipient("花子", "hanako@example.jp"),
        Recipient("", "bob@example.org"),
    )
    assert parse_recipients("  ") == ()


@pytest.mark.parametrize(
    "typed", ["bob", "bob@", "@example.org", "a@b@example.org", "x y@example.org"]
)
def test_an_address_that_does_not_parse_is_named(typed):
    with pytest.raises(ComposeError) as error:
        parse_recipients(f"ok@example.org, {typed}")
    assert str(error.value) == typed


# Values that the quick writer of plain messages copies, and ones it leaves
# to the email package (quoting, RFC 2047, folding, a lone CR).
_NAMES = ("", "Carol", "Carol Smith", "Dr Who!", "John Q. Public", "Smith, J", "山田")
_ADDRESSES = ("carol@example.org", "c.o+tag@ex.org", '"q q"@example.org', "bü@ex.org")
_SUBJECTS = (
    "",
    "Re: plan, take 1",
    "x" * 69,
    "x" * 70,
    "a  b",
    "=?utf-8?q?x?=",
    "件名",
)
_TEXTS = (
    "",
    "Hello",
    "line\r\nline\n",
    "lone\rcr",
    "x" * 78,
    "x" * 79 + "\nshort",
    "日本語のテキスト\n" * 20,
    "Ünïcode " * 30,
    "From here\n.\n\ttab  \n",
)
_REFERENCES = (
    (),
    ("<a@b.example>", "<c@d.example>"),
    tuple(f"<{n:030}@e>" for n in range(3)),
)


def _every_kind() -> list[Outgoing]:
    found = []
    for n, text in enumerate(_TEXTS * 20):
        pick = n // len(_TEXTS)
        name, address = _NAMES[n % len(_NAMES)], _ADDRESSES[pick % len(_ADDRESSES)]
        found.append(
            Outgoing(
                sender=Recipient(_NAMES[pick % len(_NAMES)], "me@example.org"),
                to=(Recipient(name, address),) * (1 + n % 2),
                cc=(Recipient("", "cc@example.org"),) if n % 3 == 0 else (),
                reply_to=(Recipient(name, "r@example.org"),) if n % 4 == 0 else (),
                subject=_SUBJECTS[n % len(_SUBJECTS)],
                text=text,
                in_reply_to="<a@b.example>" if n % 5 == 0 else None,
                references=_REFERENCES[n % len(_REFERENCES)],
                message_id=f"<{n}.x@example.org>",
                date=datetime(2026, 11, 28, 10, n % 60, tzinfo=JST),
            )
        )
    return found


def test_a_plain_message_is_the_same_whichever_way_it_is_written():
    from webmail.mime.compose import _plain_message, build_email

    written = 0
    for outgoing in _every_kind():
        quick = _plain_message(outgoing)
        if quick is not None:
            written += 1
            assert quick == build_email(outgoing).as_bytes(), outgoing
    assert written >= 10, written  # the simple ones do take the quick way
