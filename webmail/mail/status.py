"""The verbs for what the user is told of an account: refused actions, its server."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.http import Http404
from django.utils import timezone

from accounts.models import MailAccount
from webmail.mail.errors_shown import shown_error
from webmail.models import AccountState, OperationState, PendingOperation
from webmail.shared.prepared import Prepared

# The actions the user is told of until they dismiss them: those the server
# refused, and those done without messages another client removed first.
TOLD = (OperationState.FAILED, OperationState.PARTIAL)
OVER_QUOTA = "OverQuota"
# The newest such actions looked at for the notices (most pages: none).
SHOWN_FAILURES = 100


@dataclass(frozen=True)
class Failure:
    """One notice on the page: refused actions, or one action done in part.

    Actions refused on one folder for one reason are one notice; an action
    done in part (state "partial") is a notice of its own, and its payload
    names the messages another client removed first ("missing").
    """

    # The newest operation's id, which the notice's "Dismiss" names.
    id: int
    folder_name: str
    # The messages the actions were to change.
    uids: list[int]
    last_error: str
    state: str = OperationState.FAILED
    kind: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    # Why the server refused ("OverQuota"), for the words the page uses.
    error_kind: str = ""

    @property
    def over_quota(self) -> bool:
        """The mailbox was full: the page names the action and offers space."""
        return self.error_kind == OVER_QUOTA


def failed_operations(account: MailAccount) -> list[Failure]:
    """Return the notices of refused or partly done actions not dismissed.

    After a folder was rebuilt on the server (a new UIDVALIDITY), every
    change that was waiting for it fails alike, message by message: those
    are one notice. The query reads only what the page shows: it runs on
    every list page, where the columns cost more than the (usually empty)
    answer.
    """
    notices: dict[object, Failure] = {}
    # Each refused notice's messages in order, once each.
    uids: dict[object, dict[int, None]] = {}
    for op in _TOLD.objects(account.id):
        if op.state == OperationState.PARTIAL:
            notices[op.id] = Failure(
                op.id,
                op.folder_name,
                list(op.uids),
                op.last_error,
                op.state,
                op.kind,
                op.payload or {},
            )
            continue
        # A full mailbox is told per action (a copy, a move): the notice
        # names it.
        quota_kind = op.kind if op.error_kind == OVER_QUOTA else ""
        key = (op.folder_name, op.last_error, quota_kind)
        if key not in notices:
            notices[key] = Failure(
                op.id,
                op.folder_name,
                [],
                op.last_error,
                kind=quota_kind,
                payload=(op.payload or {}) if quota_kind else {},
                error_kind=op.error_kind,
            )
            uids[key] = {}
        uids[key].update(dict.fromkeys(op.uids))
    return [
        replace(notice, uids=list(uids[key])) if key in uids else notice
        for key, notice in notices.items()
    ]


_TOLD = Prepared(
    lambda account_id: (
        PendingOperation.objects.filter(
            account_id=account_id, state__in=TOLD, dismissed=False
        )
        .only(
            "kind",
            "folder_name",
            "uids",
            "payload",
            "state",
            "last_error",
            "error_kind",
        )
        .order_by("-id")[:SHOWN_FAILURES]
    )
)


def waiting_operations(account: MailAccount) -> int:
    """Return how many actions still wait to reach the server."""
    return PendingOperation.objects.filter(
        account=account, state=OperationState.PENDING
    ).count()


def dismiss_failure(account: MailAccount, operation_id: int) -> None:
    """Hide a notice; 404 if not the account's.

    A refused action's notice is dismissed whole: the operation it names and
    the older ones refused on the same folder for the same reason.
    """
    named = PendingOperation.objects.filter(
        account=account, id=operation_id, state__in=TOLD
    ).first()
    if named is None:
        raise Http404("No such failure.")
    if named.state == OperationState.PARTIAL:
        PendingOperation.objects.filter(id=named.id).update(dismissed=True)
        return
    alike = PendingOperation.objects.filter(
        account=account,
        state=OperationState.FAILED,
        folder_name=named.folder_name,
        last_error=named.last_error,
        id__lte=named.id,
    )
    if named.error_kind == OVER_QUOTA:
        alike = alike.filter(kind=named.kind)
    alike.update(dismissed=True)


def account_error(account: MailAccount) -> str:
    """Return why the account's server cannot be used right now, or ""."""
    state = AccountState.objects.filter(account=account).first()
    return state.error if state else ""


def state_error(account: MailAccount) -> str:
    """account_error() of an account from accounts_for_user(), without a query.

    Worded for the reader: in the language of the request where its kind
    is known (see errors_shown).
    """
    try:
        state = account.sync_state
    except AccountState.DoesNotExist:
        return ""
    if not state.error:
        return ""
    return shown_error(account, state.error_kind, state.error)


# Errors that say the server cannot be reached at all (as opposed to a
# refused password): while one is recent, asking the worker for mail
# would only wait in vain.
UNREACHABLE_KINDS = ("ServerUnreachable", "Timeout")


def unreachable_error(account: MailAccount) -> str:
    """Return why the account's server is known to be unreachable now, or "".

    Known: the worker recorded such an error within UNREACHABLE_FAIL_FAST
    seconds, and has not reached the server since (which clears it).
    Worded for the reader, as state_error().
    """
    since = timezone.now() - timedelta(seconds=int(settings.UNREACHABLE_FAIL_FAST))
    row = (
        AccountState.objects.filter(
            account_id=account.id,
            error_kind__in=UNREACHABLE_KINDS,
            error_at__gte=since,
        )
        .values_list("error_kind", "error")
        .first()
    )
    return shown_error(account, row[0], row[1]) if row else ""
