"""Sender and subject of new messages, for desktop notifications.

When the event stream says a folder has new messages, a page whose user
asked for notifications fetches who sent them and what about from here
(events never carry content) and shows one notification per message.
"""

from __future__ import annotations

from contextlib import suppress

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.access import get_account_for_user
from webmail.mail import ids, reading
from webmail.views import present

# More new messages than this at once get no notification each.
MAX_NOTIFIED = 5


def _id(value: str | None) -> int:
    # Like an id in a path: one that names nothing is a 404.
    try:
        return ids.parse_id(value)
    except ids.BadId:
        raise Http404("No such folder.") from None


def _uids(value: str) -> list[int]:
    # A value that is no UID is left out: it has no notification to give.
    uids = []
    for part in value.split(","):
        with suppress(ids.BadId):
            uids.append(ids.parse_uid(part.strip()))
    return sorted(uids, reverse=True)[:MAX_NOTIFIED]


@require_GET
@login_required
def new_mail_view(request: HttpRequest) -> HttpResponse:
    """Return sender, subject and URL of ?uids= in ?account= and ?folder=."""
    account_id = _id(request.GET.get("account"))
    account = get_account_for_user(request.user, account_id)  # type: ignore[arg-type]
    folder = reading.get_folder(account, _id(request.GET.get("folder")))
    messages = reading.messages_with_uids(folder, _uids(request.GET.get("uids", "")))
    return JsonResponse(
        {
            "messages": [
                {
                    "uid": message.uid,
                    "sender": message.from_name or message.from_address,
                    "subject": message.subject or _("(no subject)"),
                    "url": present.message_url(account.id, folder.id, message.uid),
                }
                for message in messages
            ]
        }
    )
