"""How the asyncio server runs Work: reads on the loop itself, writes through the store's writer,
events published only once the work is committed, and a read's follow-up write run after it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from twofa_server.api.runner import UseCaseRunner
from twofa_server.core.errors import InvalidArgument
from twofa_server.core.events import Event, EventType
from twofa_server.core.work import Done, Work
from twofa_server.store import keys
from twofa_server.store.lmdb.store import LmdbStore


class Published:
    """An EventSink that remembers what was published, and what the store held then."""

    def __init__(self, store: LmdbStore) -> None:
        self.store = store
        self.seen: list[tuple[str, int]] = []

    def publish(self, events: Sequence[Event]) -> None:
        self.seen.extend((event.reason, _counter(self.store)) for event in events)


def _counter(store: LmdbStore) -> int:
    data = store.read(lambda tx: tx.get_record(keys.META, b"n"))
    return int.from_bytes(data or b"\0", "big")


def _bump(tx: Any) -> Done[int]:
    value = int.from_bytes(tx.get_record(keys.META, b"n") or b"\0", "big") + 1
    tx.put_record(keys.META, b"n", value.to_bytes(4, "big"))
    return Done(value, [Event(EventType.UNLOCK, "t", reason=f"bump {value}")])


LOOP = "test-loop"


def _run(
    store: LmdbStore, scenario: Callable[[UseCaseRunner], Awaitable[Any]], events: Any = None
) -> Any:
    async def main() -> Any:
        runner = UseCaseRunner(store, events or Published(store), asyncio.get_running_loop())
        return await scenario(runner)

    # A loop of its own in a thread of its own: other tests (the control panel's browser)
    # may leave an event loop running in the test's thread.
    with ThreadPoolExecutor(1, thread_name_prefix=LOOP) as loop_thread:
        return loop_thread.submit(asyncio.run, main()).result()


def test_a_read_is_answered_on_the_loop_itself(lmdb_store: LmdbStore) -> None:
    def read(tx: Any) -> Done[tuple[str, int]]:
        return Done((threading.current_thread().name, _counter(lmdb_store)))

    async def scenario(runner: UseCaseRunner) -> object:
        return await runner.run(Work(read, writes=False))

    assert _run(lmdb_store, scenario) == (f"{LOOP}_0", 0)


def test_a_reads_follow_up_write_runs_on_the_writer_after_the_answer_is_decided(
    lmdb_store: LmdbStore,
) -> None:
    threads: list[str] = []

    def follow_up(tx: Any) -> Done[None]:
        threads.append(threading.current_thread().name)
        _bump(tx)
        return Done(None, [Event(EventType.UNLOCK, "t", reason="follow-up")])

    def read(tx: Any) -> Done[str]:
        threads.append(threading.current_thread().name)
        return Done(
            "answer", [Event(EventType.LOGIN_EVALUATED, "t", reason="read")], Work(follow_up)
        )

    events = Published(lmdb_store)

    async def scenario(runner: UseCaseRunner) -> object:
        return await runner.run(Work(read, writes=False))

    assert _run(lmdb_store, scenario, events) == "answer"
    assert threads == [f"{LOOP}_0", "twofa-writer"]
    assert events.seen == [("read", 0), ("follow-up", 1)]  # each after its own commit


def test_concurrent_writes_each_get_their_own_durable_result(lmdb_store: LmdbStore) -> None:
    events = Published(lmdb_store)

    async def scenario(runner: UseCaseRunner) -> object:
        return await asyncio.gather(*(runner.run(Work(_bump)) for _ in range(200)))

    assert sorted(_run(lmdb_store, scenario, events)) == list(range(1, 201))
    assert _counter(lmdb_store) == 200
    # Every event was published once, and only when its write was already on disk.
    assert sorted(int(reason.split()[1]) for reason, _ in events.seen) == list(range(1, 201))
    assert all(int(reason.split()[1]) <= held for reason, held in events.seen)


def test_a_refusal_reaches_its_caller_changes_nothing_and_publishes_nothing(
    lmdb_store: LmdbStore,
) -> None:
    def refused(tx: Any) -> Done[int]:
        _bump(tx)
        raise InvalidArgument([])

    events = Published(lmdb_store)

    async def scenario(runner: UseCaseRunner) -> object:
        with pytest.raises(InvalidArgument):
            await runner.run(Work(refused))
        return await runner.run(Work(_bump))

    assert _run(lmdb_store, scenario, events) == 1
    assert events.seen == [("bump 1", 1)]
