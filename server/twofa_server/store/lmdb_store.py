"""The LMDB implementation of core's Store: one environment, named sub-databases."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import lmdb

from ..core.errors import StoreFull, StoreUnavailable
from ..core.models import Policy, UserRef, UserState
from ..crypto import Sealer
from . import keys
from .codec import UserCodec, decode_policy, encode_policy

T = TypeVar("T")
log = logging.getLogger(__name__)

MEBIBYTE = 1024 * 1024


class LmdbTransaction:
    """core's Transaction over one LMDB transaction."""

    def __init__(self, txn: Any, dbs: dict[bytes, Any], codec: UserCodec) -> None:
        self._txn = txn
        self._dbs = dbs
        self._codec = codec

    def get_user(self, user: UserRef) -> UserState | None:
        key = keys.user_key(user)
        data = self._txn.get(key, db=self._dbs[keys.USERS])
        return None if data is None else self._codec.decode(key, data)

    def put_user(self, user: UserRef, state: UserState) -> None:
        key = keys.user_key(user)
        if state.is_empty():
            self._txn.delete(key, db=self._dbs[keys.USERS])
        else:
            self._txn.put(key, self._codec.encode(key, state), db=self._dbs[keys.USERS])

    def delete_user(self, user: UserRef) -> bool:
        return bool(self._txn.delete(keys.user_key(user), db=self._dbs[keys.USERS]))

    def get_policy(self, tenant_id: str) -> Policy | None:
        data = self._txn.get(keys.tenant_key(tenant_id), db=self._dbs[keys.POLICIES])
        return None if data is None else decode_policy(data)

    def put_policy(self, tenant_id: str, policy: Policy) -> None:
        self._txn.put(
            keys.tenant_key(tenant_id), encode_policy(policy), db=self._dbs[keys.POLICIES]
        )

    def get_meta(self, key: bytes) -> bytes | None:
        data = self._txn.get(key, db=self._dbs[keys.META])
        return None if data is None else bytes(data)

    def put_meta(self, key: bytes, value: bytes) -> None:
        self._txn.put(key, value, db=self._dbs[keys.META])


class LmdbStore:
    """Runs each use case in one LMDB transaction; writes are fsynced before they return.

    Args:
        path: the data directory (created if missing).
        map_size_mb: the most the store may grow to.
        sealer: seals and opens the secret fields of records.
    """

    def __init__(self, path: Path, map_size_mb: int, sealer: Sealer) -> None:
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
            meminit=False,
        )
        with self._env.begin(write=True) as txn:
            self._dbs = {name: self._env.open_db(name, txn=txn) for name in keys.ALL_DATABASES}
        self._codec = UserCodec(sealer)

    def read(self, work: Callable[[LmdbTransaction], T]) -> T:
        with self._failures(), self._env.begin(write=False, buffers=False) as txn:
            return work(LmdbTransaction(txn, self._dbs, self._codec))

    def write(self, work: Callable[[LmdbTransaction], T]) -> T:
        # The context manager commits when `work` returns and aborts if it raises,
        # so a refused request leaves nothing behind.
        with self._failures(), self._env.begin(write=True) as txn:
            return work(LmdbTransaction(txn, self._dbs, self._codec))

    @contextmanager
    def _failures(self) -> Iterator[None]:
        try:
            yield
        except lmdb.MapFullError as exc:
            raise StoreFull(
                f"the store is full (map_size_mb={self.map_size_mb}): "
                "raise map_size_mb and restart twofa"
            ) from exc
        except lmdb.Error as exc:
            log.error("store error: %s", type(exc).__name__)
            raise StoreUnavailable("the store cannot be used") from exc

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

    def close(self) -> None:
        self._env.close()
