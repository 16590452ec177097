"""One lane per user: an instance runs one transaction per user at a time.

Requests for the same user would only queue on the user's row lock inside the
database, each holding a pooled connection while it waits. Queued here instead,
an attacker hammering one user holds one connection, and everybody else's
requests keep the rest of the pool.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Hashable
from concurrent.futures import Executor

log = logging.getLogger(__name__)


class Lanes:
    """Runs jobs on an executor, one at a time per key and in order; keyless jobs at once.

    Args:
        executor: runs the jobs (its threads are the store's transaction threads).
    """

    def __init__(self, executor: Executor) -> None:
        self._executor = executor
        self._lock = threading.Lock()
        self._waiting: dict[Hashable, deque[Callable[[], None]]] = {}

    def run(self, key: Hashable | None, job: Callable[[], None]) -> None:
        """Runs `job` after the jobs already queued under `key` (None: no lane)."""
        if key is None:
            self._executor.submit(job)
            return
        with self._lock:
            queue = self._waiting.get(key)
            if queue is not None:  # a job of this key is running: wait behind it
                queue.append(job)
                return
            self._waiting[key] = deque()
        self._executor.submit(self._drive, key, job)

    def _drive(self, key: Hashable, job: Callable[[], None]) -> None:
        next_job: Callable[[], None] | None = job
        while next_job is not None:
            try:
                next_job()
            except Exception as error:  # a job reports its own outcome; this is a bug
                log.error("a store job failed: %s", type(error).__name__)
            with self._lock:
                queue = self._waiting[key]
                next_job = queue.popleft() if queue else None
                if next_job is None:
                    del self._waiting[key]
