"""The verbs of an open event stream: the account it watches, and keeping watch."""

from __future__ import annotations

from django.http import Http404

from accounts.access import default_account_for_user, get_account_for_user
from accounts.models import MailAccount, User
from webmail import door
from webmail.mail import ids
from webmail.models import Folder
from webmail.shared import events


def watch_target(
    user: User, account_param: str | None, folder_param: str | None
) -> tuple[int | None, int | None]:
    """Return (account id, folder id) an event stream watches for a user.

    Raises LookupError when the account or folder is not the user's.
    """
    account: MailAccount | None
    if account_param:
        try:
            account = get_account_for_user(user, ids.parse_id(account_param))
        except (Http404, ValueError):
            raise LookupError(account_param) from None
    else:
        account = default_account_for_user(user)
    if account is None:
        return None, None
    folder_id = None
    if folder_param:
        try:
            folder_id = Folder.objects.values_list("id", flat=True).get(
                id=ids.parse_id(folder_param), account=account
            )
        except (Folder.DoesNotExist, ValueError):
            raise LookupError(folder_param) from None
    return account.id, folder_id


def keep_watching(account_id: int, folder_id: int | None) -> None:
    """Keep the account's IDLE watcher alive (called by open event streams)."""
    events.mark_watching(account_id, folder_id)
    door.keep_watching(account_id)
