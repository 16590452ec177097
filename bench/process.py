"""Starting, probing and stopping a server under test, each in its own process.

Nothing here knows what the server is: bench/targets.py says how to start one.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from .procstat import cpu_times

HOST = "127.0.0.1"  # the bench only ever talks to loopback
READY_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 15.0
# A server counts as settled when it used less than this share of a core over
# each of IDLE_CHECKS consecutive IDLE_PERIOD_SECONDS.
IDLE_CORE_SHARE = 0.1
IDLE_PERIOD_SECONDS = 0.5
IDLE_CHECKS = 2
SETTLE_TIMEOUT_SECONDS = 180.0


class ServerFailed(Exception):
    """The server under test did not start or did not stay up; the message holds its log."""


def free_port() -> int:
    """A TCP port on the loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_server(
    label: str,
    command: Sequence[str],
    address: str,
    log: Path,
    cwd: Path,
    env: Mapping[str, str] | None = None,
) -> Iterator[int]:
    """Starts `command`, waits until its health check answers SERVING; yields its pid.

    Stops it on exit. A server that exits early, or during the run, raises
    ServerFailed with the end of its log.
    """
    with log.open("wb") as log_file:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log_file, stderr=log_file)
        try:
            _wait_serving(label, address, process, log)
            yield process.pid
            if process.poll() is not None:
                raise ServerFailed(f"{label} exited during the run:\n{tail(log)}")
        finally:
            _stop(process)


def wait_idle(pid: int) -> float:
    """Waits until process `pid` is idle; returns the seconds waited.

    twofa answers health checks while background work of its start is still
    going on (e.g. the keyring watcher's census, which reads every record: some
    seconds for a million users). Rows measured during it would be disturbed.
    Bounded: after SETTLE_TIMEOUT_SECONDS it goes on regardless.
    """
    started = time.monotonic()
    quiet = 0
    before = sum(cpu_times(pid))
    while quiet < IDLE_CHECKS and time.monotonic() - started < SETTLE_TIMEOUT_SECONDS:
        time.sleep(IDLE_PERIOD_SECONDS)
        now = sum(cpu_times(pid))
        quiet = quiet + 1 if now - before < IDLE_CORE_SHARE * IDLE_PERIOD_SECONDS else 0
        before = now
    return time.monotonic() - started


def _wait_serving(label: str, address: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    request = health_pb2.HealthCheckRequest()
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise ServerFailed(
                    f"{label} exited with status {process.returncode} before serving:\n{tail(log)}"
                )
            try:
                response = stub.Check(request, timeout=1.0)
                if response.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.1)
    raise ServerFailed(
        f"{label}: no SERVING health answer within {READY_TIMEOUT_SECONDS:g} s:\n{tail(log)}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def tail(log: Path, lines: int = 20) -> str:
    """The last `lines` lines of a server's log."""
    try:
        text = log.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:]) or "(empty log)"
