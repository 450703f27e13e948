"""The image proxy's view: remote images of mail, fetched by the server."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.views.decorators.http import require_GET

from webmail.mail import proxy

log = logging.getLogger(__name__)

# A proxied URL always names the same image for the same user.
CACHE_SECONDS = 7 * 24 * 3600


@require_GET
def image_proxy(request: HttpRequest, user_id: int, token: str) -> HttpResponse:
    """Serve the remote image that a token signed for the user names.

    No session is needed (the sandboxed message frame sends no cookies);
    a token verifies only with the salt of the user it was made for.
    """
    try:
        url = proxy.unsign(user_id, token)
        image = proxy.fetch(url)
    except proxy.ProxyError as exc:
        log.info("image proxy refused: %s", exc)
        return HttpResponseNotFound(b"", content_type="text/plain")
    response = HttpResponse(image.content, content_type=image.content_type)
    response["Cache-Control"] = f"private, max-age={CACHE_SECONDS}, immutable"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
