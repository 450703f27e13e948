"""Selecting, fetching, searching and changing messages on both variants."""

from __future__ import annotations

import base64
import os
from email.message import EmailMessage

import pytest

from tests.imap import message, open_session
from webmail.imap import MessageMissing, OverQuota, SearchText


@pytest.fixture(params=["full", "reduced"])
def user(request):
    return request.getfixturevalue(
        "imap_user" if request.param == "full" else "imap_user_reduced"
    )


@pytest.fixture
def session(user):
    session = open_session(user)
    yield session
    session.logout()


def _fill(session, count: int) -> list[int]:
    return [session.append("INBOX", message(f"Message {i}")) for i in range(count)]


def test_select_and_fetch_summaries(user, session) -> None:
    plain = session.append("INBOX", message("Plain", sender="Bob <bob@example.org>"))
    attached = session.append(
        "INBOX",
        message(
            "=?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?= report",
            attachment=b"%PDF-1.4 " * 50,
            filename="報告.pdf",
            references="<first@example.org> <second@example.org>",
        ),
        flags=["\\Flagged"],
    )
    assert (plain, attached) == (1, 2)
    info = session.select("INBOX")
    assert (info.exists, info.uidnext) == (2, 3)
    assert info.uidvalidity > 0
    assert (info.highestmodseq is not None) == (user.server.variant == "full")

    first, second = session.fetch_summaries([1, 2, 99])
    assert first.uid == 1 and first.envelope.subject == "Plain"
    assert first.envelope.from_ == (("Bob", "bob@example.org"),)
    assert first.envelope.to == (("", "bob@example.org"),)
    assert first.envelope.date is not None and first.envelope.date.utcoffset()
    assert first.internaldate is not None
    assert not first.has_attachments
    assert first.bodystructure.content_type == "text/plain"
    assert first.bodystructure.section == "1"
    assert first.flags == ()

    assert second.envelope.subject == "日本語 report"
    assert second.flags == ("\\Flagged",)
    assert second.references == ("<first@example.org>", "<second@example.org>")
    assert second.envelope.in_reply_to == "<second@example.org>"
    assert second.has_attachments
    tree = second.bodystructure
    assert tree.content_type == "multipart/mixed"
    body, pdf = tree.parts
    assert (body.section, body.content_type, body.charset) == (
        "1",
        "text/plain",
        "utf-8",
    )
    assert (pdf.section, pdf.filename, pdf.encoding) == ("2", "報告.pdf", "base64")
    assert pdf.disposition == "attachment" and pdf.size > 0
    assert (second.modseq is not None) == (user.server.variant == "full")
    assert second.size > first.size

    assert [s.uid for s in session.fetch_summaries("2:*")] == [2]
    assert session.fetch_part(1, "1") == b"Just a line.\r\n"
    assert session.fetch_raw(1).startswith(b"From: Bob <bob@example.org>")
    with pytest.raises(MessageMissing):
        session.fetch_part(42, "1")


def test_search_and_esearch(session) -> None:
    _fill(session, 4)
    session.select("INBOX")
    session.store_flags([2, 4], ["\\Seen"])
    assert session.search_uids("UNSEEN") == [1, 3]
    assert session.search_uids("SUBJECT", "Message 2") == [3]
    assert session.search_uids("SUBJECT", "ない") == []
    assert session.search_uids("SUBJECT", SearchText("(")) == []
    assert session.search_uids("NOT", "(", "SEEN", ")") == [1, 3]
    result = session.esearch("SEEN")
    assert (result.uids, result.count, result.min, result.max) == ((2, 4), 2, 2, 4)
    empty = session.esearch("FLAGGED")
    assert (empty.uids, empty.count, empty.min) == ((), 0, None)


def test_message_ids_are_read_as_written(session) -> None:
    plain = session.append("INBOX", b"Message-ID: <a.1@example.org>\r\n\r\nx\r\n")
    folded = session.append(
        "INBOX", b"Subject: s\r\nMessage-Id:\r\n <b.2@example.org>\r\n\r\nx\r\n"
    )
    without = session.append("INBOX", b"Subject: none\r\n\r\nx\r\n")
    session.select("INBOX")
    assert session.fetch_message_ids([plain, folded, without, 99]) == {
        plain: "<a.1@example.org>",
        folded: "<b.2@example.org>",
        without: None,
    }
    assert session.fetch_message_ids([]) == {}


def test_flags_are_added_and_removed(session) -> None:
    _fill(session, 2)
    session.select("INBOX")
    assert session.store_flags([1, 2], ["\\Seen", "$Label1"]) == frozenset()
    session.store_flags([2], ["\\Seen"], remove=True)
    assert session.fetch_all_flags() == {1: ("\\Seen", "$Label1"), 2: ("$Label1",)}


def test_store_unchangedsince_reports_a_conflict(imap_user, other_device) -> None:
    session = open_session(imap_user)
    try:
        _fill(session, 2)
        session.select("INBOX")
        before = {s.uid: s.modseq for s in session.fetch_summaries([1, 2])}
        phone = other_device(imap_user)
        phone.select_folder("INBOX")
        phone.add_flags([1], [b"\\Deleted"])

        failed = session.store_flags(
            [1, 2], ["\\Seen"], unchanged_since=max(before.values())
        )
        assert failed == {1}
        flags = session.fetch_all_flags()
        assert flags == {1: ("\\Deleted",), 2: ("\\Seen",)}
    finally:
        session.logout()


def test_move_touches_only_the_given_messages(user, session, other_device) -> None:
    _fill(session, 4)
    session.select("INBOX")
    # Another client marked message 4 deleted without expunging it: a move
    # of other messages must not expunge it on the way.
    phone = other_device(user)
    phone.select_folder("INBOX")
    phone.add_flags([4], [b"\\Deleted"])

    assert session.move([2, 3], "Archive") == {2: 1, 3: 2}
    assert session.search_uids("ALL") == [1, 4]
    assert session.fetch_all_flags()[4] == ("\\Deleted",)
    assert session.copy([1], "Archive") == {1: 3}
    session.select("Archive")
    subjects = [s.envelope.subject for s in session.fetch_summaries("1:*")]
    assert subjects == ["Message 1", "Message 2", "Message 0"]
    assert session.fetch_all_flags() == {1: (), 2: (), 3: ()}


def test_expunge_uids_removes_only_those(session) -> None:
    _fill(session, 3)
    session.select("INBOX")
    session.expunge_uids([2])
    assert session.search_uids("ALL") == [1, 3]


def test_append_over_quota_is_over_quota(make_imap_user) -> None:
    user = make_imap_user(quota_mb=1)
    session = open_session(user)
    try:
        assert session.append("INBOX", message("small")) == 1
        quota = session.get_quota()
        assert quota is not None and quota.limit_kb == 1024
        assert quota.used_kb is not None and quota.used_kb >= 0
        with pytest.raises(OverQuota) as caught:
            session.append("INBOX", message("big", "x" * 1_200_000))
        assert not caught.value.retryable
        assert "full" in str(caught.value)
        assert session.select("INBOX").exists == 1
    finally:
        session.logout()


def test_a_large_part_streams_in_bounded_chunks(session) -> None:
    payload = os.urandom(3 * 1024 * 1024)
    uid = session.append("INBOX", message("Big", attachment=payload))
    session.select("INBOX")
    (summary,) = session.fetch_summaries([uid])
    part = summary.bodystructure.parts[1]
    chunk_size = 256 * 1024
    chunks = list(session.stream_part(uid, part.section, chunk_size=chunk_size))
    assert len(chunks) == -(-part.size // chunk_size)
    assert all(len(c) <= chunk_size for c in chunks)
    assert b"".join(chunks) == session.fetch_part(uid, part.section)
    assert base64.b64decode(b"".join(chunks)) == payload
    # The connection is in step after streaming.
    assert session.search_uids("ALL") == [uid]


def test_synchronising_literals_work_without_literal_plus(session) -> None:
    """Servers without LITERAL+ answer "+" before each literal."""
    session._channel.literal_plus = False
    uid = session.append("INBOX", message("Über"), flags=["\\Seen"])
    session.select("INBOX")
    assert session.search_uids("SUBJECT", "Über") == [uid]
    assert session.search_uids("SUBJECT", "Unter") == []


def test_forwarded_message_parts_are_numbered_for_fetching(session) -> None:
    inner = EmailMessage()
    inner["Subject"] = "Inner"
    inner.set_content("inner text\n")
    inner.add_attachment(b"GIF89a", maintype="image", subtype="gif", filename="a.gif")
    outer = EmailMessage()
    outer["Subject"] = "Fwd: Inner"
    outer.set_content("see below\n")
    outer.add_attachment(inner)
    uid = session.append("INBOX", outer.as_bytes())
    session.select("INBOX")
    (summary,) = session.fetch_summaries([uid])
    forwarded = summary.bodystructure.parts[1]
    assert forwarded.content_type == "message/rfc822"
    assert summary.has_attachments
    text, gif = forwarded.parts
    assert (text.section, gif.section, gif.filename) == ("2.1", "2.2", "a.gif")
    assert session.fetch_part(uid, text.section) == b"inner text\r\n"
    assert session.fetch_part(uid, gif.section).strip() == b"R0lGODlh"


def test_compression_carries_large_fetches_intact(user) -> None:
    payload = os.urandom(1024 * 1024)
    plain = open_session(user)
    packed = open_session(user, compress=True)
    try:
        uid = plain.append("INBOX", message("Big", attachment=payload))
        assert packed.compressed == (user.server.variant == "full")
        packed.select("INBOX")
        assert base64.b64decode(packed.fetch_part(uid, "2")) == payload
        plain.select("INBOX")
        assert packed.fetch_raw(uid) == plain.fetch_raw(uid)
    finally:
        plain.logout()
        packed.logout()


@pytest.mark.parametrize("literal_plus", [True, False])
def test_a_message_appended_from_a_file_is_stored_whole(
    session, tmp_path, literal_plus
) -> None:
    attached = message("From a file", attachment=os.urandom(700_000))
    raw = attached.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    path = tmp_path / "message.eml"
    path.write_bytes(raw)
    session._channel.literal_plus = literal_plus

    with path.open("rb") as file:
        uid = session.append("INBOX", file, flags=["\\Seen"])

    session.select("INBOX")
    assert session.fetch_part(uid, "") == raw
    # The connection is in step after the literal.
    assert session.search_uids("ALL") == [uid]
