"""Sessions kept in the database and read through Redis, through a Redis outage.

Django's cached_db engine falls back to the database when a cache read
fails, but then writes the session back to the cache unguarded, so with
Redis down every signed-in page failed. Here the database alone answers
until Redis is back. Deleting a session still fails while Redis is away:
a signed-out session must not live on in a cache that comes back.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.sessions.backends import cached_db, db
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


class SessionStore(cached_db.SessionStore):
    def load(self) -> dict[str, Any]:
        try:
            return super().load()
        except RedisError as exc:
            logger.warning("Sessions read from the database only: %s", exc)
            return db.SessionStore.load(self)

    def exists(self, session_key: str) -> bool:
        try:
            return bool(super().exists(session_key))
        except RedisError:
            return bool(db.SessionStore.exists(self, session_key))
