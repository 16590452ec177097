"""Fixtures shared by several layers: the clock, a server on each store kind, raw LMDB stores.

Per-layer fixtures live in each folder's conftest.py; helpers live in tests/support/.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from twofa_client import TwoFactorClient
from twofa_server.app import Application, start
from twofa_server.config import Settings
from twofa_server.store.lmdb.store import LmdbStore

from .support.clock import FixedClock
from .support.pg_cluster import REQUIRE_ENV, PostgresCluster, PostgresMissing
from .support.sealed_store import Prepared, prepared_store
from .support.smtp_sink import PortZeroController, Serve, Sink
from .support.stores import STORE_KINDS, open_lmdb_store, server_settings


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Runs a test marked `lmdb_only` on the LMDB store alone."""
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        kind = callspec.params.get("store_kind", "lmdb") if callspec is not None else "lmdb"
        (dropped if kind != "lmdb" and item.get_closest_marker("lmdb_only") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


# --- a server in this process, on each kind of store -----------------------------------


@pytest.fixture(params=STORE_KINDS)
def store_kind(request: pytest.FixtureRequest) -> str:
    """The kind of store the server under test runs on (see support/stores.py)."""
    kind: str = request.param
    return kind


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster for this test process (each test makes a database of its own)."""
    try:
        cluster = PostgresCluster.start_new()
    except PostgresMissing as missing:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{missing} ({REQUIRE_ENV}=1: PostgreSQL must be there)")
        pytest.skip(str(missing))
    yield cluster
    cluster.destroy()


@pytest.fixture
def settings(store_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    cluster = request.getfixturevalue("postgres_cluster") if store_kind == "postgres" else None
    return server_settings(store_kind, tmp_path, cluster)


@pytest.fixture
def app(settings: Settings, clock: FixedClock) -> Iterator[Application]:
    application = start(settings, clock=clock)
    yield application
    application.stop(0)


@pytest.fixture
def client(app: Application) -> Iterator[TwoFactorClient]:
    with TwoFactorClient(app.addresses[0], timeout=10) as connected:
        yield connected


# --- raw LMDB stores -------------------------------------------------------------------


@pytest.fixture
def lmdb_store(tmp_path: Path) -> Iterator[LmdbStore]:
    """An empty LMDB store (16 MiB map, a fresh keyring) opened in this process."""
    opened = open_lmdb_store(tmp_path / "data")
    yield opened
    opened.close()


@pytest.fixture
def prepared(tmp_path: Path) -> Iterator[Prepared]:
    """An LMDB store with users, a policy and queued mail, all sealed under key 1."""
    with prepared_store(tmp_path / "data") as store:
        yield store


# --- sockets and SMTP servers ----------------------------------------------------------


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A directory with a short path: Unix socket paths must fit in 107 bytes."""
    path = Path(tempfile.mkdtemp(prefix="twofa-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def socket_path(short_dir: Path) -> Path:
    return short_dir / "api.sock"


@pytest.fixture
def smtp_server() -> Iterator[Serve]:
    """Starts aiosmtpd servers on free ports (returning the port); stops them afterwards."""
    controllers: list[Controller] = []

    def start(handler: Sink, **smtp_options: Any) -> int:
        controller = PortZeroController(
            handler, hostname="127.0.0.1", port=0, server_hostname="localhost", **smtp_options
        )
        controller.start()
        controllers.append(controller)
        port: int = controller.port
        return port

    yield start
    for controller in controllers:
        controller.stop()
