"""A message's body as the document of a sandboxed frame.

The document holds the message's text and, below it, the messages attached
to it (their headers, text and files). The reading pane carries it in its
answer, as the srcdoc of an <iframe sandbox> without allow-scripts or
allow-same-origin: opening a message is one request. It is also served on
its own URL (a conversation's frames, new tabs, direct links).

The document carries its own strict policy in a <meta> (a srcdoc has no
headers; on its own URL the same policy is also a header), so the body stays
inert even if the sandbox attribute were lost: no scripts, no plugins, no
forms, images only from this site (the image proxy and inline parts) or
data: URLs, and styles only inline. A srcdoc also inherits the page's
policy, which allows its stylesheet and style attributes and nothing more
(webmail/settings.py): the two together are stricter than either.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec, cast

from asgiref.sync import sync_to_async
from csp.constants import NONE, SELF
from csp.decorators import csp
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

from accounts.access import get_account_for_user
from accounts.models import MailAccount
from webmail.mail import bodies, proxy, reading
from webmail.mail.bodies import BodyState
from webmail.views import attached, present, remote

if TYPE_CHECKING:
    from webmail.models import Folder, Message

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

P = ParamSpec("P")


@functools.cache
def meta_policy() -> str:
    """BODY_POLICY as the document's <meta> states it.

    frame-ancestors is left out: a <meta> policy may not set it (the
    header does, on the body's own URL).
    """
    return "; ".join(
        f"{name} {' '.join(values)}"
        for name, values in BODY_POLICY.items()
        if name != "frame-ancestors"
    )


def body_policy(view: Callable[P, HttpResponse]) -> Callable[P, HttpResponse]:
    """Give a view's responses BODY_POLICY (csp's own decorator, typed)."""
    return cast(Callable[P, HttpResponse], csp(BODY_POLICY)(view))  # type: ignore[arg-type]


@require_GET
@login_required
@xframe_options_sameorigin
@body_policy
def body_view(
    request: HttpRequest, account_id: int, folder_id: int, uid: int
) -> HttpResponse:
    """Serve a message's sanitized HTML, for the reading pane's frame.

    A body the worker does not send at once is waited for by
    body_wait_view, where the wait holds none of the page threads.
    """
    account = get_account_for_user(request.user, account_id)  # type: ignore[arg-type]
    folder = reading.get_folder(account, folder_id)
    message = reading.get_message(folder, uid)
    body = bodies.frame_body(account, folder, uid, defer=True)
    if "pending" in body:
        args = [account.id, folder.id, uid, body["pending"]]
        url = reverse("mail_body_wait", args=args)
        query = request.GET.urlencode()
        if query:
            url = f"{url}?{query}"
        return HttpResponseRedirect(url)
    return _frame(request, account, folder, message, body)


@require_GET
@login_required
async def body_wait_view(
    request: HttpRequest, account_id: int, folder_id: int, uid: int, token: str
) -> HttpResponse:
    """body_view for a body that was still on its way (an async wait)."""
    user = await request.auser()
    assert user.pk is not None  # signed in
    body = await bodies.await_body(int(user.pk), token)
    return await sync_to_async(_frame_with_body)(
        request, account_id, folder_id, uid, body
    )


@xframe_options_sameorigin
@body_policy
def _frame_with_body(
    request: HttpRequest,
    account_id: int,
    folder_id: int,
    uid: int,
    body: dict[str, Any],
) -> HttpResponse:
    account = get_account_for_user(request.user, account_id)  # type: ignore[arg-type]
    folder = reading.get_folder(account, folder_id)
    message = reading.get_message(folder, uid)
    return _frame(request, account, folder, message, body)


def _frame(
    request: HttpRequest,
    account: MailAccount,
    folder: Folder,
    message: Message,
    body: dict[str, Any],
) -> HttpResponse:
    """Render the frame: the body's HTML, or why it could not be loaded."""
    state = bodies.body_state(account.id, folder, message.uid, body)
    if state.error is not None:
        # Not an empty page: the frame says what went wrong, and the
        # status says it is not the message.
        failed = {
            "error": state.error,
            "subject": message.subject,
            "policy": meta_policy(),
        }
        html = render_to_string("webmail/body.html", failed)
        response = HttpResponse(html, status=503)
    else:
        allowed = shows_remote(request, message)
        response = HttpResponse(document(account, folder, message, state, allowed))
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, no-store"
    return response


def shows_remote(request: HttpRequest, message: Message) -> bool:
    """Whether the reader asked for remote images, or always sees this sender's."""
    return request.GET.get("images") == "show" or remote.sender_allowed(
        request, message.from_address
    )


def document(
    account: MailAccount,
    folder: Folder,
    message: Message,
    state: BodyState,
    allow_remote: bool,
) -> str:
    """Return the frame's HTML document for a loaded body.

    With allow_remote, remote images load through the image proxy.
    """
    html = bodies.shown_html(
        account,
        folder,
        message.uid,
        state,
        allow_remote=allow_remote,
        rewrite_url=proxy.url_rewriter(account.user_id) if allow_remote else None,
    )
    url = present.message_url(account.id, folder.id, message.uid)
    context = {
        "html": html,
        "subject": message.subject,
        "forwarded": attached.forwarded_views(url, state.forwarded),
        "policy": meta_policy(),
    }
    return render_to_string("webmail/body.html", context)
