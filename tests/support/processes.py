"""Real `twofa` processes for tests: start, wait until serving, signal, read stderr.

Servers listen on a Unix socket in a private directory, so tests running in parallel
never compete for a port. Readiness is polled through the standard health check.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from twofa_client import TwoFactorClient, TwoFactorError

from .totp import totp_code

T = "acme"
SERVICE = "twofa.v1.TwoFactorService"
READY_TIMEOUT = 10.0
POLL = 0.05
GRACE = 5.0
# A client that retries a refused connection every 50 ms instead of backing off for seconds.
FAST_RECONNECT = (
    ("grpc.initial_reconnect_backoff_ms", 50),
    ("grpc.min_reconnect_backoff_ms", 50),
    ("grpc.max_reconnect_backoff_ms", 100),
)


def twofa_command() -> list[str]:
    """The installed console script next to this interpreter, else the module."""
    script = Path(sys.executable).with_name("twofa")
    return [str(script)] if script.exists() else [sys.executable, "-m", "twofa_server.cli"]


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any TWOFA_* variable but metrics off, plus `extra`."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("TWOFA_")}
    env["TWOFA_METRICS_LISTEN"] = ""  # the default port would clash between servers
    env.update(extra)
    return env


def run_twofa(
    *args: str, cwd: Path, env: dict[str, str] | None = None, umask: int = -1
) -> subprocess.CompletedProcess[str]:
    """`twofa ARGS...` to its end; `umask` (e.g. 0) replaces the child's, -1 keeps ours."""
    return subprocess.run(
        [*twofa_command(), *args],
        cwd=cwd,
        env=clean_env() if env is None else env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        umask=umask,
    )


def assert_refused(
    result: subprocess.CompletedProcess[str], *fragments: str, status: int = 2
) -> str:
    """Exit code `status` and exactly one 'twofa: ' line on stderr naming `fragments`;
    returns it."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("twofa: "), line
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} is not in {line!r}"
    assert result.returncode == status, (result.returncode, line)
    return line


class Server:
    """A `twofa serve` subprocess whose stderr is collected line by line as it arrives."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str], umask: int = -1) -> None:
        self.process = subprocess.Popen(
            [*twofa_command(), "serve", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            umask=umask,
        )
        self._lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._changed:
                self._lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def stderr(self) -> str:
        with self._changed:
            return "\n".join(self._lines)

    def wait_for_line(self, fragment: str, timeout: float = READY_TIMEOUT) -> str:
        """The first stderr line containing `fragment`, waiting for it up to `timeout`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self._lines:
                    if fragment in line:
                        return line
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._reader.is_alive():
                    raise AssertionError(f"no stderr line with {fragment!r}:\n" + self.stderr)
                self._changed.wait(remaining)

    def metrics_address(self) -> str:
        """The host:port of its GET /metrics, from the line it logs once serving them."""
        line = self.wait_for_line("metrics on http://")
        return line.split("http://", 1)[1].split("/", 1)[0]

    def sigterm(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        code = self.process.wait(timeout)
        self._reader.join(timeout)
        return code

    def __enter__(self) -> Server:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(READY_TIMEOUT)
        self._reader.join(READY_TIMEOUT)


def wait_until_serving(client: TwoFactorClient, server: Server) -> None:
    """Polls the health check every 50 ms until it answers SERVING, for at most 10 s."""
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        code = server.process.poll()
        if code is not None:
            server.wait(READY_TIMEOUT)
            raise AssertionError(f"twofa exited with {code} before serving:\n{server.stderr}")
        try:
            if client.health_check(timeout=1.0):
                return
        except TwoFactorError:
            pass  # not listening yet
        if time.monotonic() > deadline:
            raise AssertionError(f"twofa not serving after {READY_TIMEOUT}s:\n{server.stderr}")
        time.sleep(POLL)


def wait_until_refusing(client: TwoFactorClient) -> None:
    """Polls every 50 ms until new calls fail (the server stopped accepting), for at most 10 s."""
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        try:
            client.health_check(timeout=1.0)
        except TwoFactorError:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"still accepting calls after {READY_TIMEOUT}s")
        time.sleep(POLL)


def connect(socket_path: Path, timeout: float = 10) -> TwoFactorClient:
    return TwoFactorClient(f"unix://{socket_path}", timeout=timeout, options=FAST_RECONNECT)


def next_code(secret: str) -> str:
    """A code the server accepts now and has not seen: the next step (inside the ±1 window)."""
    return totp_code(secret, time.time(), offset_steps=1)


def serve(
    tmp_path: Path,
    data_dir: Path,
    socket_path: Path,
    *extra: str,
    env: dict[str, str] | None = None,
    umask: int = -1,
) -> Server:
    args = ["--data-dir", str(data_dir), "--listen", "", "--unix-socket", str(socket_path), *extra]
    return Server(args, cwd=tmp_path, env=clean_env() if env is None else env, umask=umask)


@contextmanager
def serving(
    tmp_path: Path,
    data_dir: Path,
    socket_path: Path,
    *extra: str,
    env: dict[str, str] | None = None,
    umask: int = -1,
) -> Iterator[tuple[Server, TwoFactorClient]]:
    """`twofa serve` (see serve), and a client on its socket once it answers SERVING."""
    with (
        serve(tmp_path, data_dir, socket_path, *extra, env=env, umask=umask) as server,
        connect(socket_path) as client,
    ):
        wait_until_serving(client, server)
        yield server, client


def stop(server: Server) -> None:
    """SIGTERM, then the process must exit 0 within the grace period."""
    server.sigterm()
    assert server.wait(GRACE) == 0, server.stderr
