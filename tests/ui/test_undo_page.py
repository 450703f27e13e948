"""What the pages offer to undo, from the cache alone (no worker runs here)."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.ui.mail import standard_mailbox
from webmail.mail import snapshots
from webmail.models import Message, UndoableAction

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _move(alice, uids: list[str]):
    folders = standard_mailbox(alice)
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
