"""A user's signed-in sessions: recorded at sign-in, listed, ended.

Works with any session engine: sessions are ended through the engine's own
SessionStore, and UserSession only remembers which keys belong to whom.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.contrib.sessions.backends.base import SessionBase
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext
from ua_parser import parse

from accounts import audit
from accounts.models import AuditKind, User, UserSession

# last_seen is written at most this often, not on every request.
TOUCH_EVERY = timedelta(minutes=5)
SEEN_KEY = "accounts_seen"


def _store(session_key: str | None = None) -> SessionBase:
    engine = import_module(settings.SESSION_ENGINE)
    store: SessionBase = engine.SessionStore(session_key)
    return store


@receiver(user_logged_in)
def _remember(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    key = request.session.session_key
    if not key:
        request.session.save()
        key = request.session.session_key
    if not key:
        return
    UserSession.objects.update_or_create(
        session_key=key,
        defaults={
            "user": user,
            "ip": audit.client_ip(request),
            "user_agent": request.headers.get("User-Agent", "")[:255],
        },
    )


@receiver(user_logged_out)
def _forget(
    sender: Any, request: HttpRequest, user: User | None, **kwargs: Any
) -> None:
    key = request.session.session_key
    if key:
        UserSession.objects.filter(session_key=key).delete()


def touch(request: HttpRequest) -> None:
    """Note that the request's session is in use.

    The time of the last note is kept in the session itself, so most
    requests read nothing and write nothing.
    """
    key = request.session.session_key
    if not key:
        return
    now = timezone.now()
    seen = request.session.get(SEEN_KEY)
    if isinstance(seen, float) and now.timestamp() - seen < TOUCH_EVERY.seconds:
        return
    request.session[SEEN_KEY] = now.timestamp()
    UserSession.objects.filter(session_key=key).update(last_seen=now)


@dataclass(frozen=True)
class Shown:
    """A session as its list shows it."""

    id: int
    session_key: str
    created_at: datetime
    last_seen: datetime
    ip: str | None
    user_agent: str
    # "Chrome on Android": what a person calls the browser.
    browser: str


def shown(record: UserSession) -> Shown:
    return Shown(
        record.id,
        record.session_key,
        record.created_at,
        record.last_seen,
        record.ip,
        record.user_agent,
        browser_and_system(record.user_agent),
    )


@functools.lru_cache(maxsize=256)
def browser_and_system(user_agent: str) -> str:
    """What a person calls the browser of a session: "Chrome on Android"."""
    found = parse(user_agent)
    browser = found.user_agent.family if found.user_agent else ""
    system = found.os.family if found.os else ""
    if browser in ("", "Other"):
        return gettext("Unknown browser")
    if system in ("", "Other"):
        return browser
    return gettext("%(browser)s on %(system)s") % {"browser": browser, "system": system}


def active_sessions(user: User) -> list[UserSession]:
    """Return the user's live sessions, dropping records of expired ones."""
    live: list[UserSession] = []
    for record in UserSession.objects.filter(user=user):
        if _store().exists(record.session_key):
            live.append(record)
        else:
            record.delete()
    return live


def count_active(user: User) -> int:
    return len(active_sessions(user))


def end_session(record: UserSession) -> None:
    """Sign one session out."""
    _store().delete(record.session_key)
    record.delete()


def end_all(user: User, request: HttpRequest, *, by_admin: bool = False) -> int:
    """Sign the user out everywhere, this browser included; return how many."""
    records = list(UserSession.objects.filter(user=user))
    for record in records:
        end_session(record)
    actor = request.user if by_admin and isinstance(request.user, User) else None
    audit.record(
        AuditKind.SESSIONS_ENDED,
        request=request,
        user=user,
        actor=actor,
        detail=f"{len(records)} sessions",
    )
    return len(records)


def get_session_for_user(user: User, session_id: int) -> UserSession | None:
    """Return the user's own session record with this id, or None."""
    return UserSession.objects.filter(id=session_id, user=user).first()
