"""ASGI entry point: uvicorn serves pages and the event stream from here."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webmail.settings")

application = get_asgi_application()
