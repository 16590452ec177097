"""A raw view of an LMDB store: every record as bytes, and the bytes of its files.

LMDB only: tests that use these read what the LMDB store writes, so they carry
the `lmdb_only` mark and are not run against another store.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import lmdb

from twofa_server.app import Application
from twofa_server.store.lmdb.store import LmdbStore


def dump_store(source: Application | Path) -> dict[str, dict[bytes, bytes]]:
    """Every key and value of every named sub-database of an LMDB store (LMDB only).

    Pass the running Application (LMDB refuses a second open of the same
    environment in one process), or the data directory of a stopped one.
    """
    if isinstance(source, Application):
        store = source.store
        assert isinstance(store, LmdbStore), "dump_store reads LMDB stores only"
        return store.snapshot()
    data_dir = source
    env = lmdb.open(str(data_dir), readonly=True, lock=False, max_dbs=32, subdir=True)
    try:
        with env.begin() as txn:
            names = [bytes(key) for key, _ in txn.cursor()]
        dump: dict[str, dict[bytes, bytes]] = {}
        for name in names:
            db = env.open_db(name, create=False)
            with env.begin(db=db) as txn:
                dump[name.decode()] = {bytes(k): bytes(v) for k, v in txn.cursor()}
        return dump
    finally:
        env.close()


def store_bytes(data_dir: Path) -> bytes:
    """The raw content of the LMDB files (data and lock)."""
    return b"".join(path.read_bytes() for path in sorted(data_dir.glob("*.mdb")))


def in_records(app: Application, needle: bytes) -> bool:
    """Whether `needle` appears in any key or value the running app's store holds."""
    return any(
        needle in key or needle in value
        for records in dump_store(app).values()
        for key, value in records.items()
    )


_LAST_TXNID = (
    "import lmdb, sys; "
    "env = lmdb.open(sys.argv[1], readonly=True, lock=False, max_dbs=32, subdir=True); "
    "print(env.info()['last_txnid'])"
)


def last_txnid(data_dir: Path) -> int:
    """The id of the last committed write transaction of an LMDB store: its commits so far.

    Read by a read-only handle in a process of its own (LMDB allows one handle per
    environment and process, and a server in this process may hold it).
    """
    read = subprocess.run(
        [sys.executable, "-c", _LAST_TXNID, str(data_dir)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return int(read.stdout)
