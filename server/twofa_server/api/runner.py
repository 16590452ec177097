"""How the asyncio server runs a use case's Work without blocking its event loop.

The store runs the work (core/ports.py: `Store.submit`) and reports the outcome
once it is final: a read at once, a write after its commit is durable. The
runner turns that report into the awaited result, publishes the work's events,
and runs the follow-up write a read-only use case asked for. A request in flight
costs no thread of its own.

Outcomes reported from another thread come back to the loop in bunches: one
wake-up of the loop per bunch of answers, not one per answer.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, TypeVar

from ..core.events import EventSink
from ..core.ports import Store
from ..core.work import Done, Outcome, Work

T = TypeVar("T")


class UseCaseRunner:
    """Runs use cases' Work for the coroutines of one event loop.

    Args:
        store: runs the work.
        events: where the events of committed work go.
        loop: the event loop the server's coroutines run on.
    """

    def __init__(
        self,
        store: Store,
        events: EventSink,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._store = store
        self._events = events
        self._loop = loop
        self._lock = threading.Lock()
        self._settled: list[tuple[asyncio.Future[Any], Outcome[Any]]] = []
        self._loop_thread: int | None = None

    async def run(self, work: Work[T]) -> T:
        """Runs `work`; returns its answer once what it wrote is durable."""
        done = await self._done(work)
        self._events.publish(done.events)
        if done.then is not None:
            follow_up = await self._done(done.then)
            self._events.publish(follow_up.events)
        return done.answer_or_refusal()

    async def _done(self, work: Work[T]) -> Done[T]:
        self._loop_thread = threading.get_ident()
        future: asyncio.Future[Done[T]] = self._loop.create_future()
        self._store.submit(work, lambda outcome: self._settle(future, outcome))
        return await future

    def _settle(self, future: asyncio.Future[Any], outcome: Outcome[Any]) -> None:
        if threading.get_ident() == self._loop_thread:  # a read answered on the spot
            _resolve(future, outcome)
            return
        # From a store's thread: queue the outcome; wake the loop only for the first of a bunch.
        with self._lock:
            self._settled.append((future, outcome))
            first = len(self._settled) == 1
        if first:
            self._loop.call_soon_threadsafe(self._deliver)

    def _deliver(self) -> None:
        with self._lock:
            settled, self._settled = self._settled, []
        for future, outcome in settled:
            _resolve(future, outcome)


def _resolve(future: asyncio.Future[Any], outcome: Outcome[Any]) -> None:
    if future.done():  # the call was cancelled meanwhile
        return
    if outcome.error is not None:
        future.set_exception(outcome.error)
    else:
        future.set_result(outcome.done)
