"""Where the files of messages being written live, and their removal.

The page writes uploads (webmail/mail/uploads.py), the worker reads them
into the messages it sends (webmail/engine/attachments.py); both find a
file by its row's stored_name under settings.COMPOSE_UPLOAD_DIR.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import time
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from webmail.models import SendState, Upload

logger = logging.getLogger(__name__)

# In OutgoingMessage.forward_parts: the whole original, forwarded as an
# attachment, instead of a part number.
WHOLE_MESSAGE = "message"


def upload_dir() -> Path:
    """The directory of the upload files, made if missing."""
    path = Path(settings.COMPOSE_UPLOAD_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def new_stored_name() -> str:
    """A fresh file name that nobody can guess."""
    return secrets.token_hex(24)


def path_of(upload: Upload) -> Path:
    """The file holding an upload's bytes."""
    return upload_dir() / upload.stored_name


def remove(uploads: Iterable[Upload]) -> int:
    """Delete uploads: their files, then their rows. Return how many."""
    ids = []
    for upload in uploads:
        with contextlib.suppress(FileNotFoundError):
            path_of(upload).unlink()
        ids.append(upload.id)
    Upload.objects.filter(id__in=ids).delete()
    return len(ids)


def clean_abandoned() -> int:
    """Remove uploads older than COMPOSE_UPLOAD_MAX_AGE hours that were never
    sent (or whose message failed), and stray files of no upload."""
    age = timedelta(hours=settings.COMPOSE_UPLOAD_MAX_AGE)
    before = timezone.now() - age
    stale = Upload.objects.filter(updated_at__lt=before).filter(
        Q(outgoing__isnull=True)
        | Q(outgoing__state__in=(SendState.SENT, SendState.FAILED))
    )
    count = remove(list(stale))
    known = set(Upload.objects.values_list("stored_name", flat=True))
    oldest = time.time() - age.total_seconds()
    for entry in os.scandir(upload_dir()):
        if entry.name in known or not entry.is_file():
            continue
        with contextlib.suppress(FileNotFoundError):
            if entry.stat().st_mtime < oldest:
                os.unlink(entry.path)
                count += 1
    if count:
        logger.info("Removed %d abandoned uploads", count)
    return count
