"""The Celery application that runs the IMAP workers."""

import logging
import os
from typing import Any

from celery import Celery
from celery.signals import after_setup_logger, task_postrun, task_prerun
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webmail.settings")

app = Celery("webmail")
app.config_from_object("django.conf:settings", namespace="CELERY")


@after_setup_logger.connect
def _keep_mail_out_of_logs(**kwargs: Any) -> None:
    # At INFO, Celery logs every task's return value, and a body fetch
    # returns the message's text: mail content must never reach a log.
    logging.getLogger("celery.app.trace").setLevel(logging.WARNING)


def _close_old_database_connections(sender: Any = None, **kwargs: Any) -> None:
    # A task is treated as Django treats a request (CELERY_DB_REUSE_MAX keeps
    # Celery from closing the connection around each one): a connection that
    # broke or outlived CONN_MAX_AGE is closed, a pooled one goes back to its
    # pool, and with CONN_HEALTH_CHECKS a kept one is checked before its next
    # query. Not for a task run eagerly inside a caller's transaction.
    if not getattr(getattr(sender, "request", None), "is_eager", False):
        close_old_connections()


task_prerun.connect(_close_old_database_connections)
task_postrun.connect(_close_old_database_connections)
