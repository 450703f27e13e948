"""The answer to a request that cannot be read: a 400 that says why.

An impossible id (webmail.mail.ids.BadId) says which value was wrong. A
form over Django's limits (DATA_UPLOAD_MAX_NUMBER_FIELDS and
DATA_UPLOAD_MAX_MEMORY_SIZE) is almost always a selection of very many
messages, so the answer says how to act on them all. An htmx request gets
the text alone, for the page to show where it shows an action's outcome.
"""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from webmail.mail.ids import BadId
from webmail.views.layout import is_htmx


def _reason(exception: Exception | None) -> str:
    if isinstance(exception, BadId):
        return str(exception)
    if isinstance(exception, TooManyFieldsSent | RequestDataTooBig):
        return _(
            "Too many messages were selected to act on at once. Select fewer, "
            "or choose the whole folder or search with its “Select all” link, "
            "and try again."
        )
    return _("The request could not be read. Reload the page and try again.")


def bad_request(request: HttpRequest, exception: Exception | None) -> HttpResponse:
    """Answer a request that cannot be read with a 400 and the reason."""
    reason = _reason(exception)
    if is_htmx(request):
        return HttpResponse(
            reason, status=400, content_type="text/plain; charset=utf-8"
        )
    return render(request, "400.html", {"reason": reason}, status=400)
