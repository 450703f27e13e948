"""Undoing a send and sending later, with the real worker and submission server.

What reaches the server is read from the submission server's own record.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.engine.conftest import account_for, start_worker, synced_inbox
from tests.engine.test_send import _outgoing, _settled, _smtp_account
from webmail.engine import tasks
from webmail.mail import compose, drafts, scheduled
from webmail.models import Draft, OutgoingMessage, SendState

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_an_undone_send_reaches_nobody_and_comes_back_to_edit(
    worker, imap_user, submission_outbox, settings
):
    settings.UNDO_SEND_SECONDS = 3
    account = _smtp_account(imap_user, submission_outbox)
    synced_inbox(account)
    row = compose.send_message(account, _outgoing(subject="Oops"))
    assert compose.send_status(row).state == "waiting"

    draft_id = scheduled.cancel(account, row.id)

    assert draft_id is not None
    assert OutgoingMessage.objects.get(id=row.id).state == SendState.CANCELLED
    # Past the time it would have gone, and the task that was to send it.
    time.sleep(5)
    assert submission_outbox.messages == []
    opened = drafts.start_from_row(account, draft_id)
    assert opened.start.subject == "Oops"
    assert opened.start.text == "明日の会議は十時からです。\n"
    assert "hanako@example.jp" in opened.start.to
    # Calling it off twice (another tab) finds nothing left to call off.
    assert scheduled.cancel(account, row.id) is None


def test_undo_brings_back_the_draft_it_was_written_in(
    worker, imap_user, submission_outbox, settings
):
    settings.UNDO_SEND_SECONDS = 30
    account = _smtp_account(imap_user, submission_outbox)
    saved = drafts.save(account, None, {"to": "a@example.org", "body": "Hi"}, None)
    row = compose.send_message(account, _outgoing(), draft_id=saved.draft_id)

    assert scheduled.cancel(account, row.id) == saved.draft_id
    assert Draft.objects.get(id=saved.draft_id).sent_with is None


def test_a_send_goes_once_its_time_to_undo_is_over(
    worker, imap_user, submission_outbox, settings
):
    settings.UNDO_SEND_SECONDS = 2
    account = _smtp_account(imap_user, submission_outbox)
    synced_inbox(account)

    row = compose.send_message(account, _outgoing())

    assert submission_outbox.messages == []
    assert _settled(row.id).state == SendState.SENT
    assert len(submission_outbox.messages) == 1
    # Too late to undo now.
    assert scheduled.cancel(account, row.id) is None


def test_a_message_sent_later_goes_after_the_worker_restarted(
    worker, imap_user, submission_outbox
):
    account = _smtp_account(imap_user, submission_outbox)
    synced_inbox(account)
    when = timezone.now() + timedelta(seconds=4)
    row = compose.send_message(account, _outgoing(subject="Later"), send_at=when)
    assert [m.id for m in scheduled.waiting(account)] == [row.id]

    worker.stop()
    time.sleep(max(0.0, (when - timezone.now()).total_seconds()) + 1)
    start_worker(worker)
    # What beat asks for every minute: every due message is sent.
    tasks.sweep_outbox()

    assert _settled(row.id).state == SendState.SENT
    [received] = submission_outbox.messages
    assert b"Subject: Later" in received.data
    assert scheduled.waiting(account) == []


def test_the_pages_schedule_list_and_call_off_a_message(
    worker, imap_user, submission_outbox
):
    account = _smtp_account(imap_user, submission_outbox)
    client = Client()
    client.force_login(account.user)
    when = (timezone.now() + timedelta(hours=2)).isoformat()
    answer = client.post(
        f"/mail/{account.id}/compose/",
        {"to": "bob@example.org", "subject": "Tomorrow", "body": "Hi Bob",
         "when": "later", "send_at": when},
    )  # fmt: skip
    assert answer.status_code == 302
    row = OutgoingMessage.objects.get(account=account)
    assert abs((row.next_attempt_at - timezone.now()) - timedelta(hours=2)) < timedelta(
        minutes=1
    )
    listed = client.get(f"/mail/{account.id}/scheduled/").content.decode()
    assert "Tomorrow" in listed

    called_off = client.post(f"/mail/{account.id}/compose/sent/{row.id}/cancel")

    assert called_off.status_code == 302
    assert "?edit=" in called_off["Location"]
    page = client.get(called_off["Location"]).content.decode()
    assert "Hi Bob" in page
    assert "back for you to edit" in page
    assert (
        "Tomorrow" not in client.get(f"/mail/{account.id}/scheduled/").content.decode()
    )


def test_a_time_in_the_past_is_refused_and_nothing_recorded(imap_user):
    account = account_for(imap_user)
    client = Client()
    client.force_login(account.user)
    answer = client.post(
        f"/mail/{account.id}/compose/",
        {"to": "bob@example.org", "subject": "Late", "body": "Hi", "when": "later",
         "send_at": (timezone.now() - timedelta(hours=1)).isoformat()},
    )  # fmt: skip
    assert answer.status_code == 400
    assert "Pick a time in the future" in answer.content.decode()
    assert "Hi" in answer.content.decode()
    assert not OutgoingMessage.objects.exists()
