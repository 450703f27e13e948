"""The verbs for what the user is told of an account: refused actions, its server."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.http import Http404
from django.utils import timezone

from accounts.models import MailAccount
from webmail.mail.errors_shown import shown_error
from webmail.models import AccountState, OperationState, PendingOperation
from webmail.shared.prepared import Prepared


def failed_operations(account: MailAccount) -> list[PendingOperation]:
    """Return the actions the server refused that the user has not dismissed.

    With only what the page shows of them: asked on every list page, where
    the columns cost more than the (usually empty) answer.
    """
    return _FAILED.objects(account.id)


_FAILED = Prepared(
    lambda account_id: (
        PendingOperation.objects.filter(
            account_id=account_id, state=OperationState.FAILED, dismissed=False
        )
        .only("folder_name", "uids", "last_error")
        .order_by("-id")[:20]
    )
)


def waiting_operations(account: MailAccount) -> int:
    """Return how many actions still wait to reach the server."""
    return PendingOperation.objects.filter(
        account=account, state=OperationState.PENDING
    ).count()


def dismiss_failure(account: MailAccount, operation_id: int) -> None:
    """Hide a failed action's error from the user; 404 if not theirs."""
    changed = PendingOperation.objects.filter(
        account=account, id=operation_id, state=OperationState.FAILED
    ).update(dismissed=True)
    if not changed:
        raise Http404("No such failure.")


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
