"""The store's writer: concurrent writes share commits, yet each stays its own transaction."""

from __future__ import annotations

import contextvars
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from twofa_server.core.errors import InvalidArgument, StoreFull, StoreUnavailable
from twofa_server.core.models import Policy
from twofa_server.crypto import Sealer, generate_keyring
from twofa_server.store.lmdb_store import LmdbStore, LmdbTransaction
from twofa_server.store.writer import Outcome, WriteNeeded

from .support import FixedClock

REQUEST = contextvars.ContextVar("request", default="none")


@pytest.fixture
def store(tmp_path: Path) -> Any:
    opened = LmdbStore(tmp_path / "data", 16, Sealer(generate_keyring()), FixedClock())
    yield opened
    opened.close()


def _commits(store: LmdbStore) -> int:
    return int(store._env.info()["last_txnid"])


def _submitted(store: LmdbStore, call: Any) -> Future[Any]:
    """Submits `call` to the writer; the future settles with its outcome."""
    future: Future[Any] = Future()

    def finish(outcome: Outcome) -> None:
        ok, value = outcome
        future.set_result(value) if ok else future.set_exception(value)

    store.submit(call, finish)
    return future


def _put(name: str, fail: bool = False) -> Any:
    def work(tx: LmdbTransaction) -> str:
        tx.put_policy(name, Policy(max_attempts=7))
        if fail:
            raise InvalidArgument([])
        return name

    return work


def _names(store: LmdbStore, names: list[str]) -> set[str]:
    found = store.read(lambda tx: {n: tx.get_policy(n) for n in names})
    return {n for n, p in found.items() if p is not None}


def _hold_writer(store: LmdbStore) -> tuple[threading.Event, Future[Any]]:
    """Keeps the writer busy until the returned gate is set."""
    gate, busy = threading.Event(), threading.Event()

    def wait() -> None:
        busy.set()
        gate.wait(5)

    held = _submitted(store, wait)
    assert busy.wait(5)
    return gate, held


def _wait_queued(store: LmdbStore, count: int) -> None:
    while store._writer._queue.qsize() < count:
        threading.Event().wait(0.001)


def test_a_failing_write_leaves_nothing_while_its_batch_mates_commit(store: LmdbStore) -> None:
    gate, held = _hold_writer(store)
    before = _commits(store)
    with ThreadPoolExecutor(6) as pool:
        queued = [pool.submit(store.write, _put(f"t{i}", i % 3 == 0)) for i in range(6)]
        _wait_queued(store, 6)
        gate.set()
        held.result(5)
        for i, future in enumerate(queued):
            if i % 3 == 0:
                with pytest.raises(InvalidArgument):
                    future.result(5)
            else:
                assert future.result(5) == f"t{i}"
    assert _commits(store) == before + 1  # the six queued writes shared one commit
    assert _names(store, [f"t{i}" for i in range(6)]) == {"t1", "t2", "t4", "t5"}


def test_every_caller_gets_its_own_result_under_contention(store: LmdbStore) -> None:
    def bump(i: int) -> int:
        def work(tx: LmdbTransaction) -> int:
            current = tx.get_meta(b"counter") or b"\0"
            value = int.from_bytes(current, "big") + 1
            tx.put_meta(b"counter", value.to_bytes(4, "big"))
            return value

        return store.write(work)

    with ThreadPoolExecutor(16) as pool:
        seen = list(pool.map(bump, range(400)))
    # Each increment saw the one before it: the writes were serialised, none lost.
    assert sorted(seen) == list(range(1, 401))
    assert store.read(lambda tx: tx.get_meta(b"counter")) == (400).to_bytes(4, "big")


def test_a_submitted_call_learns_its_outcome_only_once_its_write_is_committed(
    store: LmdbStore,
) -> None:
    visible: list[set[str]] = []

    def call() -> str:
        store.write(_put("a"))
        store.write(_put("b"))
        return "done"

    future: Future[str] = Future()

    def finish(outcome: Outcome) -> None:
        visible.append(_names(store, ["a", "b"]))  # a fresh read: committed state only
        future.set_result(outcome[1])

    store.submit(call, finish)
    assert future.result(5) == "done"
    assert visible == [{"a", "b"}]


def test_a_read_only_call_is_answered_without_waiting_for_the_commit(store: LmdbStore) -> None:
    gate, held = _hold_writer(store)
    order: list[str] = []

    def write() -> None:
        store.write(_put("w"))
        order.append("write ran")

    def read() -> str:
        order.append("read answered")
        return "seen"

    writer_done = _submitted(store, write)
    reader_done = _submitted(store, read)
    _wait_queued(store, 2)
    gate.set()
    held.result(5)
    assert reader_done.result(5) == "seen"
    writer_done.result(5)
    assert order == ["write ran", "read answered"]  # same batch, answered before its commit


def test_after_commit_actions_wait_for_the_commit_and_run_in_the_callers_context(
    store: LmdbStore,
) -> None:
    seen: list[tuple[str, set[str]]] = []

    def call() -> None:
        store.write(_put("x"))
        store.after_commit(lambda: seen.append((REQUEST.get(), _names(store, ["x"]))))

    REQUEST.set("req-1")
    _submitted(store, call).result(5)
    assert seen == [("req-1", {"x"})]
    # Outside the writer, or before any write, an action runs at once.
    ran: list[int] = []
    store.after_commit(lambda: ran.append(1))
    _submitted(store, lambda: store.after_commit(lambda: ran.append(2))).result(5)
    assert ran == [1, 2]


def test_a_write_refused_changes_nothing_and_says_so(store: LmdbStore) -> None:
    with store.writes_refused(), pytest.raises(WriteNeeded):
        store.write(_put("refused"))
    assert _names(store, ["refused"]) == set()
    assert store.write(_put("allowed")) == "allowed"  # only inside the block


def test_a_full_store_fails_that_write_and_the_writer_goes_on(tmp_path: Path) -> None:
    small = LmdbStore(tmp_path / "small", 1, Sealer(generate_keyring()), FixedClock())
    try:
        with pytest.raises(StoreFull):
            small.write(lambda tx: tx.put_meta(b"big", b"x" * (2 << 20)))
        assert small.write(lambda tx: tx.put_meta(b"small", b"y")) is None
        assert small.read(lambda tx: tx.get_meta(b"small")) == b"y"
    finally:
        small.close()


def test_a_write_from_after_commit_work_fails_instead_of_waiting_for_itself(
    store: LmdbStore,
) -> None:
    errors: list[BaseException] = []

    def action() -> None:
        try:
            store.write(_put("late"))
        except RuntimeError as error:
            errors.append(error)

    def call() -> None:
        store.write(_put("first"))
        store.after_commit(action)

    _submitted(store, call).result(5)
    assert len(errors) == 1
    assert _names(store, ["first", "late"]) == {"first"}


def test_closing_commits_what_is_queued_and_refuses_what_comes_after(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path / "data", 16, Sealer(generate_keyring()), FixedClock())
    gate, held = _hold_writer(store)
    queued = _submitted(store, lambda: store.write(_put("queued")))
    _wait_queued(store, 1)
    closer = threading.Thread(target=store._writer.stop)
    closer.start()
    gate.set()
    closer.join(5)
    held.result(5)
    assert queued.result(5) == "queued"
    with pytest.raises(StoreUnavailable):
        _submitted(store, lambda: None).result(5)
    with pytest.raises(StoreUnavailable):
        store.write(_put("late"))
    assert _names(store, ["queued"]) == {"queued"}
    store.close()
