"""The Celery application that runs the IMAP workers."""

import logging
import os
from typing import Any

from celery import Celery
from celery.signals import after_setup_logger

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webmail.settings")

app = Celery("webmail")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@after_setup_logger.connect
def _keep_mail_out_of_logs(**kwargs: Any) -> None:
    # At INFO, Celery logs every task's return value, and a body fetch
    # returns the message's text: mail content must never reach a log.
    logging.getLogger("celery.app.trace").setLevel(logging.WARNING)
