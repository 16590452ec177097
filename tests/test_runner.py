"""Where the asyncio server runs use cases: the writer thread, or the loop itself."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from twofa_server.api.runner import UseCaseRunner
from twofa_server.core.errors import InvalidArgument
from twofa_server.crypto import Sealer, generate_keyring
from twofa_server.store.lmdb_store import LmdbStore, LmdbTransaction

from .support import FixedClock


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LmdbStore]:
    opened = LmdbStore(tmp_path / "data", 16, Sealer(generate_keyring()), FixedClock())
    yield opened
    opened.close()


def _counter(store: LmdbStore) -> int:
    return int.from_bytes(store.read(lambda tx: tx.get_meta(b"n")) or b"\0", "big")


def _bump(tx: LmdbTransaction) -> int:
    value = int.from_bytes(tx.get_meta(b"n") or b"\0", "big") + 1
    tx.put_meta(b"n", value.to_bytes(4, "big"))
    return value


def _run(store: LmdbStore, scenario: Callable[[UseCaseRunner], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        with ThreadPoolExecutor(1) as pool:
            return await scenario(UseCaseRunner(store, asyncio.get_running_loop(), pool))

    return asyncio.run(main())


def test_a_read_that_writes_nothing_runs_on_the_loop_itself(store: LmdbStore) -> None:
    async def scenario(runner: UseCaseRunner) -> object:
        return await runner.read(lambda: (threading.current_thread().name, _counter(store)))

    assert _run(store, scenario) == (threading.current_thread().name, 0)


def test_a_read_that_needs_a_write_is_handed_to_the_writer_whole(store: LmdbStore) -> None:
    reads_before_write: list[str] = []

    def read_then_write() -> int:
        reads_before_write.append(threading.current_thread().name)
        return store.write(_bump)

    async def scenario(runner: UseCaseRunner) -> object:
        return await runner.read(read_then_write)

    assert _run(store, scenario) == 1
    # Tried on the loop (refused before it changed anything), then run on the writer.
    assert reads_before_write == [threading.current_thread().name, "twofa-writer"]
    assert _counter(store) == 1


def test_concurrent_writes_each_get_their_own_durable_result(store: LmdbStore) -> None:
    async def scenario(runner: UseCaseRunner) -> object:
        return await asyncio.gather(*(runner.write(lambda: store.write(_bump)) for _ in range(200)))

    assert sorted(_run(store, scenario)) == list(range(1, 201))
    assert _counter(store) == 200


def test_a_refusal_reaches_its_caller_and_changes_nothing(store: LmdbStore) -> None:
    def refused(tx: LmdbTransaction) -> None:
        _bump(tx)
        raise InvalidArgument([])

    async def scenario(runner: UseCaseRunner) -> object:
        with pytest.raises(InvalidArgument):
            await runner.write(lambda: store.write(refused))
        return await runner.write(lambda: store.write(_bump))

    assert _run(store, scenario) == 1


def test_cpu_heavy_work_runs_off_the_loop(store: LmdbStore) -> None:
    async def scenario(runner: UseCaseRunner) -> object:
        return await runner.off_loop(lambda: threading.current_thread().name)

    assert _run(store, scenario) != threading.current_thread().name
