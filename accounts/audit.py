"""The security audit log: who signed in, failed, was locked out, changed what.

Events carry user names, addresses and short descriptions, never a
password, a one-time code, a session key or mail content.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time
from typing import Any

from django.contrib.auth.signals import (
    user_logged_in,
    user_logged_out,
    user_login_failed,
)
from django.db.models import QuerySet
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import AuditEvent, AuditKind, User


def client_ip(request: HttpRequest | None) -> str | None:
    """Return the client's address as Axes sees it (proxy-aware)."""
    if request is None:
        return None
    address = getattr(request, "axes_ip_address", None) or request.META.get(
        "REMOTE_ADDR"
    )
    return str(address) if address else None


def record(
    kind: AuditKind,
    *,
    request: HttpRequest | None = None,
    user: User | None = None,
    username: str = "",
    actor: User | None = None,
    detail: str = "",
) -> AuditEvent:
    """Store one security event."""
    return AuditEvent.objects.create(
        kind=kind,
        user=user,
        username=(username or (user.get_username() if user else ""))[:150],
        actor=actor.get_username() if actor else "",
        ip=client_ip(request),
        detail=detail[:500],
    )


def record_admin_action(
    request: HttpRequest, target: User | None, detail: str, username: str = ""
) -> AuditEvent:
    """Store an admin's action on a user (or on many, with target None)."""
    actor = request.user if isinstance(request.user, User) else None
    return record(
        AuditKind.ADMIN_ACTION,
        request=request,
        user=target,
        username=username,
        actor=actor,
        detail=detail,
    )


@receiver(user_logged_in)
def _signed_in(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    record(AuditKind.SIGNIN, request=request, user=user)


@receiver(user_logged_out)
def _signed_out(
    sender: Any, request: HttpRequest, user: User | None, **kwargs: Any
) -> None:
    if user is not None:
        record(AuditKind.SIGNOUT, request=request, user=user)


@receiver(user_login_failed)
def _sign_in_failed(
    sender: Any,
    credentials: dict[str, Any],
    request: HttpRequest | None = None,
    **kwargs: Any,
) -> None:
    # Django has already masked the password in credentials; only the
    # user name is kept.
    username = str(credentials.get("username", ""))
    if request is not None and getattr(request, "axes_locked_out", False):
        return  # Axes reports the lockout itself (see _locked_out).
    record(AuditKind.SIGNIN_FAILED, request=request, username=username)


def _locked_out(
    sender: Any, request: HttpRequest, username: str | None, **kwargs: Any
) -> None:
    record(AuditKind.LOCKED_OUT, request=request, username=username or "")


def _django_admin_action(
    sender: Any, instance: Any, created: bool, **kwargs: Any
) -> None:
    # The Django admin's own log of changes, copied into the security log.
    if not created:
        return
    change = instance.get_change_message() or instance.get_action_flag_display()
    AuditEvent.objects.create(
        kind=AuditKind.ADMIN_ACTION,
        username=str(instance.object_repr)[:150],
        actor=instance.user.get_username() if instance.user_id else "",
        detail=f"Django admin, {instance.content_type}: {change}"[:500],
    )


def connect_signals() -> None:
    """Listen to Axes's lockouts and the Django admin's change log.

    Called from AppConfig.ready, once the models of those apps are loaded.
    """
    # Imported once the app registry is ready (AppConfig.ready): both load
    # models of other apps.
    from axes.signals import user_locked_out  # noqa: PLC0415

    user_locked_out.connect(_locked_out, dispatch_uid="accounts.audit.locked_out")
    from django.contrib.admin.models import LogEntry  # noqa: PLC0415
    from django.db.models.signals import post_save  # noqa: PLC0415

    post_save.connect(
        _django_admin_action, sender=LogEntry, dispatch_uid="accounts.audit.admin"
    )


def filter_events(
    kind: str = "",
    username: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[AuditEvent]:
    """Return the events matching an admin's filter, newest first."""
    events = AuditEvent.objects.all()
    if kind:
        events = events.filter(kind=kind)
    if username:
        events = events.filter(username__icontains=username)
    tz = timezone.get_current_timezone()
    if since:
        events = events.filter(created_at__gte=datetime.combine(since, time.min, tz))
    if until:
        events = events.filter(created_at__lte=datetime.combine(until, time.max, tz))
    return events


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A leading =, +, - or @ would make a spreadsheet run the cell as a formula.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def csv_rows(events: Iterable[AuditEvent]) -> Iterator[str]:
    """Yield the events as CSV lines, header first, safe for spreadsheets."""
    writer = csv.writer(_Echo())
    yield writer.writerow(["time", "kind", "user", "actor", "ip", "detail"])
    for event in events:
        yield writer.writerow(
            [
                event.created_at.isoformat(),
                event.kind,
                _cell(event.username),
                _cell(event.actor),
                event.ip or "",
                _cell(event.detail),
            ]
        )
