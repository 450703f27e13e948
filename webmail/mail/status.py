"""The verbs for what the user is told of an account: refused actions, its server."""

from __future__ import annotations

from django.http import Http404

from accounts.models import MailAccount
from webmail.mail.errors_shown import shown_error
from webmail.models import AccountState, OperationState, PendingOperation
from webmail.shared.prepared import Prepared

# The actions the user is told of until they dismiss them: those the server
# refused, and those done without messages another client removed first.
TOLD = (OperationState.FAILED, OperationState.PARTIAL)


def failed_operations(account: MailAccount) -> list[PendingOperation]:
    """Return the actions the server refused, or did in part, not dismissed.

    With only what the page shows of them: asked on every list page, where
    the columns cost more than the (usually empty) answer.
    """
    return _FAILED.objects(account.id)


_FAILED = Prepared(
    lambda account_id: (
        PendingOperation.objects.filter(
            account_id=account_id, state__in=TOLD, dismissed=False
        )
        .only("kind", "folder_name", "uids", "payload", "state", "last_error")
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
        account=account, id=operation_id, state__in=TOLD
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
