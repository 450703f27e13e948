"""A message's body, served on its own URL for the sandboxed frame.

The reading pane shows the body in an <iframe sandbox> without
allow-scripts or allow-same-origin. This response carries its own strict
policy as well, so the body stays inert even if the sandbox attribute were
lost: no scripts, no plugins, no forms, images only from this site (the
image proxy and inline parts) or data: URLs, and styles only inline.
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
from webmail.views import remote

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
    body = bodies.frame_body(account, folder, uid)
    if "error" in body:
        # Not an empty page: the frame says what went wrong, and the
        # status says it is not the message.
        error = bodies.body_state(account.id, folder, uid, body).error
        response = render(request, "webmail/body.html", {"error": error}, status=503)
    else:
        allow_remote = request.GET.get("images") == "show" or remote.sender_allowed(
            request, message.from_address
        )
        html = bodies.body_html(
            account,
            folder,
            uid,
            body,
            allow_remote=allow_remote,
            rewrite_url=proxy.url_rewriter(account.user_id) if allow_remote else None,
        )
        response = render(request, "webmail/body.html", {"html": html})
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, no-cache"
    return response
