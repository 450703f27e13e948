"""The webmail project: settings, URLs, the Celery app, and the mail packages.

Its floors (views, mail, door, engine, shared, models, imap, mime) are drawn
in docs/architecture.md and checked by the import contracts in pyproject.toml.
"""

from webmail.celery import app as celery_app

__all__ = ["celery_app"]
