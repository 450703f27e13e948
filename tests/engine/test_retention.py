"""Retention rules applied by a real Celery beat and worker on a real Dovecot.

What the page previewed is what the run takes, the server shows it from
another device, and the run is reported on the rules page.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from django.template.defaultfilters import filesizeformat
from django.test import Client
from django.utils import timezone

from tests.engine.conftest import account_for, synced_inbox, wait_for
from webmail.engine import retention as engine_retention
from webmail.engine import sync
from webmail.models import (
    Folder,
    Message,
    OperationState,
    PendingOperation,
    RetentionRule,
    RetentionRun,
)
from webmail.shared import retention as shared_retention

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def dated(subject: str, when: str) -> bytes:
    return (
        f"From: Alice <alice@example.org>\r\nTo: bob@example.org\r\n"
        f"Subject: {subject}\r\nMessage-ID: <{uuid.uuid4().hex}@example.org>\r\n"
        f"Date: {when}\r\n\r\nKept for a while.\r\n"
    ).encode()


RECENT = timezone.now().strftime("%a, %d %b %Y %H:%M:%S +0000")


def subjects(phone, folder: str) -> list[str]:
    phone.select_folder(folder, readonly=True)
    found = phone.fetch(phone.search(["ALL"]), ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
    return sorted(
        data[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().split(":", 1)[1].strip()
        for data in found.values()
    )


def server_sizes(phone, folder: str, wanted: set[str]) -> int:
    phone.select_folder(folder, readonly=True)
    fields = ["RFC822.SIZE", "BODY.PEEK[HEADER.FIELDS (SUBJECT)]"]
    total = 0
    for data in phone.fetch(phone.search(["ALL"]), fields).values():
        subject = data[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().split(":", 1)[1]
        if subject.strip() in wanted:
            total += data[b"RFC822.SIZE"]
    return total


def folder_named(phone, last: str) -> str | None:
    for _flags, delimiter, name in phone.list_folders():
        parts = name.split(delimiter.decode() if delimiter else "/")
        if parts[-1] == last and len(parts) > 1:
            return name
    return None


def outbox_drained(account) -> bool:
    return not PendingOperation.objects.filter(
        account=account, state=OperationState.PENDING
    ).exists()


def beat_sent_checks(beat) -> int:
    return len(re.findall(r"Sending due task check-retention", beat.log_tail(10_000)))


def test_beat_archives_old_inbox_mail_into_a_folder_per_year(
    worker, celery_beat, imap_user, other_device
):
    phone = other_device(imap_user)
    old = {
        "2024 a": "Mon, 04 Mar 2024 10:00:00 +0000",
        "2024 b": "Tue, 05 Mar 2024 10:00:00 +0000",
        "2024 c": "Fri, 20 Dec 2024 23:00:00 +0000",
        "2025 a": "Mon, 02 Jun 2025 10:00:00 +0000",
        "2025 b": "Tue, 03 Jun 2025 10:00:00 +0000",
    }
    for subject, when in old.items():
        phone.append("INBOX", dated(subject, when))
    for subject in ("fresh a", "fresh b"):
        phone.append("INBOX", dated(subject, RECENT))
    account = account_for(imap_user)
    inbox = synced_inbox(account)
    assert Message.objects.filter(folder=inbox).count() == 7
    expected_bytes = server_sizes(phone, "INBOX", set(old))
    page = Client()
    page.force_login(account.user)
    base = f"/mail/{account.id}/retention/"
    form = {"folder": inbox.id, "action": "archive", "days": "300", "by_year": "1"}

    preview = page.post(base, {**form, "step": "preview"}).content.decode()
    size = filesizeformat(expected_bytes)
    assert f"This will archive 5 messages, {size}." in preview
    page.post(base, {**form, "step": "save"})
    rule = RetentionRule.objects.get(account=account)

    beat = celery_beat(RETENTION_CHECK="1")
    run = wait_for(
        lambda: (
            RetentionRun.objects.filter(rule=rule).exclude(outcome="running").first()
        ),
        timeout=60,
        what=f"a run of the rule\n{beat.log_tail()}",
    )
    assert (run.outcome, run.messages, run.bytes) == ("done", 5, expected_bytes)

    wait_for(lambda: outbox_drained(account), timeout=30, what="the outbox drained")
    assert not PendingOperation.objects.filter(
        account=account, state=OperationState.FAILED
    ).exists()
    assert subjects(phone, "INBOX") == ["fresh a", "fresh b"]
    folder_2024, folder_2025 = folder_named(phone, "2024"), folder_named(phone, "2025")
    assert folder_2024 and folder_2025
    assert subjects(phone, folder_2024) == ["2024 a", "2024 b", "2024 c"]
    assert subjects(phone, folder_2025) == ["2025 a", "2025 b"]

    # Later checks find the rule done for the day: it runs once.
    seen = beat_sent_checks(beat)
    wait_for(lambda: beat_sent_checks(beat) >= seen + 3, timeout=30, what="checks")
    assert RetentionRun.objects.filter(rule=rule).count() == 1

    text = page.get(base).content.decode()
    assert f"5 messages, {size} — Done" in text


def test_beat_deletes_old_trash_mail_for_good(
    worker, celery_beat, imap_user, other_device
):
    phone = other_device(imap_user)
    for n in range(3):
        phone.append("Trash", dated(f"old {n}", "Mon, 04 Mar 2024 10:00:00 +0000"))
    phone.append("Trash", dated("fresh", RECENT))
    account = account_for(imap_user)
    synced_inbox(account)
    trash = Folder.objects.get(account=account, special_use__iexact="\\Trash")
    sync.sync_folder(account.id, trash.id)
    expected_bytes = server_sizes(phone, "Trash", {"old 0", "old 1", "old 2"})
    page = Client()
    page.force_login(account.user)
    base = f"/mail/{account.id}/retention/"
    form = {"folder": trash.id, "action": "delete", "days": "30"}
    preview = page.post(base, form).content.decode()
    size = filesizeformat(expected_bytes)
    assert f"This will delete 3 messages for good, {size}." in preview
    page.post(base, {**form, "step": "save"})

    beat = celery_beat(RETENTION_CHECK="1")
    run = wait_for(
        lambda: RetentionRun.objects.exclude(outcome="running").first(),
        timeout=60,
        what=f"a run of the rule\n{beat.log_tail()}",
    )
    assert (run.outcome, run.messages, run.bytes) == ("done", 3, expected_bytes)
    wait_for(lambda: subjects(phone, "Trash") == ["fresh"], what="deleted on server")
    wait_for(lambda: outbox_drained(account), what="the outbox drained")
    # For good: in no other folder either.
    for name in ("INBOX", "Archive", "Junk"):
        assert subjects(phone, name) == []
    assert "3 messages, " + size in page.get(base).content.decode()


def test_a_large_folder_goes_in_bounded_batches_over_several_runs(
    worker, imap_user, other_device, settings, monkeypatch
):
    """Each batch is one outbox operation; a run at its limit queues the next."""
    monkeypatch.setattr(shared_retention, "BATCH", 2)
    settings.RETENTION_LIMIT = 3
    phone = other_device(imap_user)
    for n in range(5):
        phone.append("INBOX", dated(f"old {n}", "Mon, 04 Mar 2024 10:00:00 +0000"))
    account = account_for(imap_user)
    inbox = synced_inbox(account)
    rule = RetentionRule.objects.create(
        account=account, folder=inbox, folder_name="INBOX", action="delete", days=30
    )

    # This process runs the first task, with the small limit; the worker
    # runs the one it queues for the rest, with its own (the default).
    assert engine_retention.apply_retention(account.id) == 3
    # The worker may have done the rest already: the first run is the oldest.
    first = RetentionRun.objects.filter(rule=rule).order_by("id").first()
    assert first is not None
    assert (first.outcome, first.messages) == ("more", 3)
    second = wait_for(
        lambda: RetentionRun.objects.filter(rule=rule, outcome="done").first(),
        what="the run queued for the rest",
    )
    assert second.messages == 2
    # Claimed for a day now: a duplicate task finds nothing to do.
    assert engine_retention.run_rule(rule.id, timezone.now()) is None
    later = timezone.now() + timedelta(seconds=settings.RETENTION_EVERY - 60)
    assert engine_retention.due_accounts(later) == []

    ops = PendingOperation.objects.filter(account=account).order_by("id")
    sizes = [len(op.uids) for op in ops]
    assert sizes == [2, 1, 2]
    wait_for(lambda: subjects(phone, "INBOX") == [], what="INBOX emptied")
    assert subjects(phone, "Trash") == [f"old {n}" for n in range(5)]
