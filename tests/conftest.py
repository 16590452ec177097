"""Shared fixtures: a real server on a free port with a real LMDB store in a temp dir."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from twofa_client import TwoFactorClient
from twofa_server.app import Application, start
from twofa_server.config import Settings
from twofa_server.crypto import generate_keyring, write_keyring

from .mailroom import Mailroom, free_port, smtp_settings
from .smtp_sink import PortZeroController, Serve, Sink
from .support import FixedClock


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    data_dir = tmp_path / "data"
    write_keyring(data_dir / "keyring", generate_keyring())
    return Settings(
        data_dir=data_dir,
        listen="127.0.0.1:0",
        workers=8,
        reflection=True,
        metrics_listen="127.0.0.1:0",  # the default port would clash between servers
        audit_log=str(tmp_path / "audit.log"),
    )


@pytest.fixture
def app(settings: Settings, clock: FixedClock) -> Iterator[Application]:
    application = start(settings, clock=clock)
    yield application
    application.stop(0)


@pytest.fixture
def client(app: Application) -> Iterator[TwoFactorClient]:
    with TwoFactorClient(app.addresses[0], timeout=10) as connected:
        yield connected


def restart(
    app: Application, settings: Settings, clock: FixedClock, **changes: object
) -> Application:
    """Stops `app` and starts a new server on the same store."""
    app.stop(0)
    return start(replace(settings, **changes), clock=clock)  # type: ignore[arg-type]


# --- for tests that run `twofa` as a separate process (see processes.py) ---


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
def data_dir(tmp_path: Path) -> Path:
    """A data directory holding a fresh keyring (mode 0600) and no store yet."""
    data = tmp_path / "data"
    write_keyring(data / "keyring", generate_keyring())
    return data


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


# --- twofa with a real SMTP server (see mailroom.py) ---


@pytest.fixture
def mailroom(settings: Settings, clock: FixedClock, smtp_server: Serve) -> Iterator[Mailroom]:
    """twofa with a working SMTP server."""
    sink = Sink()
    room = Mailroom(smtp_settings(settings, smtp_server(sink)), clock, sink)
    yield room
    room.close()


@pytest.fixture
def offline(settings: Settings, clock: FixedClock) -> Iterator[Mailroom]:
    """twofa whose SMTP server is down (nothing listens) until the test calls start_smtp()."""
    room = Mailroom(smtp_settings(settings, free_port()), clock, Sink())
    yield room
    room.close()
