"""The compose page: write a message, reply, reply to all, forward; its sending state.

GET /mail/<account>/compose/ shows the form (?reply=, ?reply_all= or
?forward= with "<folder id>:<uid>" start from that message); POST records
the message to send (webmail.mail.compose) and goes to its status page,
which says "Sending…" until the worker has sent it, then "Sent". A message
written in the HTML editor comes as "html" beside "body" (webmail.mail.richtext).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from webmail.mail import compose, drafts, richtext
from webmail.mime.compose import ComposeError, Outgoing, Recipient, parse_recipients
from webmail.views import attachments
from webmail.views.layout import account_or_404

FIELDS = ("to", "cc", "bcc", "subject", "body")


def _reference(request: HttpRequest) -> tuple[str, int, int] | None:
    for mode in compose.MODES:
        value = request.GET.get(mode) or ""
        if value:
            folder_id, _, uid = value.partition(":")
            if not (folder_id.isdigit() and uid.isdigit()):
                raise Http404("No such message.")
            return mode, int(folder_id), int(uid)
    return None


def _start(request: HttpRequest, account: Any) -> compose.Start:
    reference = _reference(request)
    if reference is None:
        return compose.start_new(account)
    mode, folder_id, uid = reference
    return compose.start_reply(account, folder_id, uid, mode)


def _opened_draft(request: HttpRequest, account: Any) -> drafts.Opened | None:
    """The draft the form edits: ?edit=<draft id>, or ?draft=<folder id>:<uid>."""
    edit = request.GET.get("edit") or ""
    if edit:
        if not edit.isdigit():
            raise Http404("No such draft.")
        return drafts.start_from_row(account, int(edit))
    value = request.GET.get("draft") or ""
    if not value:
        return None
    folder_id, _, uid = value.partition(":")
    if not (folder_id.isdigit() and uid.isdigit()):
        raise Http404("No such message.")
    return drafts.start_from_message(account, int(folder_id), int(uid))


def _number(request: HttpRequest, name: str) -> int | None:
    value = request.POST.get(name, "")
    return int(value) if value.isdigit() else None


def _original(value: str) -> compose.Original | None:
    parts = value.split(":")
    if len(parts) != 3 or not (parts[0].isdigit() and parts[1].isdigit()):
        return None
    if parts[2] not in ("\\Answered", "$Forwarded"):
        return None
    return compose.Original(int(parts[0]), int(parts[1]), parts[2])


def _format(request: HttpRequest) -> str:
    """ "html" when the editor posted the message, else "text"."""
    value = request.POST.get("format", "")
    return richtext.HTML if value == richtext.HTML else richtext.TEXT


def _send_at(request: HttpRequest) -> tuple[datetime | None, str]:
    """When "Send later" asks it to go, or None for now; and what is wrong.

    The page's script sends the time with its offset; without it the
    browser's bare local time is read in the server's time zone.
    """
    if request.POST.get("when") != "later":
        return None, ""
    typed = request.POST.get("send_at") or request.POST.get("send_at_local", "")
    try:
        when = parse_datetime(typed.strip())
    except ValueError:
        when = None
    if when is None:
        return None, _("Pick the date and time to send it at.")
    if timezone.is_naive(when):
        when = timezone.make_aware(when)
    now = timezone.now()
    if when <= now:
        return None, _("Pick a time in the future to send it at.")
    if when > now + timedelta(days=366):
        return None, _("Pick a time within a year to send it at.")
    return when, ""


def _html(request: HttpRequest) -> str:
    return request.POST.get("html", "")


def _read(values: dict[str, str]) -> tuple[dict[str, tuple[Recipient, ...]], list[str]]:
    found: dict[str, tuple[Recipient, ...]] = {}
    errors: list[str] = []
    for name in ("to", "cc", "bcc"):
        try:
            found[name] = parse_recipients(values[name])
        except ComposeError as exc:
            errors.append(
                _("“%(address)s” is not an email address.") % {"address": exc}
            )
    if not errors and not any(found.values()):
        errors.append(_("Add at least one recipient."))
    return found, errors


@login_required
def compose_view(request: HttpRequest, account_id: int) -> HttpResponse:
    """Show the form, or record the message and go to its status."""
    account = account_or_404(request, account_id)
    if request.method == "POST":
        values = {name: request.POST.get(name, "") for name in FIELDS}
        original_value = request.POST.get("original", "")
        original = _original(original_value)
        recipients, errors = _read(values)
        forwarding = original is not None and original.flag == "$Forwarded"
        files = attachments.posted_files(request, account, forwarding)
        errors += files.errors
        send_at, problem = _send_at(request)
        if problem:
            errors.append(problem)
        identity = compose.identity_for(account, _number(request, "identity"))
        sender = compose.sender_of(account, identity)
        body = richtext.Written(values["body"])
        try:
            body = richtext.written(
                _format(request), values["body"], _html(request), sender.address
            )
        except richtext.HtmlRefused as exc:
            errors.append(str(exc))
        if not errors:
            references = tuple(request.POST.get("references", "").split())
            outgoing = Outgoing(
                sender=sender,
                to=recipients["to"],
                cc=recipients["cc"],
                bcc=recipients["bcc"],
                subject=values["subject"][:998],
                text=body.text,
                html=body.prepared.html if body.prepared else None,
                inline=body.prepared.inline if body.prepared else (),
                in_reply_to=request.POST.get("in_reply_to", "") or None,
                references=references,
            )
            row = compose.send_message(
                account,
                outgoing,
                original,
                identity,
                files.uploads,
                files.forward_parts,
                send_at,
                files.draft_files,
                _number(request, "draft"),
            )
            return redirect("mail_outgoing", account.id, row.id)
        context = {
            **values,
            "original": original_value,
            "in_reply_to": request.POST.get("in_reply_to", ""),
            "references": request.POST.get("references", ""),
            "identity_id": _number(request, "identity"),
            "draft_id": _number(request, "draft"),
            "draft_version": _number(request, "draft_version"),
            "format": _format(request),
            "html": _html(request),
            "errors": errors,
            **attachments.form_context(request, account),
        }
        return _form(request, account, context, status=400)
    opened = _opened_draft(request, account)
    start = opened.start if opened else _start(request, account)
    original = start.original
    context = {
        "to": start.to,
        "cc": start.cc,
        "bcc": opened.bcc if opened else "",
        "subject": start.subject,
        "body": start.text,
        "original": (
            f"{original.folder_id}:{original.uid}:{original.flag}" if original else ""
        ),
        "in_reply_to": start.in_reply_to,
        "references": " ".join(start.references),
        "identity_id": start.identity_id,
        "draft_id": opened.draft_id if opened else None,
        "draft_version": opened.version if opened else None,
        "format": opened.format if opened else richtext.default_format(account.user),
        "html": start.html,
        "errors": [],
        **attachments.form_context(
            request, account, start.attachments, opened.files if opened else ()
        ),
    }
    return _form(request, account, context)


def _form(
    request: HttpRequest, account: Any, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    context = {
        **context,
        "account": account,
        "identities": compose.identities_of(account),
        "inline_limit": richtext.inline_limit(),
        "action": reverse("mail_compose", args=[account.id]),
        "drafts_url": reverse("mail_draft_new", args=[account.id]),
        "login_url": reverse("login"),
        "back_url": reverse("mail_account", args=[account.id]),
    }
    return render(request, "webmail/compose.html", context, status=status)


@login_required
def outgoing_view(
    request: HttpRequest, account_id: int, outgoing_id: int
) -> HttpResponse:
    """The state of a message the user sent: sending, sent, or why not."""
    account = account_or_404(request, account_id)
    row = compose.outgoing_for(account, outgoing_id)
    context = {
        "account": account,
        "sent": compose.send_status(row),
        "url": reverse("mail_outgoing", args=[account.id, row.id]),
        "cancel_url": reverse("mail_outgoing_cancel", args=[account.id, row.id]),
        "back_url": reverse("mail_account", args=[account.id]),
        "compose_url": reverse("mail_compose", args=[account.id]),
    }
    template = (
        "webmail/_sent.html"
        if request.headers.get("HX-Request")
        else ("webmail/sent.html")
    )
    return render(request, template, context)
