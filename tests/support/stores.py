"""The stores the behaviour suite runs against, and servers started on them.

The `store_kind` fixture (tests/conftest.py) is parametrised over STORE_KINDS, and
`settings`, `app` and `client` are built on it, so a test that asks for any of them
runs once per store: on LMDB in a temporary directory, and on a database of its own
in a throwaway PostgreSQL cluster (tests/support/pg_cluster.py; skipped with the
reason when PostgreSQL is not installed, a failure when TWOFA_REQUIRE_POSTGRES=1).
Adding a store means adding its kind here and a branch in
`server_settings` that fills Settings for it. A test that is inherently about LMDB
(its files, its map size, its raw records) carries the `lmdb_only` mark, or asks for
the `lmdb_store` fixture, which is LMDB whatever the parameter.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from twofa_server.app import Application, start
from twofa_server.config import Settings
from twofa_server.core.ports import Clock
from twofa_server.crypto import Sealer, generate_keyring, write_keyring
from twofa_server.store.lmdb.store import LmdbStore
from twofa_server.store.opening import open_store
from twofa_server.store.postgres.settings import PostgresSettings

from .clock import FixedClock
from .pg_cluster import PostgresCluster

STORE_KINDS = ("lmdb", "postgres")


def new_data_dir(path: Path, *, with_store: bool = True) -> Path:
    """Makes `path` a data directory holding a fresh keyring (mode 0600) and, unless told
    otherwise, an empty LMDB store made for it (as `twofa store init` makes one)."""
    write_keyring(path / "keyring", generate_keyring())
    if with_store:
        init_store(Settings(data_dir=path))
    return path


def another_instance(settings: Settings, directory: Path) -> Settings:
    """Settings for a second server in this process: with LMDB a store of its own in
    `directory` (LMDB has one server per store), with PostgreSQL the same database
    and keyring (several instances of a fleet share them)."""
    if settings.store == "postgres":
        return settings
    return replace(settings, data_dir=new_data_dir(directory), keyring_file=None)


def init_store(settings: Settings) -> None:
    """What `twofa store init` does: a new store for `settings`' keyring."""
    store, _, _, _ = open_store(settings, FixedClock(), create=True)
    store.close()


def server_settings(
    store_kind: str, tmp_path: Path, cluster: PostgresCluster | None = None
) -> Settings:
    """Settings for a test server on a store of `store_kind`, with its files under `tmp_path`
    (and, for PostgreSQL, a new database of `cluster`), the store already made.

    Loopback on a free port, metrics on a free port (the default one would clash
    between servers), the audit log in a file.
    """
    base = Settings(
        data_dir=new_data_dir(tmp_path / "data", with_store=store_kind == "lmdb"),
        listen="127.0.0.1:0",
        workers=8,
        reflection=True,
        metrics_listen="127.0.0.1:0",
        audit_log=str(tmp_path / "audit.log"),
    )
    if store_kind == "lmdb":
        return base
    if store_kind == "postgres":
        assert cluster is not None, "a PostgreSQL server needs the postgres_cluster fixture"
        settings = replace(
            base,
            store="postgres",
            postgres=PostgresSettings(dsn=cluster.create_database(), pool_size=4),
        )
        init_store(settings)
        return settings
    raise ValueError(f"no test settings for the store kind {store_kind!r}")


def restart(
    app: Application, settings: Settings, clock: FixedClock, **changes: object
) -> Application:
    """Stops `app` and starts a new server on the same store."""
    app.stop(0)
    return start(replace(settings, **changes), clock=clock)  # type: ignore[arg-type]


@contextmanager
def running(settings: Settings, clock: FixedClock) -> Iterator[Application]:
    """A server started on `settings`, stopped when the block ends."""
    app = start(settings, clock=clock)
    try:
        yield app
    finally:
        app.stop(0)


def open_lmdb_store(
    directory: Path, map_size_mb: int = 16, sealer: Sealer | None = None, clock: Clock | None = None
) -> LmdbStore:
    """An LMDB store in `directory`, sealing under a fresh keyring unless `sealer` is given."""
    return LmdbStore(
        directory, map_size_mb, sealer or Sealer(generate_keyring()), clock or FixedClock()
    )
