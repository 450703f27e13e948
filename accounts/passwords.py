"""Password hashing with a bounded cost in memory and time.

Every password a web process hashes or checks goes through Argon2Hasher
(first in PASSWORD_HASHERS): sign-in, the dummy hash Django runs for a user
name nobody has, password changes, the operator pages, CSV imports.

- Its parameters were measured on a 2-core server (README, "Sign-in"): about
  30 ms and 24 MiB a hash. Django upgrades an older hash at the next sign-in.
- A password longer than MAX_LENGTH is never hashed: forms refuse it first
  (with TOO_LONG), and the hasher refuses it as a last guard.
- Hashes run on SIGNIN_CONCURRENT_HASHES threads of their own per process,
  so at most that many Argon2 blocks are in memory at once. A hash that
  cannot start within SIGNIN_HASH_WAIT seconds raises HashingBusy; the
  sign-in page and AccountSecurityMiddleware answer it with BUSY and 429.
  Own threads, not a semaphore on the page threads: glibc keeps a freed
  block (under 32 MiB) in the arena of the thread that used it, and hashing
  on any of the 32 page threads left one block resident per arena.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.core.exceptions import ValidationError
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

MAX_LENGTH = 1024

TOO_LONG = gettext_lazy(
    "That password is too long: at most %(limit_value)d characters."
)
BUSY = gettext_lazy("Too many sign-ins at once; try again in a moment.")

Result = TypeVar("Result")


class HashingBusy(Exception):
    """Every hashing thread stayed busy: the request may be tried again soon."""


class PasswordTooLong(ValueError):
    """A password over MAX_LENGTH reached the hasher past every form."""


_threads: ThreadPoolExecutor | None = None
_threads_lock = threading.Lock()


def _hashing_threads() -> ThreadPoolExecutor:
    global _threads
    with _threads_lock:
        if _threads is None:
            _threads = ThreadPoolExecutor(
                max_workers=settings.SIGNIN_CONCURRENT_HASHES,
                thread_name_prefix="password-hash",
            )
        return _threads


@receiver(setting_changed)
def _resize(*, setting: str, **kwargs: Any) -> None:
    global _threads
    if setting == "SIGNIN_CONCURRENT_HASHES":
        with _threads_lock:
            if _threads is not None:
                _threads.shutdown(wait=False)
            _threads = None


def run_hashing(work: Callable[..., Result], *args: Any) -> Result:
    """Run work(*args) on a hashing thread; HashingBusy if none is free in time."""
    future: Future[Result] = _hashing_threads().submit(work, *args)
    try:
        return future.result(timeout=settings.SIGNIN_HASH_WAIT)
    except FutureTimeout:
        if future.cancel():
            raise HashingBusy from None
        # It started after all: let it finish.
        return future.result()


class Argon2Hasher(Argon2PasswordHasher):
    """Django's Argon2id, with the costs measured here, on the hashing threads."""

    time_cost = 2
    memory_cost = 24 * 1024  # KiB
    parallelism = 1

    def encode(self, password: str, salt: str) -> str:
        if len(password) > MAX_LENGTH:
            raise PasswordTooLong
        return run_hashing(super().encode, password, salt)

    def verify(self, password: str, encoded: str) -> bool:
        if len(password) > MAX_LENGTH:
            return False
        return run_hashing(super().verify, password, encoded)


class MaximumLengthValidator:
    """Refuse a new password longer than MAX_LENGTH (AUTH_PASSWORD_VALIDATORS)."""

    def validate(self, password: str, user: object = None) -> None:
        if len(password) > MAX_LENGTH:
            raise ValidationError(
                TOO_LONG, code="password_too_long", params={"limit_value": MAX_LENGTH}
            )

    def get_help_text(self) -> str:
        return _("Your password can be at most %(limit_value)d characters.") % {
            "limit_value": MAX_LENGTH
        }
