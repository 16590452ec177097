"""`twofa serve`'s QR renderer processes end with it: after a drain, and when it is SIGKILLed,
even a renderer in the middle of a render (stopped here) leaves no orphan behind."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from ..support.processes import T, serving, stop
from ..support.waiting import wait_until

pytestmark = pytest.mark.slow


def children(pid: int) -> set[int]:
    """The processes whose parent is `pid`."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # gone meanwhile
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_sigkill_leaves_no_renderer_behind(
    tmp_path: Path, data_dir: Path, socket_path: Path
) -> None:
    with serving(tmp_path, data_dir, socket_path, "--workers", "2") as (server, client):
        client.begin_authenticator_setup(T, "alice")
        renderers = children(server.process.pid)
        assert renderers, "the server started no renderer"
        busy = min(renderers)
        os.kill(busy, signal.SIGSTOP)  # as if in the middle of a long render: it reads nothing
        server.process.kill()
        server.process.wait(10)
    try:
        wait_until(lambda: not any(alive(pid) for pid in renderers), "the renderers to exit")
    finally:
        for pid in renderers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_drain_ends_the_renderers_and_logs_no_secret(
    tmp_path: Path, data_dir: Path, socket_path: Path
) -> None:
    with serving(tmp_path, data_dir, socket_path, "--log-level", "debug") as (server, client):
        setup = client.begin_authenticator_setup(T, "alice")
        renderers = children(server.process.pid)
        assert renderers
        stop(server)  # SIGTERM: exits 0 within the grace period
    assert not any(alive(pid) for pid in renderers)
    assert setup.secret not in server.stderr
    assert "otpauth" not in server.stderr
