"""Group commit: many concurrent use cases share one durable LMDB commit.

One fsync costs far more than a use case's own work, and LMDB has a single
writer anyway. So callers queue their work; whichever caller finds no batch
running becomes the leader, runs every queued work item in one write
transaction — each in a nested transaction of its own, so a failing use case
leaves nothing behind — commits once (one fsync), and wakes the others with
their results. Every caller returns only after the commit that holds its
change, so answers still report durable state. With nothing else queued the
leader is the caller itself: no thread hand-off at low load.

The leader runs a single batch and passes the lead to the first caller still
waiting, so no caller's answer waits behind an endless stream of others.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class _Work(Generic[T]):
    __slots__ = ("done", "error", "lead", "result", "wake", "work")

    def __init__(self, work: Callable[[Any], T]) -> None:
        self.work = work
        self.wake = threading.Event()
        self.lead = False
        self.done = False
        self.result: T | None = None
        self.error: BaseException | None = None

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]


# Runs one batch: each item's work in a nested transaction, then one commit; sets
# `result` or `error` on every item.
BatchRunner = Callable[[list[_Work[Any]]], None]


class GroupCommit:
    """Serialises write work into batches that share one commit.

    Args:
        run_batch: executes a batch and fills in each item's result or error.
    """

    def __init__(self, run_batch: BatchRunner) -> None:
        self._run_batch = run_batch
        self._lock = threading.Lock()
        self._queued: list[_Work[Any]] = []
        self._leading = False

    def submit(self, work: Callable[[Any], T]) -> T:
        """Runs `work` in a write transaction; returns once that transaction is durable."""
        item: _Work[T] = _Work(work)
        with self._lock:
            self._queued.append(item)
            if not self._leading:
                self._leading = item.lead = True
        if not item.lead:
            item.wake.wait()  # our batch committed, or we were handed the lead
        if not item.done:
            self._lead()
        return item.outcome()

    def _lead(self) -> None:
        with self._lock:
            batch, self._queued = self._queued, []
        try:
            self._run_batch(batch)
        except BaseException as error:  # the runner itself failed: every item learns of it
            for item in batch:
                if item.error is None:
                    item.error = error
        finally:
            for item in batch:
                item.done = True
            with self._lock:
                successor = self._queued[0] if self._queued else None
                if successor is not None:
                    successor.lead = True
                else:
                    self._leading = False
            for item in batch:
                item.wake.set()
            if successor is not None:
                successor.wake.set()
