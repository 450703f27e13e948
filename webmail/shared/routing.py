"""Which shard queue runs an account's tasks.

Every task that talks to an account's IMAP server goes to one queue,
``imap.<account_id % IMAP_SHARDS>``, so that one worker process owns the
account's connections and the per-account connection cap holds across the
cluster. The mapping uses only the id, so every process agrees on it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

# Tasks whose first argument is an account id.
ACCOUNT_TASK_PREFIX = "webmail.account."


def shard_for(account_id: int) -> int:
    """Return the shard number of an account."""
    return int(account_id) % int(settings.IMAP_SHARDS)


def queue_for(account_id: int) -> str:
    """Return the name of the queue that runs an account's IMAP work."""
    return f"imap.{shard_for(account_id)}"


def route_task(
    name: str,
    args: tuple[Any, ...] | list[Any],
    kwargs: dict[str, Any],
    options: dict[str, Any],
    task: Any = None,
    **kw: Any,
) -> dict[str, str] | None:
    """Celery router (CELERY_TASK_ROUTES): account tasks go to their shard."""
    if not name.startswith(ACCOUNT_TASK_PREFIX):
        return None
    account_id = args[0] if args else kwargs.get("account_id")
    if account_id is None:
        return None
    return {"queue": queue_for(int(account_id))}
