"""What the operator pages do to users: create, change, import, inspect.

Every change is written to the audit log with the admin who made it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime

from axes.utils import reset
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from accounts import audit, twofactor, usersessions
from accounts.models import User
from webmail.models import AccountState


@dataclass(frozen=True)
class MailUsage:
    """What the IMAP engine knows about a user's mail right now."""

    open_connections: int
    quota_used_bytes: int | None = None
    quota_limit_bytes: int | None = None


def mail_usage_for_user(user: User) -> MailUsage | None:
    """Return the user's quota and open IMAP connections, as the engine saw them.

    None (shown as "unknown") until a worker has synced one of the user's
    accounts.
    """
    states = list(
        AccountState.objects.filter(account__user=user, usage_at__isnull=False)
    )
    if not states:
        return None
    used = [s.quota_used_kb for s in states if s.quota_used_kb is not None]
    limits = [s.quota_limit_kb for s in states if s.quota_limit_kb is not None]
    return MailUsage(
        open_connections=sum(s.open_connections for s in states),
        quota_used_bytes=sum(used) * 1024 if used else None,
        quota_limit_bytes=sum(limits) * 1024 if limits else None,
    )


@dataclass(frozen=True)
class UserRow:
    user: User
    last_sign_in: datetime | None
    sessions: int
    two_factor: bool
    usage: MailUsage | None


def user_rows(search: str = "") -> list[UserRow]:
    """Return users with what an operator wants to see at a glance."""
    users = User.objects.order_by("username")
    if search:
        users = users.filter(username__icontains=search) | users.filter(
            email__icontains=search
        )
    return [
        UserRow(
            user=user,
            last_sign_in=user.last_login,
            sessions=usersessions.count_active(user),
            two_factor=twofactor.is_enabled(user),
            usage=mail_usage_for_user(user),
        )
        for user in users[:500]
    ]


def describe_changes(before: dict[str, object], after: User) -> str:
    changed = [
        f"{name}={getattr(after, name)}"
        for name, value in before.items()
        if getattr(after, name) != value
    ]
    return ", ".join(changed) or "no change"


def set_password(request: HttpRequest, user: User, password: str) -> None:
    """Set a user's password; their sessions elsewhere end."""
    user.set_password(password)
    user.save(update_fields=["password"])
    usersessions.end_all(user, request, by_admin=True)
    audit.record_admin_action(request, user, "password set")


def clear_lockout(request: HttpRequest, user: User) -> None:
    """Forget the user's failed sign-ins, ending a lockout of the user name."""
    reset(username=user.get_username())
    audit.record_admin_action(request, user, "sign-in lockout cleared")


def delete_user(request: HttpRequest, user: User) -> None:
    name = user.get_username()
    usersessions.end_all(user, request, by_admin=True)
    user.delete()
    audit.record_admin_action(request, None, "user deleted", username=name)


TRUE_WORDS = {"1", "true", "yes", "y", "on", "x"}
FALSE_WORDS = {"", "0", "false", "no", "n", "off"}
COLUMNS = [
    "username",
    "email",
    "first_name",
    "last_name",
    "password",
    "is_staff",
    "require_2fa",
]


@dataclass
class ImportReport:
    """What an import did, or would do on a dry run."""

    dry_run: bool
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class _DryRun(Exception):
    pass


def _flag(value: str, line: int, column: str) -> bool:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValidationError(
        _("line %(line)d: %(column)s must be yes or no, not %(value)s")
        % {"line": line, "column": column, "value": repr(value)}
    )


def _import_row(
    row: dict[str, str], line: int, report: ImportReport, may_touch_superusers: bool
) -> None:
    username = (row.get("username") or "").strip()
    if not username:
        raise ValidationError(_("line %(line)d: username is empty") % {"line": line})
    email = (row.get("email") or "").strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationError(
                _("line %(line)d: %(email)s is not an address")
                % {"line": line, "email": repr(email)}
            ) from None
    user = User.objects.filter(username=username).first()
    created = user is None
    if user is not None and user.is_superuser and not may_touch_superusers:
        raise ValidationError(
            _("line %(line)d: only a superuser may change %(username)s")
            % {"line": line, "username": username}
        )
    if user is None:
        user = User(username=username)
        user.set_unusable_password()
    if email:
        user.email = email
    for name in ("first_name", "last_name"):
        if row.get(name):
            setattr(user, name, row[name].strip())
    user.is_staff = _flag(row.get("is_staff") or "", line, "is_staff")
    user.require_2fa = _flag(row.get("require_2fa") or "", line, "require_2fa")
    password = row.get("password") or ""
    if password:
        try:
            password_validation.validate_password(password, user)
        except ValidationError as exc:
            reasons = " ".join(exc.messages)
            raise ValidationError(
                _("line %(line)d: password: %(reasons)s")
                % {"line": line, "reasons": reasons}
            ) from None
        user.set_password(password)
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as exc:
        reasons = " ".join(exc.messages)
        raise ValidationError(
            _("line %(line)d: %(reasons)s") % {"line": line, "reasons": reasons}
        ) from None
    user.save()
    (report.created if created else report.updated).append(username)


def import_users(request: HttpRequest, data: bytes, *, dry_run: bool) -> ImportReport:
    """Create or update users from CSV; nothing is kept if any line fails.

    A dry run goes through every step, then rolls back.
    """
    report = ImportReport(dry_run=dry_run)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        report.errors.append(_("The file is not UTF-8 text."))
        return report
    reader = csv.DictReader(io.StringIO(text))
    may_touch_superusers = bool(getattr(request.user, "is_superuser", False))
    unknown = set(reader.fieldnames or []) - set(COLUMNS)
    if not reader.fieldnames or "username" not in reader.fieldnames:
        report.errors.append(_("The first line must name the columns, with username."))
        return report
    if unknown:
        report.errors.append(
            _("Unknown columns: %(columns)s.") % {"columns": ", ".join(sorted(unknown))}
        )
        return report
    try:
        with transaction.atomic():
            for line, row in enumerate(reader, start=2):
                try:
                    with transaction.atomic():
                        _import_row(row, line, report, may_touch_superusers)
                except ValidationError as exc:
                    report.errors.extend(exc.messages)
            if dry_run or report.errors:
                raise _DryRun
    except _DryRun:
        pass
    if not dry_run and not report.errors:
        audit.record_admin_action(
            request,
            None,
            f"imported users: {len(report.created)} created, "
            f"{len(report.updated)} updated",
        )
    return report
