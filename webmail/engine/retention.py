"""Retention rules applied on Celery beat's schedule.

Beat sends check_retention every RETENTION_CHECK seconds (one beat per
deployment: two would only send the check twice, and the claim below
still runs each rule once). It asks the shard of each account with a due
rule to apply its rules; there each rule is claimed with one conditional
UPDATE of its next_run_at, so a repeated or duplicated task finds it
taken. The rule's messages leave the cache and enter the outbox in
batches (webmail.shared.retention, the recording behind the user's own
moves and deletions), and the outbox push applies each batch on the
server once. Every run is recorded for the rules page.
"""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from webmail import door
from webmail.engine.publish import user_id_of
from webmail.models import Folder, RetentionOutcome, RetentionRule, RetentionRun
from webmail.shared import events
from webmail.shared.changes import expunged_event
from webmail.shared.retention import Outcome, apply_rule

logger = logging.getLogger(__name__)


def _due(now: dt.datetime) -> Q:
    return Q(next_run_at__isnull=True) | Q(next_run_at__lte=now)


def due_accounts(now: dt.datetime | None = None) -> list[int]:
    """Return the ids of the accounts with a rule due now."""
    rows = RetentionRule.objects.filter(_due(now or timezone.now()))
    return sorted(set(rows.values_list("account_id", flat=True)))


def recover_interrupted(now: dt.datetime | None = None) -> int:
    """Close the runs a killed worker left running; their rules fall due again.

    A run outlives its task's time limit only if its worker died: what it
    recorded stays in the outbox, and the rest goes at the next check.
    Returns how many runs were closed.
    """
    now = now or timezone.now()
    stale = now - dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    runs = RetentionRun.objects.filter(
        outcome=RetentionOutcome.RUNNING, started_at__lt=stale
    )
    rule_ids = list(runs.values_list("rule_id", flat=True))
    closed = runs.update(
        outcome=RetentionOutcome.FAILED, detail="interrupted", finished_at=now
    )
    RetentionRule.objects.filter(id__in=rule_ids).update(next_run_at=now)
    return closed


@shared_task(name=door.CHECK_RETENTION)
def check_retention() -> int:
    """Ask the worker of each account with due rules to apply them."""
    recover_interrupted()
    return sum(door.apply_retention(account_id) for account_id in due_accounts())


@shared_task(name=door.APPLY_RETENTION, acks_late=True, ignore_result=True)
def apply_retention(account_id: int) -> int:
    """Apply the account's due rules; return how many messages they took."""
    now = timezone.now()
    ids = RetentionRule.objects.filter(_due(now), account_id=account_id)
    taken, more = 0, False
    for rule_id in list(ids.values_list("id", flat=True)):
        run = run_rule(rule_id, now)
        taken += run.messages if run else 0
        more = more or bool(run and run.outcome == RetentionOutcome.MORE)
    if more:
        # Each task stays bounded (RETENTION_LIMIT a rule); the next one
        # goes on at once rather than at beat's next check.
        door.apply_retention(account_id)
    return taken


def _claim(rule_id: int, now: dt.datetime) -> bool:
    later = now + dt.timedelta(seconds=settings.RETENTION_EVERY)
    claimed = RetentionRule.objects.filter(_due(now), id=rule_id)
    return claimed.update(next_run_at=later) == 1


def run_rule(rule_id: int, now: dt.datetime) -> RetentionRun | None:
    """Apply one rule if no one else has since it fell due; record the run."""
    if not _claim(rule_id, now):
        return None
    rule = RetentionRule.objects.filter(id=rule_id).first()
    if rule is None:
        return None
    run = RetentionRun.objects.create(rule=rule)
    user_id = user_id_of(rule.account_id)
    done = {"messages": 0, "bytes": 0}

    def on_batch(folder: Folder, uids: list[int], size: int) -> None:
        done["messages"] += len(uids)
        done["bytes"] += size
        # The worker starts on each batch while the next one is recorded.
        door.push_changes(rule.account_id)
        if user_id is not None:
            event = {**expunged_event(folder.id, uids), "account": rule.account_id}
            events.publish(user_id, event)

    try:
        outcome = apply_rule(rule, settings.RETENTION_LIMIT, on_batch, now)
    except Exception as exc:
        logger.exception("Retention rule %s failed", rule_id)
        failed = RetentionOutcome.FAILED
        outcome = Outcome(done["messages"], done["bytes"], failed, str(exc)[:500])
    if outcome.outcome == RetentionOutcome.MORE:
        RetentionRule.objects.filter(id=rule_id).update(next_run_at=now)
    if outcome.messages and user_id is not None:
        # Counts changed, and a year's folder may be new.
        events.publish(user_id, {"type": events.FOLDERS, "account": rule.account_id})
    run.finished_at = timezone.now()
    run.messages, run.bytes = outcome.messages, outcome.bytes
    run.outcome, run.detail = outcome.outcome, outcome.detail
    run.save(update_fields=["finished_at", "messages", "bytes", "outcome", "detail"])
    return run
