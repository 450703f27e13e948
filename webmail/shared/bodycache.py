"""Rendered message bodies in the Django cache, which the worker writes and pages read.

A body is a dict: "text", "raw_html" (as the message has it), "html"
(sanitized for the default policy: no remote content), "has_remote_content",
"cid_parts" ([content-id, part id] pairs), "attachments" (part_id,
filename, content_type, size), "forwarded" (attached messages, as
webmail.mime.forwarded.attached_messages gives them, each with its
sanitized "html" and its "attachments"), "truncated" (whether the
text is only the start of a longer one) and "invitation" (a calendar
invitation's facts: webmail.mime.calendar.Invitation, or None); or
{"error": ...} when it could not be loaded. The worker renders it once
(webmail.engine.bodies); its key names account, folder, UIDVALIDITY, UID
and the sanitizer policy version.

A page that finds no body asks the account's worker for it and waits on a
Redis list of its own (a reply key), which the worker fills.
"""

from __future__ import annotations

from typing import Any

import redis
from django.core.cache import cache
from django.utils.translation import gettext_noop

from webmail.models import Folder
from webmail.shared import events

# Bump when the sanitizer's output or the cached fields change, so cached
# bodies are redone. 2: each file inside a winmail.dat has its own part id.
# 3: attached messages are kept to be read inline ("forwarded").
# 4: the start of a text part too large to show whole ("truncated").
# 5: "reply_to" ([name, address] pairs), for replies.
# 6: "invitation" (a calendar invitation's facts, or None).
POLICY_VERSION = 6

CACHE_SECONDS = 7 * 24 * 3600

# What the reader sees when the worker failed in an unforeseen way.
LOAD_FAILED = {"error": gettext_noop("The message could not be loaded.")}

# A reply nobody took (the reader gave up) is dropped after this (seconds).
REPLY_TTL = 60

# The web waits for a reply in blocking pops of at most this long (seconds),
# so that a dead Redis link shows within the client's socket timeout.
WAIT_SLICE = 5.0


def cache_key(account_id: int, folder: Folder, uid: int) -> str:
    """Return the cache key of a message body."""
    return (
        f"body:v{POLICY_VERSION}:{account_id}:{folder.id}:"
        f"{folder.uidvalidity or 0}:{uid}"
    )


def cached_body(account_id: int, folder: Folder, uid: int) -> dict[str, Any] | None:
    """Return the cached body of a message, or None (also while Redis is away)."""
    try:
        value = cache.get(cache_key(account_id, folder, uid))
    except redis.RedisError:
        return None
    return value if isinstance(value, dict) else None


def reply_client() -> redis.Redis:
    """Return this process's Redis client for replies (blocking pops)."""
    return events.redis_client(timeout=WAIT_SLICE + 5)
