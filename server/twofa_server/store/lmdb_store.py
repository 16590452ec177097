"""The LMDB implementation of core's Store: one environment, named sub-databases."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import lmdb

from ..clock import SystemClock
from ..core.errors import StoreFull, StoreUnavailable
from ..core.models import Mail, Policy, QueuedMail, UserRef, UserState
from ..core.ports import Clock
from ..crypto import Sealer
from . import keys
from .codec import RecordCodec, decode_policy, encode_policy
from .policy_cache import PolicyCache
from .writer import Finish, Outcome, Writer, WriterStopped

T = TypeVar("T")
log = logging.getLogger(__name__)

MEBIBYTE = 1024 * 1024


class LmdbTransaction:
    """core's Transaction over one LMDB transaction."""

    def __init__(
        self,
        txn: Any,
        dbs: dict[bytes, Any],
        codec: RecordCodec,
        now: float,
        policies: PolicyCache,
        generation: int,
        writing: bool,
    ) -> None:
        self._txn = txn
        self._dbs = dbs
        self._codec = codec
        self._now = now
        self._policies = policies
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

    def users_after(self, after: UserRef | None, limit: int) -> list[tuple[UserRef, UserState]]:
        cursor = self._txn.cursor(db=self._dbs[keys.USERS])
        start = keys.user_key(after) if after is not None else b""
        found: list[tuple[UserRef, UserState]] = []
        if not cursor.set_range(start):
            return found
        for key, data in cursor:
            key = bytes(key)
            if key == start:
                continue
            found.append((keys.parse_user_key(key), self._codec.decode_user(key, bytes(data))))
            if len(found) == limit:
                break
        return found

    def enqueue_mail(self, user: UserRef, mail: Mail) -> None:
        sequence = int.from_bytes(self.get_meta(keys.META_OUTBOX_SEQUENCE) or b"\0", "big") + 1
        self.put_meta(keys.META_OUTBOX_SEQUENCE, sequence.to_bytes(8, "big"))
        mail_key = keys.outbox_key(sequence)
        record = self._codec.encode_mail(mail_key, keys.user_key(user), mail, self._now)
        self._txn.put(mail_key, record, db=self._dbs[keys.OUTBOX])

    def get_policy(self, tenant_id: str) -> Policy | None:
        return self._policies.get(
            tenant_id, self._generation, lambda: self._read_policy(tenant_id), self._writing
        )

    def _read_policy(self, tenant_id: str) -> Policy | None:
        data = self._txn.get(keys.tenant_key(tenant_id), db=self._dbs[keys.POLICIES])
        return None if data is None else decode_policy(data)

    def put_policy(self, tenant_id: str, policy: Policy) -> None:
        self._policies.written()
        self._txn.put(
            keys.tenant_key(tenant_id), encode_policy(policy), db=self._dbs[keys.POLICIES]
        )

    def outbox_cursor(self) -> Iterator[tuple[bytes, bytes]]:
        return iter(self._txn.cursor(db=self._dbs[keys.OUTBOX]))

    def outbox_get(self, mail_id: bytes) -> bytes | None:
        data = self._txn.get(mail_id, db=self._dbs[keys.OUTBOX])
        return None if data is None else bytes(data)

    def outbox_put(self, mail_id: bytes, data: bytes) -> None:
        self._txn.put(mail_id, data, db=self._dbs[keys.OUTBOX])

    def outbox_delete(self, mail_id: bytes) -> None:
        self._txn.delete(mail_id, db=self._dbs[keys.OUTBOX])

    def get_meta(self, key: bytes) -> bytes | None:
        data = self._txn.get(key, db=self._dbs[keys.META])
        return None if data is None else bytes(data)

    def put_meta(self, key: bytes, value: bytes) -> None:
        self._txn.put(key, value, db=self._dbs[keys.META])

    # --- raw records, for counting and re-sealing them by key id (store/reseal.py) -----------

    def records(self, db: bytes, after: bytes = b"") -> Iterator[tuple[bytes, bytes]]:
        """A sub-database's (key, value) pairs in key order, from the first key after `after`."""
        cursor = self._txn.cursor(db=self._dbs[db])
        if not cursor.set_range(after):
            return
        for key, value in cursor:
            if key != after:
                yield bytes(key), bytes(value)

    def put_record(self, db: bytes, key: bytes, value: bytes) -> None:
        self._txn.put(key, value, db=self._dbs[db])


class LmdbStore:
    """Runs each use case in one LMDB transaction; writes are fsynced before they return.

    Args:
        path: the data directory (created if missing).
        map_size_mb: the most the store may grow to.
        sealer: seals and opens the secret fields of records.
        clock: stamps queued mail.
    """

    def __init__(
        self, path: Path, map_size_mb: int, sealer: Sealer, clock: Clock | None = None
    ) -> None:
        self.path = path
        self.map_size_mb = map_size_mb
        path.mkdir(parents=True, exist_ok=True)
        self._env = lmdb.open(
            str(path),
            map_size=map_size_mb * MEBIBYTE,
            max_dbs=len(keys.ALL_DATABASES),
            subdir=True,
            sync=True,  # durability: a commit is on disk before write() returns
            metasync=True,
            readahead=False,  # random access to many users: do not pull in neighbours
            # meminit stays on: LMDB zeroes new pages, so stale process memory (codes,
            # addresses) never lands in the file.
        )
        with self._env.begin(write=True) as txn:
            self._dbs = {name: self._env.open_db(name, txn=txn) for name in keys.ALL_DATABASES}
        self._codec = RecordCodec(sealer)
        self._clock = clock or SystemClock()
        self._policies = PolicyCache()
        self._writer = Writer(self._env)
        self._writer.add_batch_end(self._policies.batch_ended)

    def read(self, work: Callable[[LmdbTransaction], T]) -> T:
        generation = self._policies.generation  # before the snapshot: see policy_cache.py
        with self._failures(), self._env.begin(write=False, buffers=False) as txn:
            return work(self._transaction(txn, generation, writing=False))

    def write(self, work: Callable[[LmdbTransaction], T]) -> T:
        # Every write runs on the store's writer thread, batched with the writes queued
        # beside it under one durable commit (writer.py); it returns once on disk.
        # Only the writer thread changes the policy cache's generation.
        with self._failures():
            return self._writer.write(
                lambda txn: work(self._transaction(txn, self._policies.generation, writing=True))
            )

    def _transaction(self, txn: Any, generation: int, writing: bool) -> LmdbTransaction:
        return LmdbTransaction(
            txn, self._dbs, self._codec, self._clock.now(), self._policies, generation, writing
        )

    def submit(self, call: Callable[[], T], finish: Finish) -> None:
        """Runs a whole use case on the writer thread; `finish(outcome)` once it is durable.

        See writer.py. A store failure reaches `finish` as StoreFull or StoreUnavailable.
        """

        def translated(outcome: Outcome) -> None:
            ok, value = outcome
            if not ok and isinstance(value, (lmdb.Error, WriterStopped)):
                outcome = (False, _store_error(value, self.map_size_mb))
            finish(outcome)

        self._writer.submit(call, translated)

    def after_commit(self, action: Callable[[], None]) -> None:
        """Runs `action` once the current work's writes are durable (see Writer.after_commit)."""
        self._writer.after_commit(action)

    def on_batch_end(self, hook: Callable[[], None]) -> None:
        """Runs `hook` on the writer thread after each batch's commit and after-commit
        actions, before its answers go out (e.g. to flush what the actions wrote)."""
        self._writer.add_batch_end(hook)

    def on_writer_thread(self) -> bool:
        """Whether the caller is the writer thread (whose batches end with the hooks)."""
        return self._writer.is_writer_thread()

    def writes_refused(self) -> AbstractContextManager[None]:
        """On this thread, a write raises WriteNeeded (nothing changed) instead of running."""
        return self._writer.writes_refused()

    # --- the outbox, for the delivery worker (core.ports.Outbox) -----------------------------

    def due_mail(self, now: float, limit: int) -> list[QueuedMail]:
        def read(tx: LmdbTransaction) -> list[QueuedMail]:
            due = []
            for mail_id, data in tx.outbox_cursor():
                record = self._codec.mail_record(data)
                if record.next_attempt_at_ms <= now * 1000:
                    due.append(self._codec.decode_mail(bytes(mail_id), record))
                    if len(due) == limit:
                        break
            return due

        return self.read(read)

    def next_attempt_at(self) -> float | None:
        def read(tx: LmdbTransaction) -> float | None:
            times = [
                self._codec.mail_record(data).next_attempt_at_ms for _, data in tx.outbox_cursor()
            ]
            return min(times) / 1000 if times else None

        return self.read(read)

    def reschedule(self, mail_id: bytes, attempts: int, next_attempt_at: float) -> None:
        def work(tx: LmdbTransaction) -> None:
            data = tx.outbox_get(mail_id)
            if data is None:
                return  # removed meanwhile, e.g. by DeleteUser
            record = self._codec.mail_record(data)
            record.attempts = attempts
            record.next_attempt_at_ms = round(next_attempt_at * 1000)
            tx.outbox_put(mail_id, record.SerializeToString())

        self.write(work)

    def remove(self, mail_id: bytes) -> None:
        self.write(lambda tx: tx.outbox_delete(mail_id))

    def outbox_summary(self) -> tuple[int, float | None]:
        """(queued messages, when the oldest was queued) — for metrics and status."""

        def read(tx: LmdbTransaction) -> tuple[int, float | None]:
            created = [
                self._codec.mail_record(data).created_at_ms for _, data in tx.outbox_cursor()
            ]
            return len(created), (min(created) / 1000 if created else None)

        return self.read(read)

    @contextmanager
    def _failures(self) -> Iterator[None]:
        try:
            yield
        except (lmdb.Error, WriterStopped) as exc:
            raise _store_error(exc, self.map_size_mb) from exc

    def snapshot(self) -> dict[str, dict[bytes, bytes]]:
        """Every record of every sub-database as raw bytes, from one read snapshot.

        For diagnostics and tests; a store is small enough to hold in memory here.
        """
        with self._env.begin(write=False) as txn:
            return {
                name.decode(): {bytes(k): bytes(v) for k, v in txn.cursor(db=db)}
                for name, db in self._dbs.items()
            }

    def map_usage(self) -> tuple[int, int]:
        """Returns (bytes in use, map size in bytes)."""
        info, stat = self._env.info(), self._env.stat()
        return (info["last_pgno"] + 1) * stat["psize"], info["map_size"]

    def replace_sealer(
        self, sealer: Sealer, check: Callable[[LmdbTransaction], None] | None = None
    ) -> None:
        """Seals and opens every later transaction's records with `sealer` (a reloaded keyring).

        The swap happens inside a write transaction, when no other write is in flight, so
        every record written under the old sealer is committed before any write under the
        new one begins. `check` runs first in that transaction; if it raises, nothing changes.
        """

        def swap(tx: LmdbTransaction) -> None:
            if check is not None:
                check(tx)
            self._codec = RecordCodec(sealer)

        self.write(swap)

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
