"""The retention rules page: list, add, edit and remove rules, and their runs.

A rule is typed, then previewed ("this will delete 1,234 messages, 210
MB"), then saved from the preview: the form's first button only shows
what the rule would take now. A refused rule shows the form again with
the reason and what was typed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import MailAccount
from webmail.mail import retention as verbs
from webmail.views.layout import account_or_404

if TYPE_CHECKING:
    from webmail.models import RetentionRule


def problem_text(code: str) -> str:
    """Return why a rule was refused, in the reader's language."""
    texts = {
        "days": _("Type a number of days of 1 or more."),
        "action": _("Choose whether to delete or to archive."),
        "folder_gone": _(
            "That folder no longer exists. Choose one of the folders listed."
        ),
        "not_selectable": _("That folder cannot hold messages."),
        "no_archive": _(
            "This mailbox has no Archive folder: create it on the Folders page."
        ),
        "archive_itself": _("Messages in the Archive folder cannot be archived."),
        "interrupted": _(
            "The run was interrupted; the rest follows at the next check."
        ),
    }
    return texts.get(code, _("This rule cannot be applied."))


def outcome_text(outcome: str, detail: str) -> str:
    """Return how a run ended, in the reader's language."""
    if outcome == "failed" and detail:
        return _("Failed: %s") % problem_text(detail)
    texts = {
        "running": _("Running"),
        "done": _("Done"),
        "more": _("Done in part: the rest follows in the next run"),
        "gone": _("Not run: the folder no longer exists"),
        "failed": _("Failed"),
    }
    return texts.get(outcome, outcome)


def _typed(request: HttpRequest, rule: RetentionRule | None) -> dict[str, Any]:
    if request.method == "POST":
        return {key: request.POST.get(key, "") for key in verbs.FIELDS}
    if rule is None:
        return {"action": "delete", "days": "", "folder": "", "by_year": ""}
    return {
        "action": rule.action,
        "days": str(rule.days),
        "folder": str(rule.folder_id or ""),
        "by_year": "1" if rule.by_year else "",
    }


def _page(
    request: HttpRequest,
    account: MailAccount,
    rule: RetentionRule | None = None,
    **context: Any,
) -> HttpResponse:
    rules = verbs.rules_with_runs(account)
    for each in rules:
        for run in each.latest:  # type: ignore[attr-defined]
            run.text = outcome_text(run.outcome, run.detail)
    status = 400 if context.get("error") else 200
    context = {
        "account": account,
        "rules": rules,
        "rule": rule,
        "folders": verbs.folders_for_rules(account),
        "typed": _typed(request, rule),
        **context,
    }
    return render(request, "webmail/retention.html", context, status=status)


def _form(
    request: HttpRequest, account: MailAccount, rule: RetentionRule | None
) -> HttpResponse:
    """Preview the typed rule, or save it once previewed."""
    try:
        draft = verbs.draft_of(account, request.POST)
    except verbs.RuleProblem as exc:
        return _page(request, account, rule, error=problem_text(exc.code))
    if request.POST.get("step") != "save":
        figures = verbs.preview(draft)
        return _page(request, account, rule, draft=draft, figures=figures)
    verbs.save_rule(account, draft, rule)
    messages.success(request, _("Rule saved. It applies at the next check."))
    return redirect("mail_retention", account.id)


@require_http_methods(["GET", "POST"])
@login_required
def rules_view(request: HttpRequest, account_id: int) -> HttpResponse:
    """List the rules and their runs; preview and add a rule."""
    account = account_or_404(request, account_id)
    if request.method == "POST":
        return _form(request, account, None)
    return _page(request, account)


@require_http_methods(["GET", "POST"])
@login_required
def rule_view(request: HttpRequest, account_id: int, rule_id: int) -> HttpResponse:
    """Edit a rule: preview the change, then save it."""
    account = account_or_404(request, account_id)
    rule = verbs.account_rule(account, rule_id)
    if request.method == "POST":
        return _form(request, account, rule)
    return _page(request, account, rule)


@require_POST
@login_required
def remove_view(request: HttpRequest, account_id: int, rule_id: int) -> HttpResponse:
    """Remove a rule."""
    account = account_or_404(request, account_id)
    verbs.remove_rule(account, verbs.account_rule(account, rule_id))
    messages.success(request, _("Rule removed."))
    return redirect("mail_retention", account.id)
