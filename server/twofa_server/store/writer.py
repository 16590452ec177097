"""The store's writer: one thread runs every write, in batches that share one durable commit.

LMDB has a single writer, and one fsync costs far more than a use case's own
work. So writes queue for one thread. It takes everything queued, runs it in one
write transaction, each write in a nested transaction of its own (a write that
fails leaves nothing behind while the rest of the batch goes on), commits once
(one fsync), and only then reports the outcome of each piece of work that
wrote: no answer reports a change that is not on disk yet.

Work comes in two shapes:

- `write(work)` from any other thread runs `work` in the next batch and blocks
  until that batch is durable (the outbox, the housekeeper, re-sealing, tools);
- `submit(call, finish)` runs a whole use case on the writer thread. Every
  `write` it makes joins the batch, and `finish` gets its outcome: at once if it
  wrote nothing, else after the commit. The asyncio server hands use cases over
  this way, so a request in flight costs no thread of its own and a batch costs
  two thread hand-offs however many requests it holds.

Reads never queue here: a read transaction can run on any thread at any time.
A thread may also try a call with writes refused (`writes_refused`): a write
then raises WriteNeeded before it changes anything, and the caller submits the
whole call instead. Read-mostly use cases (a login with a trusted device) run
that way on the event loop, without a hand-off.
"""

from __future__ import annotations

import contextvars
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import lmdb

T = TypeVar("T")
log = logging.getLogger(__name__)

# How a piece of work ended: (True, its result) or (False, the exception it raised).
Outcome = tuple[bool, Any]
Finish = Callable[[Outcome], None]


class WriteNeeded(Exception):
    """A call tried to write where writes are refused; nothing was changed."""


class WriterStopped(Exception):
    """The writer has stopped (the store is closing); the work did not run."""


class _Item:
    __slots__ = ("after_commit", "call", "context", "finish", "finished", "outcome", "wrote")

    def __init__(self, call: Callable[[], Any], finish: Finish) -> None:
        self.call = call
        self.finish = finish
        # Runs in its submitter's context variables (the request id of audit lines).
        self.context = contextvars.copy_context()
        self.wrote = False
        self.after_commit: list[Callable[[], None]] = []
        self.outcome: Outcome = (False, WriterStopped())
        self.finished = False


_STOP = object()


class Writer:
    """The one thread that writes to an LMDB environment.

    Args:
        env: the environment; its flags decide how durable a commit is.
        name: the thread's name.
    """

    def __init__(self, env: lmdb.Environment, name: str = "twofa-writer") -> None:
        self._env = env
        self._batch_end_hooks: list[Callable[[], None]] = []
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._local = threading.local()
        self._txn: Any = None  # the open batch transaction, on the writer thread only
        self._item: _Item | None = None  # the work running now, on the writer thread only
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    # --- what other threads call -----------------------------------------------------------

    def write(self, work: Callable[[Any], T]) -> T:
        """Runs `work(txn)` in a write transaction; returns once that transaction is durable.

        On the writer thread (inside submitted work) it joins the running batch
        and returns at once; its caller's outcome waits for the commit.

        Raises:
            WriteNeeded: inside `writes_refused`.
            WriterStopped: the writer has stopped.
        """
        item, on_writer = self._item, self.is_writer_thread()
        if item is not None and on_writer:
            return self._nested(item, work)
        if getattr(self._local, "refused", False):
            raise WriteNeeded()
        if on_writer:  # after-commit work that writes would wait for itself
            raise RuntimeError("a write from the writer thread outside any work")
        done = threading.Event()
        box: list[Outcome] = []

        def finish(outcome: Outcome) -> None:
            box.append(outcome)
            done.set()

        self.submit(lambda: self.write(work), finish)
        done.wait()
        ok, value = box[0]
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    def submit(self, call: Callable[[], Any], finish: Finish) -> None:
        """Runs `call()` on the writer thread; `finish(outcome)` once the outcome is durable.

        `finish` runs on the writer thread and must be quick: it hands the outcome on.
        """
        item = _Item(call, finish)
        if self._stopped:
            finish(item.outcome)
            return
        self._queue.put(item)

    def after_commit(self, action: Callable[[], None]) -> None:
        """Runs `action` once the current work's writes are durable: at once if it
        has written nothing (or runs outside the writer), else after its batch commits.
        A batch that fails to commit drops its actions."""
        item = self._item
        if item is None or not item.wrote or not self.is_writer_thread():
            action()
            return
        item.after_commit.append(action)

    @contextmanager
    def writes_refused(self) -> Iterator[None]:
        """On this thread, `write` raises WriteNeeded instead of writing."""
        self._local.refused = True
        try:
            yield
        finally:
            self._local.refused = False

    def add_batch_end(self, hook: Callable[[], None]) -> None:
        """Runs `hook` on the writer thread after each batch has committed (or failed) and
        its after-commit actions have run, before the outcomes of the work that wrote
        are reported."""
        self._batch_end_hooks.append(hook)

    def is_writer_thread(self) -> bool:
        """Whether the calling thread is this writer's."""
        return threading.current_thread() is self._thread

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
            batch: list[_Item] = []
            stopping = self._take(batch)
            if batch:
                self._run(batch)
            if stopping:
                return

    def _take(self, batch: list[_Item]) -> bool:
        """Waits for work, then takes all that is queued; True when told to stop."""
        first = self._queue.get()
        if first is _STOP:
            return True
        batch.append(first)
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return False
            if item is _STOP:
                return True
            batch.append(item)

    def _run(self, batch: list[_Item]) -> None:
        waiting: list[_Item] = []
        try:
            self._txn = self._env.begin(write=True)
            for item in batch:
                self._item = item
                try:
                    item.outcome = (True, item.context.run(item.call))
                except BaseException as error:  # the work's own failure: its outcome
                    item.outcome = (False, error)
                finally:
                    self._item = None
                if item.wrote:
                    waiting.append(item)
                else:
                    _finish(item)
            if waiting:
                self._txn.commit()  # the one fsync of the batch
            else:
                self._txn.abort()
        except BaseException as error:  # begin or commit failed: nothing of the batch is kept
            self._abort_quietly()
            waiting = [item for item in batch if not item.finished]
            for item in waiting:
                item.outcome = (False, error)
                item.after_commit.clear()
        finally:
            self._txn = None
        for item in waiting:
            for action in item.after_commit:
                _quietly(item.context.run, action)
        for hook in self._batch_end_hooks:
            _quietly(hook)
        for item in waiting:
            _finish(item)

    def _abort_quietly(self) -> None:
        try:
            if self._txn is not None:
                self._txn.abort()
        except lmdb.Error:
            pass  # a failed commit has already released it

    def _nested(self, item: _Item, work: Callable[[Any], T]) -> T:
        child = self._env.begin(write=True, parent=self._txn)
        try:
            result = work(child)
        except BaseException:
            child.abort()
            raise
        child.commit()
        item.wrote = True
        return result


def _quietly(run: Callable[..., Any], *args: Any) -> None:
    try:
        run(*args)
    except Exception as error:  # one action's failure must not strand the others
        log.error("after-commit action failed: %s", type(error).__name__)


def _finish(item: _Item) -> None:
    item.finished = True
    try:
        item.finish(item.outcome)
    except Exception as error:  # a broken callback must not stop the writer
        log.error("writer callback failed: %s", type(error).__name__)
