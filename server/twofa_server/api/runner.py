"""Where the asyncio server runs a use case: on the store's writer thread, or right here.

The use cases are plain synchronous code (core/), and every write goes through
the store's one writer thread (store/writer.py). A call that writes is handed to
that thread whole: its writes join the running batch, and the answer comes back
once the batch is durable. The event loop keeps serving meanwhile, so a request
in flight costs no thread of its own.

A read-mostly call (a login with a trusted device, a status) is first tried on
the event loop with writes refused, which costs no hand-off at all. If it turns
out to need a write (a device's hourly last-use refresh), the write is refused
before anything changes and the whole call goes to the writer instead.

Outcomes come back to the loop in bunches: one wake-up of the loop per batch of
answers, not one per answer.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar

from ..store.writer import Outcome, WriteNeeded

T = TypeVar("T")


class WriterStore(Protocol):
    """What the runner needs of the store (LmdbStore)."""

    def submit(self, call: Callable[[], Any], finish: Callable[[Outcome], None]) -> None: ...

    def writes_refused(self) -> AbstractContextManager[None]: ...


class UseCaseRunner:
    """Runs use cases for the coroutines of one event loop.

    Args:
        store: the store whose writer runs the writing calls.
        loop: the event loop the server's coroutines run on.
        cpu_pool: threads for work that would stall the loop (QR codes); None: the
            loop's default executor.
    """

    def __init__(
        self, store: WriterStore, loop: asyncio.AbstractEventLoop, cpu_pool: Executor | None
    ) -> None:
        self._store = store
        self._loop = loop
        self._cpu_pool = cpu_pool
        self._lock = threading.Lock()
        self._settled: list[tuple[asyncio.Future[Any], Outcome]] = []

    async def write(self, call: Callable[[], T]) -> T:
        """Runs `call()` on the writer thread; returns once what it wrote is durable."""
        future: asyncio.Future[T] = self._loop.create_future()
        self._store.submit(call, lambda outcome: self._settle(future, outcome))
        return await future

    async def read(self, call: Callable[[], T]) -> T:
        """Runs a read-mostly `call()` here; on the writer thread if it needs to write."""
        try:
            with self._store.writes_refused():
                return call()
        except WriteNeeded:
            return await self.write(call)

    async def off_loop(self, work: Callable[[], T]) -> T:
        """Runs CPU-heavy `work()` on the CPU pool, so the loop keeps serving."""
        return await self._loop.run_in_executor(self._cpu_pool, work)

    def _settle(self, future: asyncio.Future[Any], outcome: Outcome) -> None:
        # On the writer thread: queue the outcome; wake the loop only for the first of a bunch.
        with self._lock:
            self._settled.append((future, outcome))
            first = len(self._settled) == 1
        if first:
            self._loop.call_soon_threadsafe(self._deliver)

    def _deliver(self) -> None:
        with self._lock:
            settled, self._settled = self._settled, []
        for future, (ok, value) in settled:
            if future.done():  # the call was cancelled meanwhile
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
