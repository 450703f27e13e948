"""Sessions kept in the database and read through Redis, through a Redis outage.

Django's cached_db engine falls back to the database when a cache read
fails, but then writes the session back to the cache unguarded, so with
Redis down every signed-in page failed; and a save logged a traceback for
every request. Here the database alone answers until Redis is back, and
the outage is logged once (webmail.shared.outage). Deleting a session
still fails while Redis is away: a signed-out session must not live on in
a cache that comes back.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.sessions.backends import cached_db, db
from django.core.cache import caches
from redis.exceptions import RedisError

from webmail.shared import outage

# Sessions signed in before LocalUserBackend took Django's ModelBackend's
# place name the old one: they stay signed in.
_RENAMED_BACKENDS = {
    "django.contrib.auth.backends.ModelBackend": "accounts.backends.LocalUserBackend"
}


class SessionStore(cached_db.SessionStore):
    def load(self) -> dict[str, Any]:
        try:
            data = super().load()
        except RedisError as exc:
            outage.redis.failed("sessions read from the database only", exc)
            data = db.SessionStore.load(self)
        renamed = _RENAMED_BACKENDS.get(data.get(BACKEND_SESSION_KEY, ""))
        if renamed is not None:
            data[BACKEND_SESSION_KEY] = renamed
        return data

    def exists(self, session_key: str) -> bool:
        try:
            return bool(super().exists(session_key))
        except RedisError as exc:
            outage.redis.failed("sessions read from the database only", exc)
            return bool(db.SessionStore.exists(self, session_key))

    def save(self, must_create: bool = False) -> None:
        # cached_db's save, without its traceback on every request while
        # Redis is down: the outage is logged once.
        db.SessionStore.save(self, must_create)
        try:
            cache = caches[settings.SESSION_CACHE_ALIAS]
            cache.set(self.cache_key, dict(self.items()), self.get_expiry_age())
        except RedisError as exc:
            outage.redis.failed("sessions kept in the database only", exc)
