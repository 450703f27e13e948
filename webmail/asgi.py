"""ASGI entry point: uvicorn serves pages and the event stream from here."""

import os
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application

if TYPE_CHECKING:
    from webmail import serving

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webmail.settings")


def make_application() -> "serving.Application":
    """Pages as WSGI in WEB_THREADS threads, streams as ASGI (webmail/serving.py)."""
    asgi_app = get_asgi_application()  # sets Django up
    # After set-up: it imports the URL resolver.
    from webmail import serving  # noqa: PLC0415

    return serving.Application(asgi_app, get_wsgi_application(), settings.WEB_THREADS)


application = make_application()
