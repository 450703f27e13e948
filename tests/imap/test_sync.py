"""Seeing what other clients changed: QRESYNC, CONDSTORE, the flags diff, IDLE."""

from __future__ import annotations

import time

import pytest

from tests.imap import message, open_session
from webmail.imap import CommandFailed
from webmail.imap.types import Exists, FlagChange, Vanished


def _three_messages(session) -> None:
    for subject in ("one", "two", "three"):
        session.append("INBOX", message(subject))


def test_qresync_reports_changes_and_expunges_by_another_device(
    imap_user, other_device
) -> None:
    session = open_session(imap_user)
    try:
        _three_messages(session)
        first = session.select("INBOX")
        assert first.highestmodseq is not None and not first.resynced

        phone = other_device(imap_user)
        phone.select_folder("INBOX")
        phone.add_flags([1], [b"\\Flagged"])
        phone.delete_messages([2])
        phone.uid_expunge([2])

        again = session.select(
            "INBOX", qresync=(first.uidvalidity, first.highestmodseq)
        )
        assert again.resynced
        assert again.highestmodseq > first.highestmodseq
        assert 2 in again.vanished and not {1, 3} & set(again.vanished)
        (change,) = again.changed
        assert change.uid == 1 and change.flags == ("\\Flagged",)
        assert first.highestmodseq < change.modseq <= again.highestmodseq

        phone.remove_flags([1], [b"\\Flagged"])
        phone.add_flags([3], [b"\\Seen"])
        changes = session.fetch_changes(again.highestmodseq)
        assert changes.vanished_known and changes.vanished == ()
        assert {(c.uid, c.flags) for c in changes.changed} == {
            (1, ()),
            (3, ("\\Seen",)),
        }
    finally:
        session.logout()


def test_a_changed_uidvalidity_is_not_resynced(imap_user) -> None:
    session = open_session(imap_user)
    try:
        _three_messages(session)
        info = session.select("INBOX")
        again = session.select("INBOX", qresync=(info.uidvalidity + 1, 1))
        assert not again.resynced and again.vanished == () and again.changed == ()
    finally:
        session.logout()


def test_reduced_server_falls_back_to_a_flags_diff(
    imap_user_reduced, other_device
) -> None:
    session = open_session(imap_user_reduced)
    try:
        _three_messages(session)
        first = session.select("INBOX")
        assert first.highestmodseq is None
        before = session.fetch_all_flags()
        assert before == {1: (), 2: (), 3: ()}

        phone = other_device(imap_user_reduced)
        phone.select_folder("INBOX")
        phone.add_flags([1], [b"\\Seen"])
        phone.delete_messages([2])
        phone.uid_expunge([2])

        again = session.select("INBOX", qresync=(first.uidvalidity, 1))
        assert not again.resynced and again.uidvalidity == first.uidvalidity
        after = session.fetch_all_flags()
        assert after == {1: ("\\Seen",), 3: ()}
        with pytest.raises(CommandFailed):
            session.fetch_changes(1)
        with pytest.raises(CommandFailed):
            session.idle_start()
        assert session.usable
    finally:
        session.logout()


def test_empty_folder_has_no_flags(imap_user_reduced) -> None:
    session = open_session(imap_user_reduced)
    try:
        session.select("Trash")
        assert session.fetch_all_flags() == {}
    finally:
        session.logout()


def _idle_until(session, wanted, timeout: float = 10.0) -> list:
    events: list = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not any(wanted(e) for e in events):
        events += session.idle_check(timeout=1.0)
    return events


def test_idle_sees_changes_made_by_another_device(imap_user, other_device) -> None:
    session = open_session(imap_user)
    try:
        _three_messages(session)
        session.select("INBOX")
        session.idle_start()
        assert session.idling
        assert session.idle_check(timeout=0.2) == []

        phone = other_device(imap_user)
        phone.select_folder("INBOX")
        phone.add_flags([2], [b"\\Flagged"])
        events = _idle_until(
            session, lambda e: isinstance(e, FlagChange) and e.uid == 2
        )
        change = next(e for e in events if isinstance(e, FlagChange))
        assert change.flags == ("\\Flagged",) and change.modseq

        phone.append("INBOX", message("four"))
        phone.delete_messages([1])
        phone.uid_expunge([1])
        events = _idle_until(session, lambda e: isinstance(e, Vanished))
        events += session.idle_done()
        assert Exists(4) in events or Exists(3) in events
        assert Vanished((1,)) in events
        assert not session.idling
        assert session.search_uids("ALL") == [2, 3, 4]
    finally:
        session.logout()
