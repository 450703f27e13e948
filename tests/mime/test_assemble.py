"""Files written into a built message piece by piece, read back by the email package."""

from __future__ import annotations

import contextlib
import email
import io
import os
from email import policy

from webmail.mime.assemble import FileSource, dot_stuffed, write_message
from webmail.mime.compose import ISO_2022_JP, Outgoing, Recipient, build_message


def _source(name: str, data: bytes, ctype: str = "") -> FileSource:
    return FileSource(name, ctype, lambda: contextlib.closing(io.BytesIO(data)))


def _outgoing(**fields) -> Outgoing:
    values = {
        "sender": Recipient("花子", "hanako@example.jp"),
        "to": (Recipient("", "bob@example.org"),),
        "subject": "資料",
        "text": "資料を送ります。\n.a line starting with a dot\n",
    }
    return Outgoing(**{**values, **fields})


def _written(raw: bytes, files: list[FileSource]) -> bytes:
    out = io.BytesIO()
    write_message(raw, files, out)
    return out.getvalue()


def test_files_come_back_byte_for_byte_with_their_names():
    data = os.urandom(200_003)
    raw = build_message(_outgoing())
    files = [_source("見積書.pdf", data), _source("notes.txt", b"plain\r\n", "")]

    parsed = email.message_from_bytes(_written(raw, files), policy=policy.default)

    assert parsed["Subject"] == "資料"
    assert parsed.get_body(("plain",)).get_content().startswith("資料を送ります。")
    attachments = list(parsed.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["見積書.pdf", "notes.txt"]
    assert attachments[0].get_content() == data
    assert attachments[0].get_content_type() == "application/pdf"
    assert attachments[1].get_content_type() == "text/plain"


def test_a_japanese_name_is_in_rfc_2231_and_in_the_rfc_2047_name():
    raw = build_message(_outgoing())
    written = _written(raw, [_source("議事録.pdf", b"%PDF")])

    assert b"filename*=utf-8''%E8%AD%B0%E4%BA%8B%E9%8C%B2.pdf" in written
    assert b'name="=?utf-8?b?' in written


def test_an_iso_2022_jp_message_keeps_its_encoded_headers_and_body():
    raw = build_message(_outgoing(charset=ISO_2022_JP))
    written = _written(raw, [_source("a.bin", b"\x00\x01")])

    head = raw.partition(b"\r\n\r\n")[0]
    subject = [line for line in head.split(b"\r\n") if line.startswith(b"Subject")]
    assert subject[0] in written
    parsed = email.message_from_bytes(written, policy=policy.default)
    body = parsed.get_body(("plain",))
    assert body.get_content_charset() == ISO_2022_JP
    assert body.get_content().startswith("資料を送ります。")


def test_with_no_files_the_message_is_unchanged():
    raw = build_message(_outgoing())

    assert _written(raw, []) == raw


def test_smtp_data_doubles_leading_dots_and_ends_with_a_dot_line():
    message = b"Subject: x\r\n\r\n.hidden\r\nplain\r\n"

    data = b"".join(dot_stuffed(io.BytesIO(message), block=4))

    assert data == b"Subject: x\r\n\r\n..hidden\r\nplain\r\n.\r\n"


def test_a_hostile_type_from_the_browser_becomes_octet_stream():
    raw = build_message(_outgoing())
    hostile = "text/html\r\nBcc: victim@example.org"

    written = _written(raw, [_source("a.html", b"<p>", hostile)])

    assert b"victim" not in written
    parsed = email.message_from_bytes(written, policy=policy.default)
    [part] = parsed.iter_attachments()
    assert part.get_content_type() == "application/octet-stream"
