"""Senders whose mail may show remote images (through the image proxy).

Kept in the session until the cache has a table for it: the choice then
lasts as long as the sign-in.
"""

from __future__ import annotations

from django.http import HttpRequest

SESSION_KEY = "webmail.remote_senders"
MAX_SENDERS = 500


def _normalise(address: str) -> str:
    return address.strip().lower()


def sender_allowed(request: HttpRequest, address: str) -> bool:
    """Whether the user chose to always see remote images from this sender."""
    if not address:
        return False
    return _normalise(address) in request.session.get(SESSION_KEY, [])


def allow_sender(request: HttpRequest, address: str) -> None:
    """Remember that the user always wants remote images from this sender."""
    senders = list(request.session.get(SESSION_KEY, []))
    address = _normalise(address)
    if address and address not in senders:
        senders = [*senders, address][-MAX_SENDERS:]
        request.session[SESSION_KEY] = senders
