"""Steering the LMDB store's writer thread from a test: hold it busy, see what is queued."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any

from twofa_server.core.work import Done, Outcome, Work
from twofa_server.store.lmdb.store import LmdbStore


def submitted(store: LmdbStore, work: Work[Any]) -> Future[Any]:
    """Submits `work` to the store; the future settles with its answer or error."""
    future: Future[Any] = Future()

    def finish(outcome: Outcome[Any]) -> None:
        if outcome.error is not None:
            future.set_exception(outcome.error)
        else:
            future.set_result(outcome.result().answer)

    store.submit(work, finish)
    return future


def hold_writer(store: LmdbStore) -> tuple[threading.Event, Future[Any]]:
    """Keeps the writer busy until the returned gate is set."""
    gate, busy = threading.Event(), threading.Event()

    def wait(tx: Any) -> Done[None]:
        busy.set()
        gate.wait(5)
        return Done(None)

    held = submitted(store, Work(wait))
    assert busy.wait(5)
    return gate, held


def wait_queued(store: LmdbStore, count: int) -> None:
    """Waits until `count` writes are queued behind the writer."""
    while store._writer._queue.qsize() < count:
        threading.Event().wait(0.001)
