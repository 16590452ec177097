"""The store opened read-only by a second process, for `twofa status`, `keys drop` and `backup`.

LMDB lets several processes on one host share an environment: a read-only handle
registers its readers in the lock file, so the running server never reuses the pages
they read, and every read sees one consistent snapshot while the server goes on writing.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lmdb

from ...errors import OperatorError
from .. import keys
from ..reseal import Census, take_census
from .files import DATA_FILE, FILE_MODE, check_data_file, reason


class StoreNotReadable(OperatorError):
    """The store cannot be opened read-only; the message says what to do, in one line."""


@dataclass(frozen=True)
class Usage:
    """The size of the store.

    Attributes:
        file_bytes: the size of data.mdb on disk.
        map_size_bytes: the most the store may grow to (map_size_mb when it was last opened).
        map_used_bytes: pages in use, up to the highest one ever written.
    """

    file_bytes: int
    map_size_bytes: int
    map_used_bytes: int

    @property
    def map_used_ratio(self) -> float:
        return self.map_used_bytes / self.map_size_bytes if self.map_size_bytes else 0.0


class ReadOnlyStore:
    """A read-only LMDB handle on a data directory, which a running server may share."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir
        if not (data_dir / DATA_FILE).is_file():
            raise StoreNotReadable(
                f"no twofa store in {data_dir} (no {DATA_FILE}): set data_dir "
                "(--data-dir or TWOFA_DATA_DIR) to the server's data directory"
            )
        check_data_file(data_dir)  # a damaged file is one line, never a SIGBUS
        try:
            # map_size=0 adopts the size the store was created with.
            self._env = lmdb.open(
                str(data_dir),
                readonly=True,
                subdir=True,
                map_size=0,
                max_dbs=len(keys.ALL_DATABASES),
                readahead=False,
            )
        except lmdb.Error as exc:
            raise StoreNotReadable(
                f"the store in {data_dir} cannot be opened ({reason(exc)}): "
                "run this as the user twofa runs as"
            ) from None
        self._dbs: dict[bytes, Any] = {}
        for name in keys.ALL_DATABASES:
            # A store that is still being created may lack one.
            with contextlib.suppress(lmdb.NotFoundError):
                self._dbs[name] = self._env.open_db(name, create=False)

    def census(self, primary: int | None = None) -> Census:
        """Record counts and the keys they need, from one snapshot; see reseal.Census."""
        with self.snapshot() as records:
            return take_census(records, primary)

    @contextmanager
    def snapshot(self) -> Iterator[Callable[[bytes], Iterator[tuple[bytes, bytes]]]]:
        """One read snapshot, as a function giving a sub-database's (key, value) pairs in order."""
        with self._env.begin(buffers=False) as txn:

            def records(db: bytes) -> Iterator[tuple[bytes, bytes]]:
                handle = self._dbs.get(db)
                return iter(()) if handle is None else iter(txn.cursor(db=handle))

            yield records

    def usage(self) -> Usage:
        info, stat = self._env.info(), self._env.stat()
        return Usage(
            file_bytes=(self.path / DATA_FILE).stat().st_size,
            map_size_bytes=info["map_size"],
            map_used_bytes=(info["last_pgno"] + 1) * stat["psize"],
        )

    def copy_to(self, target: Path) -> int:
        """Writes a compacted, consistent copy into the empty directory `target`.

        Returns:
            The size of the copy in bytes.
        """
        try:
            self._env.copy(str(target), compact=True)
        except lmdb.Error as exc:
            raise StoreNotReadable(
                f"the store in {self.path} cannot be copied to {target} ({reason(exc)}): "
                "check that there is room and the directory is writable"
            ) from None
        copy = target / DATA_FILE
        os.chmod(copy, FILE_MODE)  # user and tenant ids are in plaintext
        _fsync(copy)
        _fsync(target)
        return copy.stat().st_size

    def close(self) -> None:
        self._env.close()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def open_read_only(data_dir: Path) -> Iterator[ReadOnlyStore]:
    store = ReadOnlyStore(data_dir)
    try:
        yield store
    finally:
        store.close()
