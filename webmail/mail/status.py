"""The verbs for what the user is told of an account: refused actions, its server."""

from __future__ import annotations

from dataclasses import dataclass, replace

from django.http import Http404

from accounts.models import MailAccount
from webmail.mail.errors_shown import shown_error
from webmail.models import AccountState, OperationState, PendingOperation
from webmail.shared.prepared import Prepared

# The newest refused actions looked at for the notices (most pages: none).
SHOWN_FAILURES = 100


@dataclass(frozen=True)
class Failure:
    """Refused actions on one folder for one reason: one notice on the page."""

    # The newest operation's id, which the notice's "Dismiss" names.
    id: int
    folder_name: str
    # The messages the actions were to change.
    uids: list[int]
    last_error: str


def failed_operations(account: MailAccount) -> list[Failure]:
    """Return the actions the server refused that the user has not dismissed.

    Actions refused on the same folder for the same reason are one notice:
    after a folder was rebuilt on the server (a new UIDVALIDITY), every
    change that was waiting for it fails alike, message by message. The
    query reads only what the page shows: it runs on every list page, where
    the columns cost more than the (usually empty) answer.
    """
    groups: dict[tuple[str, str], Failure] = {}
    # Each notice's messages in order, once each (dicts keep their order).
    uids: dict[tuple[str, str], dict[int, None]] = {}
    for op in _FAILED.objects(account.id):
        key = (op.folder_name, op.last_error)
        if key not in groups:
            groups[key] = Failure(op.id, op.folder_name, [], op.last_error)
            uids[key] = {}
        uids[key].update(dict.fromkeys(op.uids))
    return [replace(failure, uids=list(uids[key])) for key, failure in groups.items()]


_FAILED = Prepared(
    lambda account_id: (
        PendingOperation.objects.filter(
            account_id=account_id, state=OperationState.FAILED, dismissed=False
        )
        .only("folder_name", "uids", "last_error")
        .order_by("-id")[:SHOWN_FAILURES]
    )
)


def waiting_operations(account: MailAccount) -> int:
    """Return how many actions still wait to reach the server."""
    return PendingOperation.objects.filter(
        account=account, state=OperationState.PENDING
    ).count()


def dismiss_failure(account: MailAccount, operation_id: int) -> None:
    """Hide a refused action's notice; 404 if not theirs.

    The notice is dismissed whole: the operation it names and the older
    ones refused on the same folder for the same reason.
    """
    named = PendingOperation.objects.filter(
        account=account, id=operation_id, state=OperationState.FAILED
    ).first()
    if named is None:
        raise Http404("No such failure.")
    PendingOperation.objects.filter(
        account=account,
        state=OperationState.FAILED,
        folder_name=named.folder_name,
        last_error=named.last_error,
        id__lte=named.id,
    ).update(dismissed=True)


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
