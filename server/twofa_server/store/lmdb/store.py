"""The embedded store: core's Store on one LMDB environment with named sub-databases.

Reads run at once on the caller's thread, in a read snapshot. Writes go to the
writer thread (writer.py), which batches them under one durable commit. One
process owns the environment, so there is nothing to lock across instances and
no transaction ever conflicts with another: each use case's work runs once.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

import lmdb

from ...clock import SystemClock
from ...core.errors import StoreFull, StoreUnavailable
from ...core.models import Mail, Policy, QueuedMail, UserRef, UserState
from ...core.ports import Clock
from ...core.work import Done, Finish, Outcome, Work
from ...crypto import Sealer
from .. import keys
from ..codec import RecordCodec, decode_policy, encode_policy
from ..keycheck import StoreNotInitialized, not_initialized
from ..reseal import Batch, Census, reseal_batch, take_census
from .files import (
    DATA_FILE,
    DIRECTORY_MODE,
    FILE_MODE,
    StoreDamaged,
    check_data_file,
    make_private,
    reason,
)
from .policy_cache import PolicyCache
from .writer import Result, Writer, WriterStopped

T = TypeVar("T")
log = logging.getLogger(__name__)

MEBIBYTE = 1024 * 1024


class LmdbTransaction:
    """core's Transaction over one LMDB transaction."""

    def __init__(self, store: LmdbStore, txn: Any, generation: int, writing: bool) -> None:
        self._store = store
        self._txn = txn
        self._dbs = store.dbs
        self._codec = store.codec
        self._generation = generation  # of the policy cache, noted before `txn` began
        self._writing = writing

    def get_user(self, user: UserRef) -> UserState | None:
        key = keys.user_key(user)
        data = self._txn.get(key, db=self._dbs[keys.USERS])
        return None if data is None else self._codec.decode_user(key, data)

    def put_user(self, user: UserRef, state: UserState) -> None:
        key = keys.user_key(user)
        if state.is_empty():
            self._txn.delete(key, db=self._dbs[keys.USERS])
        else:
            self._txn.put(key, self._codec.encode_user(key, state), db=self._dbs[keys.USERS])

    def delete_user(self, user: UserRef) -> bool:
        key = keys.user_key(user)
        existed = bool(self._txn.delete(key, db=self._dbs[keys.USERS]))
        outbox = self._dbs[keys.OUTBOX]
        queued = [
            mail_id
            for mail_id, data in self._txn.cursor(db=outbox)
            if self._codec.mail_record(data).user_key == key
        ]
        for mail_id in queued:
            self._txn.delete(mail_id, db=outbox)
        return existed or bool(queued)

    def users_after(
        self, after: UserRef | None, limit: int
    ) -> list[tuple[UserRef, UserState | None]]:
        start = keys.user_key(after) if after is not None else b""
        found: list[tuple[UserRef, UserState | None]] = []
        for key, data in self.records(keys.USERS, start):
            found.append((keys.parse_user_key(key), self._codec.decode_user_or_none(key, data)))
            if len(found) == limit:
                break
        return found

    def enqueue_mail(self, user: UserRef, mail: Mail) -> None:
        mail_key = keys.new_outbox_key(self._store.clock.now(), os.urandom)
        record = self._codec.encode_mail(
            mail_key, keys.user_key(user), mail, self._store.clock.now()
        )
        self._txn.put(mail_key, record, db=self._dbs[keys.OUTBOX])
        self._store.mail_queued = True

    def get_policy(self, tenant_id: str) -> Policy | None:
        return self._store.policies.get(
            tenant_id, self._generation, lambda: self._read_policy(tenant_id), self._writing
        )

    def _read_policy(self, tenant_id: str) -> Policy | None:
        data = self._txn.get(keys.tenant_key(tenant_id), db=self._dbs[keys.POLICIES])
        return None if data is None else decode_policy(data)

    def put_policy(self, tenant_id: str, policy: Policy) -> None:
        self._store.policies.written()
        self._txn.put(
            keys.tenant_key(tenant_id), encode_policy(policy), db=self._dbs[keys.POLICIES]
        )

    # --- raw records: the outbox, the meta records, re-sealing ------------------------------

    def records(self, db: bytes, after: bytes = b"") -> Iterator[tuple[bytes, bytes]]:
        """A sub-database's (key, value) pairs in key order, from the first key after `after`."""
        cursor = self._txn.cursor(db=self._dbs[db])
        if not cursor.set_range(after):
            return
        for key, value in cursor:
            if key != after:
                yield bytes(key), bytes(value)

    def get_record(self, db: bytes, key: bytes) -> bytes | None:
        data = self._txn.get(key, db=self._dbs[db])
        return None if data is None else bytes(data)

    def put_record(self, db: bytes, key: bytes, value: bytes) -> None:
        self._txn.put(key, value, db=self._dbs[db])

    def delete_record(self, db: bytes, key: bytes) -> None:
        self._txn.delete(key, db=self._dbs[db])


class LmdbStore:
    """The LMDB store (see the module's docstring); writes are on disk before they answer.

    Args:
        path: the data directory (created if missing).
        map_size_mb: the most the store may grow to.
        sealer: seals and opens the secret fields of records.
        clock: stamps queued mail.
    """

    def __init__(
        self,
        path: Path,
        map_size_mb: int,
        sealer: Sealer,
        clock: Clock | None = None,
        *,
        create: bool = True,
    ) -> None:
        self.path = path
        self.map_size_mb = map_size_mb
        if (path / DATA_FILE).exists():
            check_data_file(path)  # before mapping it: a short file would be a SIGBUS
        elif create:
            path.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
        else:
            raise StoreNotInitialized(not_initialized(self.where))
        try:
            self._env = lmdb.open(
                str(path),
                map_size=map_size_mb * MEBIBYTE,
                max_dbs=len(keys.ALL_DATABASES),
                subdir=True,
                mode=FILE_MODE,
                sync=True,  # durability: a commit is on disk before its outcome is reported
                metasync=True,
                readahead=False,  # random access to many users: do not pull in neighbours
                # meminit stays on: LMDB zeroes new pages, so stale process memory (codes,
                # addresses) never lands in the file.
            )
        except lmdb.Error as error:
            raise StoreDamaged(
                f"the store in {path} cannot be opened ({reason(error)}): check that this "
                "user owns it, or restore it from a backup"
            ) from None
        make_private(path)
        with self._env.begin(write=True) as txn:
            self.dbs = {name: self._env.open_db(name, txn=txn) for name in keys.ALL_DATABASES}
        self.codec = RecordCodec(sealer)
        self.clock = clock or SystemClock()
        self.policies = PolicyCache()
        # Set by a write that queued mail; the writer's after-batch step wakes the sender.
        self.mail_queued = False
        self._mail_listeners: list[Callable[[], None]] = []
        self._writer = Writer(self._env, after_batch=self._after_batch)

    # --- core's Store ------------------------------------------------------------------------

    def submit(self, work: Work[Any], finish: Finish) -> None:
        if not work.writes:
            finish(self._read_outcome(work.run))
            return
        if work.answer_from_read is not None:
            early = self._read_outcome(work.answer_from_read)
            if early.error is not None or early.done is not None:
                finish(early)  # answered from a read: no write, no wait for the writer
                return
        self._writer.submit(
            lambda txn: work.run(self._transaction(txn, writing=True)),
            lambda result: finish(self._outcome(result)),
        )

    def run(self, work: Work[T]) -> Done[T]:
        if not work.writes:
            return self.read(work.run)
        if work.answer_from_read is not None:
            early = self.read(work.answer_from_read)
            if early is not None:
                return early
        return self.write(work.run)

    def lead(self, job: str) -> AbstractContextManager[bool]:
        return nullcontext(True)  # one process owns the store

    @property
    def where(self) -> str:
        return f"the store in {self.path}"

    def reachable(self) -> bool:
        return True  # a file of this process: it either opened or twofa did not start

    def _read_outcome(self, read: Callable[[LmdbTransaction], Any]) -> Outcome[Any]:
        try:
            return Outcome(done=self.read(read))
        except BaseException as error:
            return Outcome(error=error)

    def _outcome(self, result: Result) -> Outcome[Any]:
        ok, value = result
        if ok:
            return Outcome(done=value)
        if isinstance(value, lmdb.Error | WriterStopped):
            value = _store_error(value, self.map_size_mb)
        return Outcome(error=value)

    # --- transactions on the calling thread (jobs, tools, the seam above) --------------------

    def read(self, work: Callable[[LmdbTransaction], T]) -> T:
        """Runs `work` in a read-only snapshot and returns its result."""
        generation = self.policies.generation  # before the snapshot: see policy_cache.py
        with self._failures(), self._env.begin(write=False, buffers=False) as txn:
            return work(LmdbTransaction(self, txn, generation, writing=False))

    def write(self, work: Callable[[LmdbTransaction], T]) -> T:
        """Runs `work` in the writer's next batch; returns once that batch is durable."""
        with self._failures():
            return self._writer.write(lambda txn: work(self._transaction(txn, writing=True)))

    def _transaction(self, txn: Any, writing: bool) -> LmdbTransaction:
        # On the writer thread, the only thread that changes the policy cache's generation.
        return LmdbTransaction(self, txn, self.policies.generation, writing)

    def _after_batch(self) -> None:
        self.policies.batch_ended()
        if self.mail_queued:
            self.mail_queued = False
            for listener in self._mail_listeners:
                listener()

    @contextmanager
    def _failures(self) -> Iterator[None]:
        try:
            yield
        except (lmdb.Error, WriterStopped) as exc:
            raise _store_error(exc, self.map_size_mb) from exc

    # --- the outbox, for the delivery worker (core.ports.Outbox) -----------------------------

    def claim_due(self, now: float, limit: int) -> list[QueuedMail]:
        # One process, one sender thread: what is due is this sender's.
        def read(tx: LmdbTransaction) -> list[QueuedMail]:
            due = []
            for mail_id, data in tx.records(keys.OUTBOX):
                record = self.codec.mail_record(data)
                if record.next_attempt_at_ms <= now * 1000:
                    due.append(self.codec.decode_mail(mail_id, record))
            due.sort(key=lambda queued: queued.created_at)
            return due[:limit]

        return self.read(read)

    def next_attempt_at(self) -> float | None:
        def read(tx: LmdbTransaction) -> float | None:
            times = [
                self.codec.mail_record(data).next_attempt_at_ms
                for _, data in tx.records(keys.OUTBOX)
            ]
            return min(times) / 1000 if times else None

        return self.read(read)

    def reschedule(self, mail_id: bytes, attempts: int, next_attempt_at: float) -> None:
        def work(tx: LmdbTransaction) -> None:
            data = tx.get_record(keys.OUTBOX, mail_id)
            if data is None:
                return  # removed meanwhile, e.g. by DeleteUser
            record = self.codec.mail_record(data)
            record.attempts = attempts
            record.next_attempt_at_ms = round(next_attempt_at * 1000)
            tx.put_record(keys.OUTBOX, mail_id, record.SerializeToString())

        self.write(work)

    def remove(self, mail_id: bytes) -> None:
        self.write(lambda tx: tx.delete_record(keys.OUTBOX, mail_id))

    def on_mail_queued(self, wake: Callable[[], None]) -> None:
        self._mail_listeners.append(wake)

    def outbox_summary(self) -> tuple[int, float | None]:
        """(queued messages, when the oldest was queued) — for metrics and status."""

        def read(tx: LmdbTransaction) -> tuple[int, float | None]:
            created = [
                self.codec.mail_record(data).created_at_ms for _, data in tx.records(keys.OUTBOX)
            ]
            return len(created), (min(created) / 1000 if created else None)

        return self.read(read)

    # --- sealed records: the keyring check and re-sealing (store/reseal.py) ------------------

    def read_key_check(self) -> tuple[bytes, bytes] | None:
        def read(tx: LmdbTransaction) -> tuple[bytes, bytes] | None:
            sealed = tx.get_record(keys.META, keys.META_KEY_CHECK)
            mac = tx.get_record(keys.META, keys.META_MAC_CHECK)
            return None if sealed is None or mac is None else (sealed, mac)

        return self.read(read)

    def write_key_check(self, sealed: bytes, mac: bytes) -> None:
        def work(tx: LmdbTransaction) -> None:
            tx.put_record(keys.META, keys.META_KEY_CHECK, sealed)
            tx.put_record(keys.META, keys.META_MAC_CHECK, mac)

        self.write(work)

    def census(self, primary: int | None = None) -> Census:
        return self.read(lambda tx: take_census(tx.records, primary))

    def reseal_batch(self, sealer: Sealer, db: bytes, after: bytes, limit: int) -> Batch:
        return self.write(
            lambda tx: reseal_batch(tx.records(db, after), tx.put_record, sealer, db, limit)
        )

    def replace_sealer(self, sealer: Sealer, check: Callable[[Census], None]) -> None:
        """Seals and opens every later transaction's records with `sealer` (a reloaded keyring).

        The swap happens inside a write transaction, when no other write is in flight, so
        every record written under the old sealer is committed before any write under the
        new one begins. `check` first sees the records' census in that transaction; if it
        raises, nothing changes.
        """

        def swap(tx: LmdbTransaction) -> None:
            check(take_census(tx.records))
            self.codec = RecordCodec(sealer)

        self.write(swap)

    # --- for diagnostics, metrics and tests ---------------------------------------------------

    def snapshot(self) -> dict[str, dict[bytes, bytes]]:
        """Every record of every sub-database as raw bytes, from one read snapshot."""
        with self._env.begin(write=False) as txn:
            return {
                name.decode(): {bytes(k): bytes(v) for k, v in txn.cursor(db=db)}
                for name, db in self.dbs.items()
            }

    def map_usage(self) -> tuple[int, int] | None:
        """Returns (bytes in use, map size in bytes)."""
        info, stat = self._env.info(), self._env.stat()
        return (info["last_pgno"] + 1) * stat["psize"], info["map_size"]

    def close(self) -> None:
        self._writer.stop()  # what is queued still commits
        self._env.close()


def _store_error(
    error: lmdb.Error | WriterStopped, map_size_mb: int
) -> StoreFull | StoreUnavailable:
    if isinstance(error, lmdb.MapFullError):
        return StoreFull(
            f"the store is full (map_size_mb={map_size_mb}): raise map_size_mb and restart twofa"
        )
    if isinstance(error, WriterStopped):
        return StoreUnavailable("the store is closing")
    log.error("store error: %s", type(error).__name__)
    return StoreUnavailable("the store cannot be used")
