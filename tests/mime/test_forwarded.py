"""Attached messages summed up to be read inline."""

from __future__ import annotations

from tests.mime.builders import corpus, message
from webmail.mime.forwarded import MAX_DEPTH, MAX_SHOWN, attached_messages
from webmail.mime.parse import ParsedMessage, parse_message


def render(attached: ParsedMessage) -> dict[str, object]:
    return {"text": attached.text, "files": [a.filename for a in attached.attachments]}


def test_an_attached_message_has_its_headers_text_and_files():
    (summary,) = attached_messages(parse_message(corpus("forwarded.eml")), render)
    assert summary == {
        "part_id": "2",
        "subject": "Lunch on Friday",
        "from": [["Carol Example", "carol@example.org"]],
        "to": [["Alice Example", "alice@example.org"]],
        "cc": [],
        "date": "2024-06-05T18:30:00+02:00",
        "text": "Shall we meet at noon?",
        "files": ["menu.txt"],
        "forwarded": [],
    }


def test_a_message_without_attached_messages_has_none():
    assert attached_messages(parse_message(corpus("signed.eml")), render) == []


def nested(depth: int) -> bytes:
    raw = message([("Subject", b"level 0")], b"innermost")
    for level in range(1, depth + 1):
        n = f"n{level}".encode()
        raw = message(
            [
                ("Subject", f"level {level}".encode()),
                ("Content-Type", b"multipart/mixed; boundary=" + n),
            ],
            b"--" + n + b"\r\nContent-Type: text/plain\r\n\r\nabove\r\n"
            b"--"
            + n
            + b"\r\nContent-Type: message/rfc822\r\n\r\n"
            + raw
            + b"\r\n--"
            + n
            + b"--\r\n",
        )
    return raw


def test_attached_messages_are_shown_nested_to_a_bound():
    summaries = attached_messages(parse_message(nested(MAX_DEPTH + 3)), render)
    depth = 0
    while summaries:
        depth += 1
        (summary,) = summaries
        assert summary["part_id"] == ".".join(["2"] * depth)
        summaries = summary["forwarded"]
    assert depth == MAX_DEPTH


def test_at_most_so_many_attached_messages_are_shown():
    one = b"--m\r\nContent-Type: message/rfc822\r\n\r\nSubject: one\r\n\r\nhi\r\n"
    raw = message(
        [("Content-Type", b"multipart/mixed; boundary=m")],
        one * (MAX_SHOWN + 5) + b"--m--\r\n",
    )
    assert len(attached_messages(parse_message(raw), render)) == MAX_SHOWN
