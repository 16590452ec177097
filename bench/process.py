"""Starting, probing and stopping the server under test, each in its own process."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
import lmdb
from grpc_health.v1 import health_pb2, health_pb2_grpc

from twofa_server.store.keys import ALL_DATABASES

from .procstat import Memory, cpu_times, memory

REPO_ROOT = Path(__file__).resolve().parent.parent
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


@dataclass(frozen=True, slots=True)
class RunningServer:
    """A started server: where it listens and which process it is."""

    label: str
    address: str
    pid: int

    def memory(self) -> Memory:
        return memory(self.pid)


def committed_transactions(data_dir: Path) -> int:
    """The id of the last transaction committed to the LMDB store in `data_dir`.

    Read through a read-only handle of its own, beside the server's: the
    difference between two readings is how many commits the server made.
    """
    env = lmdb.open(str(data_dir), readonly=True, lock=True, max_dbs=len(ALL_DATABASES))
    try:
        last: int = env.info()["last_txnid"]
        return last
    finally:
        env.close()


def free_port() -> int:
    """A TCP port on the loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def twofa_command(
    data_dir: Path, address: str, workers: int | None = None, map_size_mb: int | None = None
) -> list[str]:
    """The real twofa server, as an operator starts it (thread pool, fsync on every write).

    Its Prometheus endpoint stays on, as in production, on a free port of its
    own, so that servers running at once (and other twofa on the host) do not clash.

    Args:
        workers: its thread pool size; None keeps the server's default.
        map_size_mb: its LMDB map size; None keeps the server's default (1024).
    """
    return [
        sys.executable,
        *("-m", "twofa_server.cli", "serve"),
        *("--data-dir", str(data_dir), "--listen", address, "--log-level", "warning"),
        *("--metrics-listen", f"{HOST}:{free_port()}"),
        *(("--workers", str(workers)) if workers else ()),
        *(("--map-size-mb", str(map_size_mb)) if map_size_mb else ()),
    ]


def style_command(style_args: Sequence[str], address: str) -> list[str]:
    """One of bench/servers.py's bare health-only servers."""
    return [sys.executable, "-m", "bench.servers", *style_args, "--listen", address]


@contextmanager
def running_server(
    label: str, command: Sequence[str], address: str, log: Path
) -> Iterator[RunningServer]:
    """Starts `command`, waits until its health check answers SERVING, stops it on exit."""
    with log.open("wb") as log_file:
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=log_file, stderr=log_file)
        try:
            _wait_serving(address, process, log)
            yield RunningServer(label, address, process.pid)
            if process.poll() is not None:
                raise ServerFailed(f"{label} exited during the run: {_tail(log)}")
        finally:
            _stop(process)


def wait_idle(server: RunningServer) -> float:
    """Waits until `server` is idle; returns the seconds waited.

    twofa answers health checks while background work of its start is still
    going on (e.g. the keyring watcher's census, which reads every record: some
    seconds for a million users). Rows measured during it would be disturbed.
    Bounded: after SETTLE_TIMEOUT_SECONDS it goes on regardless.
    """
    started = time.monotonic()
    quiet = 0
    before = sum(cpu_times(server.pid))
    while quiet < IDLE_CHECKS and time.monotonic() - started < SETTLE_TIMEOUT_SECONDS:
        time.sleep(IDLE_PERIOD_SECONDS)
        now = sum(cpu_times(server.pid))
        quiet = quiet + 1 if now - before < IDLE_CORE_SHARE * IDLE_PERIOD_SECONDS else 0
        before = now
    return time.monotonic() - started


def _wait_serving(address: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    request = health_pb2.HealthCheckRequest()
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise ServerFailed(f"server exited with status {process.returncode}: {_tail(log)}")
            try:
                response = stub.Check(request, timeout=1.0)
                if response.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.1)
    raise ServerFailed(f"no SERVING health answer within {READY_TIMEOUT_SECONDS}s: {_tail(log)}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _tail(log: Path, lines: int = 20) -> str:
    try:
        text = log.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:]) or "(empty log)"
