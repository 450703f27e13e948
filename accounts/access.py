"""The one way a request reaches a mail account: through its owner."""

from django.http import Http404

from accounts.models import MailAccount, User
from webmail.shared.prepared import Prepared


def get_account_for_user(user: User, account_id: int) -> MailAccount:
    """Return the user's mail account with this id, or 404.

    Another user's id gets the same 404 as an id that does not exist, so ids
    cannot be probed.
    """
    account = _ACCOUNT.first((int(account_id), int(user.pk)))
    if account is None:
        raise Http404("No such mail account.")
    # Its user is the one asked for: account.user costs no second query.
    account.user = user
    return account


# Every page of one account reads it first: compiled once. With its sync
# state, which most pages show (folders, quota, errors).
_ACCOUNT = Prepared(
    lambda key: MailAccount.objects.select_related("sync_state").filter(
        id=key[0], user_id=key[1], user__is_active=True
    ),
    values=2,
)


def accounts_for_user(user: User | int) -> list[MailAccount]:
    """Return all of the user's mail accounts (none for a disabled user).

    With their sync state, so that a page showing the account list and the
    current account's state needs one query for both. Only what the mail
    pages show of them is read (the address, the server's name, the state's
    error and quota): the list page asks for this on every view, and the other
    columns cost it more than the query. Others load when first used.
    """
    return _ACCOUNTS.objects(user.pk if isinstance(user, User) else user)


# What accounts_for_user() reads (the id always comes along).
PAGE_FIELDS = (
    "user_id",
    "email",
    "imap_host",
    "sync_state__error",
    "sync_state__error_kind",
    # The quota meter beside the folders.
    "sync_state__quota_used_kb",
    "sync_state__quota_limit_kb",
    # Where the user's own folders start, for the folder tree.
    "sync_state__folder_prefix",
)


_ACCOUNTS = Prepared(
    lambda user_id: (
        MailAccount.objects.filter(user_id=user_id, user__is_active=True)
        .select_related("sync_state")
        .only(*PAGE_FIELDS)
        .order_by("id")
    )
)


def pick_account(accounts: list[MailAccount], account_id: int) -> MailAccount:
    """Return the account with this id from accounts_for_user(), or 404."""
    for account in accounts:
        if account.id == account_id:
            return account
    raise Http404("No such mail account.")


def default_account_for_user(user: User) -> MailAccount | None:
    return MailAccount.objects.filter(user=user).order_by("id").first()
