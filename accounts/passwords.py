"""Password hashing with a bounded cost in memory and time.

Every password a web process hashes or checks goes through Argon2Hasher
(first in PASSWORD_HASHERS): sign-in, the dummy hash Django runs for a user
name nobody has, password changes, the operator pages, CSV imports.

- Its parameters were measured on a 2-core server (README, "Sign-in"): about
  30 ms and 24 MiB a hash. Django upgrades an older hash at the next sign-in.
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
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.translation import gettext_lazy

BUSY = gettext_lazy("Too many sign-ins at once; try again in a moment.")

Result = TypeVar("Result")


class HashingBusy(Exception):
    """Every hashing thread stayed busy: the request may be tried again soon."""


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
        return run_hashing(super().encode, password, salt)

    def verify(self, password: str, encoded: str) -> bool:
        return run_hashing(super().verify, password, encoded)
