"""The LMDB store's writer: one thread runs every write, in batches that share one commit.

LMDB has a single writer, and one fsync costs far more than a use case's own
work. So writes wait in the writer's queue. The writer thread takes everything
queued, runs it in one write transaction, each piece of work in a nested
transaction of its own (a piece that fails leaves nothing behind while the rest
of the batch goes on), commits once (one fsync), and only then reports each
outcome: no answer reports a change that is not on disk yet.

`submit(work, finish)` hands work over without waiting (the gRPC server's way:
a request in flight costs no thread); `write(work)` waits for the outcome (jobs
and tools). Reads never queue here: a read transaction can run on any thread.
"""

from __future__ import annotations

import contextvars
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import lmdb

T = TypeVar("T")
log = logging.getLogger(__name__)

# How a piece of work ended: (True, its result) or (False, the exception it raised).
Result = tuple[bool, Any]
Report = Callable[[Result], None]


class WriterStopped(Exception):
    """The writer has stopped (the store is closing); the work did not run."""


class _Queued:
    __slots__ = ("context", "report", "result", "work")

    def __init__(self, work: Callable[[Any], Any], report: Report) -> None:
        self.work = work
        self.report = report
        # Runs in its submitter's context variables (e.g. the request id of log lines).
        self.context = contextvars.copy_context()
        self.result: Result = (False, WriterStopped())


_STOP = object()


class Writer:
    """The one thread that writes to an LMDB environment.

    Args:
        env: the environment; its flags decide how durable a commit is.
        after_batch: runs on the writer thread after each batch has committed (or
            failed), before its outcomes are reported.
    """

    def __init__(self, env: lmdb.Environment, after_batch: Callable[[], None]) -> None:
        self._env = env
        self._after_batch = after_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="twofa-writer", daemon=True)
        self._thread.start()

    def submit(self, work: Callable[[Any], Any], report: Report) -> None:
        """Runs `work(txn)` in the next batch; `report(result)` once the batch is durable.

        `report` runs on the writer thread and must be quick: it hands the result on.
        """
        queued = _Queued(work, report)
        if self._stopped:
            report(queued.result)
            return
        self._queue.put(queued)

    def write(self, work: Callable[[Any], T]) -> T:
        """Runs `work(txn)` in the next batch and returns its result once it is durable.

        Raises:
            WriterStopped: the writer has stopped.
            Whatever `work` raised: nothing it wrote is kept.
        """
        if threading.current_thread() is self._thread:
            raise RuntimeError("the writer cannot wait for its own queue")
        done = threading.Event()
        box: list[Result] = []

        def report(result: Result) -> None:
            box.append(result)
            done.set()

        self.submit(work, report)
        done.wait()
        ok, value = box[0]
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    def stop(self) -> None:
        """Runs what is queued, then ends the thread; later work fails with WriterStopped."""
        if self._stopped:
            return
        self._stopped = True
        self._queue.put(_STOP)
        self._thread.join()

    # --- the writer thread -----------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            batch: list[_Queued] = []
            stopping = self._take(batch)
            if batch:
                self._run(batch)
            if stopping:
                return

    def _take(self, batch: list[_Queued]) -> bool:
        """Waits for work, then takes all that is queued; True when told to stop."""
        first = self._queue.get()
        if first is _STOP:
            return True
        batch.append(first)
        while True:
            try:
                queued = self._queue.get_nowait()
            except queue.Empty:
                return False
            if queued is _STOP:
                return True
            batch.append(queued)

    def _run(self, batch: list[_Queued]) -> None:
        txn = None
        try:
            txn = self._env.begin(write=True)
            for queued in batch:
                queued.result = queued.context.run(_nested, self._env, txn, queued.work)
            txn.commit()  # the one fsync of the batch
        except BaseException as error:  # begin or commit failed: nothing of the batch is kept
            _abort_quietly(txn)
            for queued in batch:
                queued.result = (False, error)
        try:
            self._after_batch()
        except Exception as error:
            log.error("writer's after-batch step failed: %s", type(error).__name__)
        for queued in batch:
            try:
                queued.report(queued.result)
            except Exception as error:  # a broken callback must not stop the writer
                log.error("writer callback failed: %s", type(error).__name__)


def _nested(env: lmdb.Environment, parent: Any, work: Callable[[Any], Any]) -> Result:
    """Runs one piece of work in a child transaction; a failure leaves nothing behind."""
    child = env.begin(write=True, parent=parent)
    try:
        value = work(child)
    except BaseException as error:  # the work's own failure: its result
        child.abort()
        return (False, error)
    child.commit()
    return (True, value)


def _abort_quietly(txn: Any) -> None:
    try:
        if txn is not None:
            txn.abort()
    except lmdb.Error:
        pass  # a failed commit has already released it
