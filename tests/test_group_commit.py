"""Group commit: concurrent writes share commits, yet each stays its own transaction."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from twofa_server.core.errors import InvalidArgument
from twofa_server.core.models import Policy
from twofa_server.crypto import Sealer, generate_keyring
from twofa_server.store.group_commit import GroupCommit
from twofa_server.store.lmdb_store import LmdbStore, LmdbTransaction

from .support import FixedClock


@pytest.fixture
def store(tmp_path: Path) -> LmdbStore:
    return LmdbStore(tmp_path / "data", 16, Sealer(generate_keyring()), FixedClock())


def test_a_failing_write_leaves_nothing_while_its_batch_mates_commit(store: LmdbStore) -> None:
    gate, started = threading.Event(), threading.Event()
    batches: list[int] = []
    run = store._group._run_batch

    def counted(batch: list[Any]) -> None:
        batches.append(len(batch))
        if len(batches) == 1:
            started.set()
            gate.wait(5)  # hold the first batch so the next writes queue up together
        run(batch)

    store._group._run_batch = counted

    def put(name: str, fail: bool) -> str:
        def work(tx: LmdbTransaction) -> str:
            tx.put_policy(name, Policy(max_attempts=7))
            if fail:
                raise InvalidArgument([])
            return name

        return store.write(work)

    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(put, "first", False)
        assert started.wait(5)
        queued = [pool.submit(put, f"t{i}", i % 3 == 0) for i in range(6)]
        while len(store._group._queued) < 6:
            threading.Event().wait(0.001)
        gate.set()
        assert first.result() == "first"
        for i, future in enumerate(queued):
            if i % 3 == 0:
                with pytest.raises(InvalidArgument):
                    future.result()
            else:
                assert future.result() == f"t{i}"
    assert batches == [1, 6]  # the six queued writes shared one commit
    stored = store.read(
        lambda tx: {n: tx.get_policy(n) for n in ["first", *map("t{}".format, range(6))]}
    )
    assert {n for n, p in stored.items() if p is not None} == {"first", "t1", "t2", "t4", "t5"}


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


def test_a_failing_batch_runner_fails_every_caller_and_the_next_batch_runs() -> None:
    calls = []

    def runner(batch: list[Any]) -> None:
        calls.append(len(batch))
        if len(calls) == 1:
            raise OSError("disk gone")
        for item in batch:
            item.result = item.work(None)

    group = GroupCommit(runner)
    with pytest.raises(OSError):
        group.submit(lambda tx: 1)
    assert group.submit(lambda tx: 2) == 2
