"""The operator pages: users, import, audit log. Staff only."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from accounts import audit, operator, twofactor, usersessions
from accounts.forms import (
    AuditFilterForm,
    ImportForm,
    NewUserForm,
    SetPasswordForm,
    UserForm,
)
from accounts.models import MailAccount, User

View = Callable[..., HttpResponseBase]


def staff_required(view: View) -> View:
    """Let only active staff in; others are sent to sign in, or refused."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user: Any = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not (user.is_active and user.is_staff):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def _target(request: HttpRequest, user_id: int) -> User:
    """Return the user to act on; only a superuser may act on a superuser."""
    target = get_object_or_404(User, pk=user_id)
    actor: Any = request.user
    if target.is_superuser and not actor.is_superuser:
        raise PermissionDenied
    return target


@staff_required
def users(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()
    rows = operator.user_rows(search)
    return render(request, "accounts/manage/users.html", {"rows": rows, "q": search})


@sensitive_post_parameters("password")
@staff_required
def user_new(request: HttpRequest) -> HttpResponse:
    form = NewUserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save(commit=False)
        password = form.cleaned_data["password"]
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
        audit.record_admin_action(request, user, "user created")
        messages.success(
            request, _("%(username)s is created.") % {"username": user.username}
        )
        return redirect("manage:user", user_id=user.pk)
    return render(request, "accounts/manage/user_new.html", {"form": form})


@staff_required
def user_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    target = _target(request, user_id)
    form = UserForm(request.POST or None, instance=target)
    if request.method == "POST":
        before = {name: getattr(target, name) for name in UserForm.Meta.fields}
        if form.is_valid():
            if target == request.user and not form.cleaned_data["is_staff"]:
                form.add_error("is_staff", _("You cannot take away your own access."))
            else:
                form.save()
                audit.record_admin_action(
                    request, target, operator.describe_changes(before, target)
                )
                if not target.is_active:
                    usersessions.end_all(target, request, by_admin=True)
                messages.success(request, _("Saved."))
                return redirect("manage:user", user_id=target.pk)
    context = {
        "target": target,
        "form": form,
        "password_form": SetPasswordForm(target),
        "sessions": usersessions.active_sessions(target),
        "two_factor": twofactor.is_enabled(target),
        "usage": operator.mail_usage_for_user(target),
        "mail_accounts": MailAccount.objects.filter(user=target),
    }
    return render(request, "accounts/manage/user.html", context)


@sensitive_post_parameters("password")
@require_POST
@staff_required
def user_password(request: HttpRequest, user_id: int) -> HttpResponse:
    target = _target(request, user_id)
    form = SetPasswordForm(target, request.POST)
    if form.is_valid():
        operator.set_password(request, target, form.cleaned_data["password"])
        messages.success(request, _("Password set; the user's sessions ended."))
    else:
        for error in form.errors.get("password", []):
            messages.error(request, str(error))
    return redirect("manage:user", user_id=target.pk)


@require_POST
@staff_required
def user_reset_2fa(request: HttpRequest, user_id: int) -> HttpResponse:
    target = _target(request, user_id)
    twofactor.disable(target, request, by_admin=True)
    messages.success(request, _("Two-factor sign-in removed."))
    return redirect("manage:user", user_id=target.pk)


@require_POST
@staff_required
def user_sessions_end(request: HttpRequest, user_id: int) -> HttpResponse:
    target = _target(request, user_id)
    count = usersessions.end_all(target, request, by_admin=True)
    messages.success(request, _("%(count)d sessions ended.") % {"count": count})
    return redirect("manage:user", user_id=target.pk)


@require_POST
@staff_required
def user_unlock(request: HttpRequest, user_id: int) -> HttpResponse:
    target = _target(request, user_id)
    operator.clear_lockout(request, target)
    messages.success(request, _("Failed sign-ins forgotten; the user can sign in."))
    return redirect("manage:user", user_id=target.pk)


@require_http_methods(["GET", "POST"])
@staff_required
def user_delete(request: HttpRequest, user_id: int) -> HttpResponse:
    """Ask first (GET), then delete the user (POST)."""
    target = _target(request, user_id)
    if target == request.user:
        messages.error(request, _("You cannot delete yourself."))
        return redirect("manage:user", user_id=target.pk)
    if request.method == "GET":
        accounts = MailAccount.objects.filter(user=target).count()
        context = {"target": target, "accounts": accounts}
        return render(request, "accounts/manage/user_delete.html", context)
    operator.delete_user(request, target)
    messages.success(
        request, _("%(username)s is deleted.") % {"username": target.username}
    )
    return redirect("manage:users")


@staff_required
def user_import(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data["file"].read()
        report = operator.import_users(
            request, data, dry_run=form.cleaned_data["dry_run"]
        )
    return render(
        request, "accounts/manage/import.html", {"form": form, "report": report}
    )


def _filtered_events(request: HttpRequest) -> tuple[AuditFilterForm, Any]:
    form = AuditFilterForm(request.GET or None)
    if form.is_valid():
        data = form.cleaned_data
        events = audit.filter_events(
            data["kind"], data["username"], data["since"], data["until"]
        )
    else:
        events = audit.filter_events()
    return form, events


AUDIT_PAGE_SIZE = 50


@staff_required
def audit_log(request: HttpRequest) -> HttpResponse:
    form, events = _filtered_events(request)
    # The filter stays in the page links; the page number does not pile up.
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "events": Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page")),
        "query": query.urlencode(),
    }
    return render(request, "accounts/manage/audit.html", context)


@staff_required
def audit_export(request: HttpRequest) -> StreamingHttpResponse:
    _, events = _filtered_events(request)
    response = StreamingHttpResponse(
        audit.csv_rows(events.iterator()), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
    return response
