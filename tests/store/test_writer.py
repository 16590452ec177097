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
from twofa_server.core.work import Done, Outcome, Work
from twofa_server.store import keys
from twofa_server.store.lmdb.store import LmdbStore, LmdbTransaction

from ..support.lmdb_writer import hold_writer, submitted, wait_queued
from ..support.stores import open_lmdb_store

REQUEST = contextvars.ContextVar("request", default="none")


def _commits(store: LmdbStore) -> int:
    return int(store._env.info()["last_txnid"])


def _put(name: str, fail: bool = False) -> Any:
    def work(tx: LmdbTransaction) -> str:
        tx.put_policy(name, Policy(max_attempts=7))
        if fail:
            raise InvalidArgument([])
        return name

    return work


def _put_both(first: str, second: str) -> Any:
    def run(tx: LmdbTransaction) -> Done[str]:
        _put(first)(tx)
        _put(second)(tx)
        return Done(f"{first}+{second}")

    return run


def _get_meta(tx: LmdbTransaction, key: bytes) -> bytes | None:
    return tx.get_record(keys.META, key)


def _names(store: LmdbStore, names: list[str]) -> set[str]:
    found = store.read(lambda tx: {n: tx.get_policy(n) for n in names})
    return {n for n, p in found.items() if p is not None}


def test_a_failing_write_leaves_nothing_while_its_batch_mates_commit(lmdb_store: LmdbStore) -> None:
    gate, held = hold_writer(lmdb_store)
    before = _commits(lmdb_store)
    with ThreadPoolExecutor(6) as pool:
        queued = [pool.submit(lmdb_store.write, _put(f"t{i}", i % 3 == 0)) for i in range(6)]
        wait_queued(lmdb_store, 6)
        gate.set()
        held.result(5)
        for i, future in enumerate(queued):
            if i % 3 == 0:
                with pytest.raises(InvalidArgument):
                    future.result(5)
            else:
                assert future.result(5) == f"t{i}"
    assert _commits(lmdb_store) == before + 1  # the six queued writes shared one commit
    assert _names(lmdb_store, [f"t{i}" for i in range(6)]) == {"t1", "t2", "t4", "t5"}


def test_every_caller_gets_its_own_result_under_contention(lmdb_store: LmdbStore) -> None:
    def bump(i: int) -> int:
        def work(tx: LmdbTransaction) -> int:
            current = _get_meta(tx, b"counter") or b"\0"
            value = int.from_bytes(current, "big") + 1
            tx.put_record(keys.META, b"counter", value.to_bytes(4, "big"))
            return value

        return lmdb_store.write(work)

    with ThreadPoolExecutor(16) as pool:
        seen = list(pool.map(bump, range(400)))
    # Each increment saw the one before it: the writes were serialised, none lost.
    assert sorted(seen) == list(range(1, 401))
    assert lmdb_store.read(lambda tx: _get_meta(tx, b"counter")) == (400).to_bytes(4, "big")


def test_submitted_work_learns_its_outcome_only_once_it_is_committed(
    lmdb_store: LmdbStore,
) -> None:
    visible: list[set[str]] = []
    future: Future[str] = Future()

    def finish(outcome: Outcome[Any]) -> None:
        visible.append(_names(lmdb_store, ["a", "b"]))  # a fresh read: committed state only
        future.set_result(outcome.result().answer)

    lmdb_store.submit(Work(_put_both("a", "b")), finish)
    assert future.result(5) == "a+b"
    assert visible == [{"a", "b"}]


def test_read_only_work_is_answered_on_the_callers_thread_without_the_writer(
    lmdb_store: LmdbStore,
) -> None:
    gate, held = hold_writer(lmdb_store)  # the writer is busy: a read must not wait for it
    threads: list[str] = []

    def read(tx: Any) -> Done[str]:
        threads.append(threading.current_thread().name)
        return Done("seen")

    answers: list[str] = []
    lmdb_store.submit(Work(read, writes=False), lambda o: answers.append(o.result().answer))
    assert answers == ["seen"] and threads == [threading.current_thread().name]
    gate.set()
    held.result(5)


def test_work_runs_in_the_submitters_context(lmdb_store: LmdbStore) -> None:
    seen: list[str] = []

    def work(tx: Any) -> Done[None]:
        seen.append(REQUEST.get())
        return Done(None)

    REQUEST.set("req-1")
    submitted(lmdb_store, Work(work)).result(5)
    assert seen == ["req-1"]


def test_a_full_store_fails_that_write_and_the_writer_goes_on(tmp_path: Path) -> None:
    small = open_lmdb_store(tmp_path / "small", 1)
    try:
        with pytest.raises(StoreFull):
            small.write(lambda tx: tx.put_record(keys.META, b"big", b"x" * (2 << 20)))
        assert small.write(lambda tx: tx.put_record(keys.META, b"small", b"y")) is None
        assert small.read(lambda tx: _get_meta(tx, b"small")) == b"y"
    finally:
        small.close()


def test_closing_commits_what_is_queued_and_refuses_what_comes_after(tmp_path: Path) -> None:
    store = open_lmdb_store(tmp_path / "data")
    gate, held = hold_writer(store)
    queued = submitted(store, Work(lambda tx: Done(_put("queued")(tx))))
    wait_queued(store, 1)
    closer = threading.Thread(target=store._writer.stop)
    closer.start()
    gate.set()
    closer.join(5)
    held.result(5)
    assert queued.result(5) == "queued"
    with pytest.raises(StoreUnavailable):
        submitted(store, Work(lambda tx: Done(None))).result(5)
    with pytest.raises(StoreUnavailable):
        store.write(_put("late"))
    assert _names(store, ["queued"]) == {"queued"}
    store.close()
