"""The retention rules page's verbs: check, preview, save and remove rules.

A rule is the user's own setting, kept in its own row; nothing reaches the
server when it is saved. Celery beat applies it later
(webmail.engine.retention) with the selection that preview() counts here
(webmail.shared.retention), so the figures shown are what a run now would
take.

Callers pass an account they got through accounts.access (the user's own);
rule and folder ids are checked against that account here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.http import Http404

from accounts.models import MailAccount
from webmail.models import (
    Folder,
    RetentionAction,
    RetentionRule,
    RetentionRun,
)
from webmail.shared.retention import (
    Figures,
    RuleProblem,
    check_rule,
    deletes_for_good,
    figures,
)

__all__ = [
    "FIELDS",
    "Draft",
    "Figures",
    "RuleProblem",
    "account_rule",
    "draft_of",
    "folders_for_rules",
    "preview",
    "remove_rule",
    "rules_with_runs",
    "save_rule",
]

# What the rule form sends.
FIELDS = ("action", "days", "folder", "by_year")
# Runs shown under each rule, newest first.
RUNS_SHOWN = 5
MAX_DAYS = 36500


@dataclass(frozen=True)
class Draft:
    """A checked rule, saved or not yet."""

    folder: Folder
    action: str
    days: int
    by_year: bool

    @property
    def for_good(self) -> bool:
        """Whether the rule deletes for good (in Trash or Junk)."""
        return self.action == RetentionAction.DELETE and deletes_for_good(self.folder)


def folders_for_rules(account: MailAccount) -> list[Folder]:
    """Return the folders a rule can be set on."""
    return list(Folder.objects.filter(account=account, selectable=True))


def _days(value: str) -> int:
    try:
        days = int(value.strip())
    except (ValueError, AttributeError):
        raise RuleProblem("days") from None
    if not 1 <= days <= MAX_DAYS:
        raise RuleProblem("days")
    return days


def draft_of(account: MailAccount, data: Mapping[str, str]) -> Draft:
    """Check a rule as the form sent it; RuleProblem says what is wrong."""
    action = data.get("action", "")
    if action not in RetentionAction.values:
        raise RuleProblem("action")
    days = _days(data.get("days", ""))
    folder_id = data.get("folder", "")
    folder = None
    if folder_id.isdigit():
        folder = Folder.objects.filter(id=int(folder_id), account=account).first()
    if folder is None:
        raise RuleProblem("folder_gone")
    check_rule(folder, action)
    by_year = action == RetentionAction.ARCHIVE and data.get("by_year") == "1"
    return Draft(folder, action, days, by_year)


def preview(draft: Draft) -> Figures:
    """Return what the rule would take if it ran now."""
    return figures(draft.folder.id, draft.days)


def account_rule(account: MailAccount, rule_id: int) -> RetentionRule:
    """Return the account's rule with this id, or 404."""
    rule = RetentionRule.objects.filter(id=rule_id, account=account).first()
    if rule is None:
        raise Http404("No such rule.")
    return rule


def save_rule(
    account: MailAccount, draft: Draft, rule: RetentionRule | None = None
) -> RetentionRule:
    """Save a new rule, or change one; it applies at beat's next check."""
    if rule is None:
        rule = RetentionRule(account=account)
    elif rule.account_id != account.id:
        raise Http404("No such rule.")
    rule.folder = draft.folder
    rule.folder_name = "/".join(draft.folder.path) or draft.folder.display_name
    rule.action, rule.days, rule.by_year = draft.action, draft.days, draft.by_year
    rule.next_run_at = None
    rule.save()
    return rule


def remove_rule(account: MailAccount, rule: RetentionRule) -> None:
    """Remove a rule and its history; runs already queued still complete."""
    if rule.account_id != account.id:
        raise Http404("No such rule.")
    rule.delete()


def rules_with_runs(account: MailAccount) -> list[RetentionRule]:
    """Return the account's rules, each with its latest runs (rule.latest)."""
    rules = list(RetentionRule.objects.filter(account=account).select_related("folder"))
    for rule in rules:
        # A handful of rules per account: one short query each.
        latest = RetentionRun.objects.filter(rule=rule).order_by("-id")
        rule.latest = list(latest[:RUNS_SHOWN])  # type: ignore[attr-defined]
    return rules
