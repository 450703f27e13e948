"""What the pages offer to undo, from the cache alone (no worker runs here)."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.ui.mail import standard_mailbox
from webmail import after_response
from webmail.mail import snapshots, undo
from webmail.models import Message, UndoableAction

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _move(alice, uids: list[str], folders=None):
    folders = folders or standard_mailbox(alice)
    inbox, archive = folders["INBOX"], folders["Archive"]
    client = Client()
    client.force_login(alice)
    answer = client.post(
        f"/mail/{inbox.account_id}/{inbox.id}/bulk",
        {"action": "move", "target": archive.id, "uid": uids},
        **HTMX,
    )
    assert answer.status_code == 200
    return answer.content.decode(), inbox


def test_a_bulk_move_offers_undo(alice):
    page, inbox = _move(alice, ["1", "2"])
    action = UndoableAction.objects.get()
    assert f'action="/mail/{inbox.account_id}/undo/{action.id}"' in page
    assert action.count == 2


def test_marking_read_offers_no_undo(alice):
    folders = standard_mailbox(alice)
    inbox = folders["INBOX"]
    client = Client()
    client.force_login(alice)
    answer = client.post(
        f"/mail/{inbox.account_id}/{inbox.id}/bulk",
        {"action": "read", "uid": ["2"]},
        **HTMX,
    )
    assert 'data-action="undo"' not in answer.content.decode()
    assert not UndoableAction.objects.exists()


def test_a_move_of_more_messages_than_are_kept_offers_no_undo(alice, monkeypatch):
    monkeypatch.setattr(snapshots, "LIMIT", 2)
    page, inbox = _move(alice, ["1", "2", "3"])
    assert "3 messages moved to Archive." in page
    assert 'data-action="undo"' not in page
    assert not UndoableAction.objects.exists()
    assert not Message.objects.filter(folder=inbox, uid__in=[1, 2, 3]).exists()


def _rows(folder, uids: list[int]) -> list[dict[str, object]]:
    rows = Message.objects.filter(folder=folder, uid__in=uids).order_by("uid")
    return list(rows.values(*snapshots._fields()))


def test_an_undo_puts_the_rows_back_as_they_were(alice):
    folders = standard_mailbox(alice)
    inbox = folders["INBOX"]
    Message.objects.filter(folder=inbox, uid=4).update(
        keywords=["$Forwarded"], cc=[["Bob", "bob@example.org"]]
    )
    before = _rows(inbox, [1, 4])
    _move(alice, ["1", "4"], folders)
    action = UndoableAction.objects.get()

    undone = undo.undo(action.account, action.id)

    assert undone.count == 2
    assert _rows(inbox, [1, 4]) == before


def test_a_large_actions_rows_are_written_once_the_answer_is_out(
    alice, monkeypatch, django_capture_on_commit_callbacks
):
    """The answer names the action; its rows are kept after it, then undoable."""
    monkeypatch.setattr(undo, "KEEP_AT_ONCE", 1)  # two rows are many, here
    pending: list = []
    monkeypatch.setattr(after_response._local, "pending", pending, raising=False)
    with django_capture_on_commit_callbacks(execute=True):
        page, inbox = _move(alice, ["1", "2"])
    action = UndoableAction.objects.get()
    assert f'action="/mail/{inbox.account_id}/undo/{action.id}"' in page
    assert action.count == 0
    monkeypatch.setattr(undo, "KEEP_WAIT", 0)
    with pytest.raises(undo.TooLate) as refusal:
        undo.undo(action.account, action.id)
    assert not refusal.value.already

    for task in pending:
        task()

    action.refresh_from_db()
    assert action.count == 2
    assert not action.undone
    assert undo.undo(action.account, action.id).count == 2
    assert Message.objects.filter(folder=inbox, uid__in=[1, 2]).count() == 2


def test_a_small_actions_rows_are_kept_before_the_answer(alice, monkeypatch):
    pending: list = []
    monkeypatch.setattr(after_response._local, "pending", pending, raising=False)
    _page, inbox = _move(alice, ["1", "2"])
    action = UndoableAction.objects.get()

    # Nothing left to wait for: an undo right after the answer goes through.
    assert action.count == 2
    assert undo.undo(action.account, action.id).count == 2
    assert Message.objects.filter(folder=inbox, uid__in=[1, 2]).count() == 2
