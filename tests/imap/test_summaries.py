"""Summaries: the fast reading gives what imapclient's did; pieces stay in step.

fetch_summaries reads ENVELOPE and INTERNALDATE itself (envelopes.summary_fetch)
and asks for the next batch before the caller has the last one
(summary_batches). Both are compared here with the plain ways on a real
Dovecot's answers.
"""

from __future__ import annotations

import contextlib
import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from imapclient.response_parser import _convert_ENVELOPE, _convert_INTERNALDATE

from tests.imap import message, open_session
from tests.imap.test_fetchparse import VARIED, _strict
from webmail.imap import envelopes, fetchparse, parse
from webmail.mailgen import generate_maildir, index_mailbox


@pytest.fixture(params=["full", "reduced"])
def user(request):
    return request.getfixturevalue(
        "imap_user" if request.param == "full" else "imap_user_reduced"
    )


def _imapclient_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every FETCH go to imapclient's parser and its conversions."""

    def refuse(*_args, **_kwargs):
        raise fetchparse.Unsupported("imapclient's turn")

    monkeypatch.setattr(fetchparse, "parse_fetch", refuse)


def _dated(date: str) -> bytes:
    return (
        f"From: Dates <dates@example.org>\r\nSubject: {date}\r\nDate: {date}\r\n\r\n"
        "A date to read.\r\n"
    ).encode()


DATES = [
    "Fri, 26 Nov 2021 13:12:15 -0000",
    "26 Nov 2021 13:12:15 +2359",
    "Fri, 31 Nov 2021 13:12:15 +0100",  # no such day
    "Fri,  6 Nov 2021 13:12:15 +0530",
    "Sat, 27 Nov 2021 01:02:05 +0200 (CEST)",
    "Sat, 27 Nov 21 01:02 EST",
]
ARRIVALS = [
    datetime(2021, 11, 5, 18, 12, 15, tzinfo=timezone(timedelta(hours=-7))),
    datetime(2026, 1, 31, 23, 59, 59, tzinfo=timezone(timedelta(minutes=345))),
    datetime(1999, 12, 31, 0, 0, tzinfo=UTC),
]


def test_summaries_are_those_imapclient_reads(user, monkeypatch) -> None:
    session = open_session(user)
    try:
        for raw, flags in VARIED:
            session.append("INBOX", raw, flags=flags)
        for date, arrival in zip(DATES, [*ARRIVALS, *ARRIVALS], strict=True):
            session.append("INBOX", _dated(date), date=arrival)
        session.select("INBOX")
        fast = session.fetch_summaries("1:*")
        with monkeypatch.context() as patched:
            _imapclient_only(patched)
            before = session.fetch_summaries("1:*")
    finally:
        session.logout()
    assert [_strict(s) for s in fast] == [_strict(s) for s in before]
    assert len(fast) == len(VARIED) + len(DATES)
    dated = {s.envelope.subject: s for s in fast[len(VARIED) :]}
    assert dated[DATES[0]].envelope.date == datetime(
        2021, 11, 26, 13, 12, 15, tzinfo=UTC
    )
    assert dated[DATES[2]].envelope.date is None
    assert dated[DATES[0]].internaldate == ARRIVALS[0]


@pytest.mark.slow
def test_a_generated_mailbox_reads_as_imapclient_reads_it(
    imap_user, monkeypatch
) -> None:
    server = imap_user.server
    maildir = server.maildir(imap_user.username)
    generate_maildir(maildir, count=2000, seed=11, inbox_share=1.0)
    server.chown_mail(maildir.parent)
    index_mailbox(server.doveadm, imap_user.username)
    session = open_session(imap_user, timeout=120.0)
    try:
        session.select("INBOX")
        uids = list(session.esearch("ALL").uids)
        fast = session.fetch_summaries(uids)
        with monkeypatch.context() as patched:
            _imapclient_only(patched)
            before = session.fetch_summaries("1:*")
    finally:
        session.logout()
    assert len(fast) == len(uids) > 1500
    assert [_strict(s) for s in fast] == [_strict(s) for s in before]


def _spelled(rnd: random.Random) -> tuple[bytes, bytes]:
    """A Date header and an INTERNALDATE, mostly well formed, some not."""
    months = ["Jan", "Feb", "Mar", "Jun", "Sep", "Dec", "jan", "Sept", "Foo"]
    day = str(rnd.randint(0, 33)).zfill(rnd.choice([1, 2]))
    month = rnd.choice(months)
    year = str(rnd.choice([rnd.randint(1900, 2100), rnd.randint(0, 99)]))
    clock = ":".join(str(rnd.randint(0, n)).zfill(2) for n in (25, 61, 61))
    zone = rnd.choice("+-") + str(rnd.randint(0, 9999)).zfill(4)
    if rnd.random() < 0.1:
        zone = rnd.choice(["GMT", "EST", "", "+01", "-0000"])
    weekday = rnd.choice(["Mon, ", "Fri, ", "Xyz, ", ""])
    header = f"{weekday}{day} {month} {year} {clock} {zone}"
    internal = f"{day.rjust(2)}-{month}-{year} {clock} {zone}"
    return header.encode(), internal.encode()


def _outcome(convert, value):
    try:
        return ("ok", _strict(convert(value)))
    except Exception as exc:
        return ("error", type(exc))


def test_dates_read_as_imapclient_reads_them() -> None:
    rnd = random.Random(5)
    read_fast = 0
    for _ in range(20000):
        header, internal = _spelled(rnd)
        envelope = (header, b"Subject", None, None, None, None, None, None, None, None)
        ours = _outcome(envelopes.envelope_of, envelope)
        assert ours == _outcome(
            lambda e: envelopes.envelope(_convert_ENVELOPE(e, False)), envelope
        ), header
        assert _outcome(envelopes.internaldate_of, internal) == _outcome(
            lambda v: parse.aware(_convert_INTERNALDATE(v, False)), internal
        ), internal
        read_fast += (
            envelopes._well_formed_date(header, envelopes._DATE_HEADER) is not None
        )
    assert read_fast > 500  # the well-formed ones were among them


def test_batches_come_in_order_and_a_caller_may_stop_early(user) -> None:
    session = open_session(user)
    try:
        for n in range(1, 9):
            session.append("INBOX", message(f"Message {n}"))
        session.select("INBOX")
        batches = [[7, 8], [5, 6, 99], [3, 4], [1, 2]]
        with contextlib.closing(session.summary_batches(batches)) as fetched:
            got = [[s.uid for s in batch] for batch in fetched]
        # A UID that is not there is left out.
        assert got == [[7, 8], [5, 6], [3, 4], [1, 2]]

        with contextlib.closing(session.summary_batches(batches)) as fetched:
            first = next(fetched)
        assert [s.envelope.subject for s in first] == ["Message 7", "Message 8"]
        # The next batch's answer was read to its end: the next command
        # gets its own answer.
        assert session.usable
        (summary,) = session.fetch_summaries([2])
        assert summary.uid == 2 and summary.envelope.subject == "Message 2"
    finally:
        session.logout()
