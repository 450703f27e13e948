"""The one way a request reaches a mail account: through its owner."""

from django.http import Http404

from accounts.models import MailAccount, User


def get_account_for_user(user: User, account_id: int) -> MailAccount:
    """Return the user's mail account with this id, or 404.

    Another user's id gets the same 404 as an id that does not exist, so ids
    cannot be probed.
    """
    try:
        return MailAccount.objects.get(id=account_id, user=user, user__is_active=True)
    except MailAccount.DoesNotExist:
        raise Http404("No such mail account.") from None


def default_account_for_user(user: User) -> MailAccount | None:
    return MailAccount.objects.filter(user=user).order_by("id").first()
