"""Tenants' policies cached in memory: never older than the last acknowledged change."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from twofa_server.core.models import Policy
from twofa_server.store.lmdb.policy_cache import PolicyCache
from twofa_server.store.lmdb.store import LmdbStore, LmdbTransaction

from ..support.lmdb_writer import hold_writer, wait_queued


def _attempts(store: LmdbStore, tenant: str = "t") -> int | None:
    policy = store.read(lambda tx: tx.get_policy(tenant))
    return None if policy is None else policy.max_attempts


def _set(store: LmdbStore, attempts: int, tenant: str = "t") -> None:
    store.write(lambda tx: tx.put_policy(tenant, Policy(max_attempts=attempts)))


def test_a_read_after_a_change_is_acknowledged_sees_it(lmdb_store: LmdbStore) -> None:
    assert _attempts(lmdb_store) is None  # cached as absent
    _set(lmdb_store, 3)
    assert _attempts(lmdb_store) == 3
    assert _attempts(lmdb_store) == 3  # now from memory
    _set(lmdb_store, 4)
    assert _attempts(lmdb_store) == 4
    assert _attempts(lmdb_store, "other") is None


def test_a_cached_policy_is_served_without_reading_the_store(lmdb_store: LmdbStore) -> None:
    _set(lmdb_store, 3)
    assert _attempts(lmdb_store) == 3
    reads = []
    original = LmdbTransaction._read_policy

    def counted(self: LmdbTransaction, tenant_id: str) -> Policy | None:
        reads.append(tenant_id)
        return original(self, tenant_id)

    LmdbTransaction._read_policy = counted  # type: ignore[method-assign]
    try:
        for _ in range(5):
            assert _attempts(lmdb_store) == 3
    finally:
        LmdbTransaction._read_policy = original  # type: ignore[method-assign]
    assert reads == []


def test_a_write_in_the_same_batch_sees_the_uncommitted_policy_before_it(
    lmdb_store: LmdbStore,
) -> None:
    _set(lmdb_store, 3)
    assert _attempts(lmdb_store) == 3  # cached
    gate, held = hold_writer(lmdb_store)
    with ThreadPoolExecutor(2) as pool:
        changed = pool.submit(_set, lmdb_store, 9)
        wait_queued(lmdb_store, 1)
        seen = pool.submit(lmdb_store.write, lambda tx: tx.get_policy("t"))
        wait_queued(lmdb_store, 2)
        gate.set()
        held.result(5)
        changed.result(5)
        policy = seen.result(5)
    assert policy is not None and policy.max_attempts == 9  # the batch mate's change
    assert _attempts(lmdb_store) == 9


def test_an_entry_from_an_older_generation_is_not_used() -> None:
    cache = PolicyCache()
    stored = {"t": Policy(max_attempts=3)}
    assert cache.get("t", cache.generation, lambda: stored["t"], writing=False) == stored["t"]
    stored["t"] = Policy(max_attempts=5)
    cache.written()
    # Until the batch ends, the batch's own writes read the store; reads use the old entry,
    # which is still what is committed.
    assert cache.get("t", cache.generation, lambda: stored["t"], writing=True) == stored["t"]
    cache.batch_ended()
    assert cache.get("t", cache.generation, lambda: stored["t"], writing=False) == stored["t"]
    # A transaction that noted an older generation refills instead of trusting the entry.
    older = cache.generation - 1
    refilled = cache.get("t", older, lambda: Policy(max_attempts=7), writing=False)
    assert refilled == Policy(max_attempts=7)


def test_concurrent_changes_and_reads_never_see_an_acknowledged_change_undone(
    lmdb_store: LmdbStore,
) -> None:
    stop = threading.Event()
    acknowledged = [0]
    stale: list[tuple[int, int | None]] = []

    def reader() -> None:
        while not stop.is_set():
            floor = acknowledged[0]
            seen = _attempts(lmdb_store)
            if floor and (seen is None or seen < floor):
                stale.append((floor, seen))

    with ThreadPoolExecutor(3) as pool:
        readers = [pool.submit(reader) for _ in range(2)]
        for attempts in range(1, 21):
            _set(lmdb_store, attempts)
            acknowledged[0] = attempts
        stop.set()
        for done in readers:
            done.result(5)
    assert stale == []
