"""A message's body, served on its own URL for the sandboxed frame.

The frame holds the message's text and, below it, the messages attached
to it (their headers, text and files). The reading pane shows it in an
<iframe sandbox> without allow-scripts or allow-same-origin. This response
carries its own strict policy as well, so the body stays inert even if the
sandbox attribute were lost: no scripts, no plugins, no forms, images only
from this site (the image proxy and inline parts) or data: URLs, and
styles only inline.
"""

from __future__ import annotations

from csp.constants import NONE, SELF
from csp.decorators import csp
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

from accounts.access import get_account_for_user
from webmail.mail import bodies, proxy, reading
from webmail.views import present, remote

BODY_POLICY = {
    "default-src": [NONE],
    "img-src": [SELF, "data:"],
    "style-src": ["'unsafe-inline'"],
    "font-src": [NONE],
    "script-src": [NONE],
    "object-src": [NONE],
    "form-action": [NONE],
    "base-uri": [NONE],
    # Only the reading pane of this site may frame it.
    "frame-ancestors": [SELF],
}


@require_GET
@login_required
@xframe_options_sameorigin
@csp(BODY_POLICY)  # type: ignore[arg-type]
def body_view(
    request: HttpRequest, account_id: int, folder_id: int, uid: int
) -> HttpResponse:
    """Serve a message's sanitized HTML, for the reading pane's frame."""
    account = get_account_for_user(request.user, account_id)  # type: ignore[arg-type]
    folder = reading.get_folder(account, folder_id)
    message = reading.get_message(folder, uid)
    allow_remote = request.GET.get("images") == "show" or remote.sender_allowed(
        request, message.from_address
    )
    body = bodies.open_message(account, folder, message)
    html = body.html
    if allow_remote and not body.error:
        html = bodies.message_html(
            account,
            folder,
            uid,
            allow_remote=True,
            rewrite_url=proxy.url_rewriter(account.user_id),
        )
    url = present.message_url(account.id, folder.id, uid)
    context = {
        "html": html,
        "forwarded": present.forwarded_views(url, body.forwarded),
    }
    response = render(request, "webmail/body.html", context)
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, no-store"
    return response
