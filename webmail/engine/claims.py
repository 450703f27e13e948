"""Work that one thread of a worker process at a time does, by key."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Hashable, Iterator


class OneAtATime:
    """The keys (folder ids, say) some thread of this process is working on."""

    def __init__(self) -> None:
        self._held: set[Hashable] = set()
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def claim(self, key: Hashable) -> Iterator[bool]:
        """Yield whether this thread is the only one working on key."""
        with self._lock:
            claimed = key not in self._held
            self._held.add(key)
        try:
            yield claimed
        finally:
            if claimed:
                with self._lock:
                    self._held.discard(key)
