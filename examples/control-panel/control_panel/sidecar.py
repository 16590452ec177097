"""Starting twofa beside the panel, for `make demo` and the tests: the one place that knows
twofa's command line.

A data directory holds everything twofa needs: a development keyring (created on
first use), the LMDB store, a TOML configuration written here, and twofa's log.
twofa mails through SMTP to the local catcher, in plain text: acceptable only
because both ends are on the loopback interface, which `start_twofa` checks.
"""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from twofa_client import TwoFactorClient, TwoFactorError

READY_SECONDS = 20.0
STOP_SECONDS = 10.0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (bound, noted and released)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def twofa_command() -> list[str]:
    """The `twofa` script installed beside this interpreter, else the module."""
    script = Path(sys.executable).with_name("twofa")
    return [str(script)] if script.exists() else [sys.executable, "-m", "twofa_server.cli"]


@dataclass
class TwofaServer:
    process: subprocess.Popen[bytes]
    target: str
    """host:port for TwoFactorClient."""
    log_path: Path
    created_keyring: bool

    def stop(self) -> None:
        """SIGTERM (twofa drains in-flight calls), then kill if it does not exit."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _toml(table: dict[str, dict[str, str | int] | str | int]) -> str:
    """A two-level TOML document (JSON strings are valid TOML basic strings)."""
    top = [
        f"{key} = {json.dumps(value)}"
        for key, value in table.items()
        if not isinstance(value, dict)
    ]
    lines = [*top]
    for name, section in table.items():
        if isinstance(section, dict):
            lines += ["", f"[{name}]", *(f"{k} = {json.dumps(v)}" for k, v in section.items())]
    return "\n".join(lines) + "\n"


def write_config(data_dir: Path, *, listen: str, smtp_host: str, smtp_port: int) -> Path:
    """twofa's configuration for the demo: SMTP to the catcher, audit lines to a file."""
    if not ipaddress.ip_address(smtp_host).is_loopback:
        raise ValueError(f"smtp.security = none is only for a catcher on loopback, not {smtp_host}")
    config = data_dir / "twofa.toml"
    config.write_text(
        _toml(
            {
                "data_dir": str(data_dir),
                "listen": listen,
                "metrics_listen": "",  # a fixed port would clash with `make run`
                "audit": {"log": str(data_dir / "audit.log")},
                "mail": {
                    "backend": "smtp",
                    "from": "security@panel.example",
                    "sender_name": "Control Panel",
                    "brand": "Control Panel",
                    "retry_base_seconds": 1,
                },
                "smtp": {"host": smtp_host, "port": smtp_port, "security": "none"},
            }
        )
    )
    return config


def _twofa(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*twofa_command(), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def start_twofa(data_dir: Path, *, smtp_port: int, smtp_host: str = "127.0.0.1") -> TwofaServer:
    """Creates what is missing in `data_dir`, starts `twofa serve` and waits until it serves.

    Raises RuntimeError with twofa's own words when a step fails.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    # The config file is the whole truth: no TWOFA_* variable of this shell leaks in.
    env = {name: value for name, value in os.environ.items() if not name.startswith("TWOFA_")}
    keyring = data_dir / "keyring"
    created_keyring = not keyring.exists()
    if created_keyring:  # a DEVELOPMENT keyring; production keyrings are made and kept apart
        _check(_twofa("keys", "generate", str(keyring), env=env), "keys generate")
    listen = f"127.0.0.1:{free_port()}"
    config = write_config(data_dir, listen=listen, smtp_host=smtp_host, smtp_port=smtp_port)
    where = ["--config", str(config), "--data-dir", str(data_dir)]
    # Newer twofa creates its store with `twofa store init` and refuses to serve without one.
    if not (data_dir / "data.mdb").exists() and _twofa("store", "--help", env=env).returncode == 0:
        _check(_twofa("store", "init", *where, env=env), "store init")

    log_path = data_dir / "twofa.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [*twofa_command(), "serve", *where],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # Ctrl-C reaches the launcher, which stops twofa in order
        )
    server = TwofaServer(process, listen, log_path, created_keyring)
    try:
        _wait_until_serving(server)
    except BaseException:
        server.stop()
        raise
    return server


def _check(result: subprocess.CompletedProcess[str], step: str) -> None:
    if result.returncode != 0:
        raise RuntimeError(f"twofa {step} failed: {(result.stderr or result.stdout).strip()}")


def _wait_until_serving(server: TwofaServer) -> None:
    deadline = time.monotonic() + READY_SECONDS
    with TwoFactorClient(server.target, timeout=1.0) as client:
        while True:
            if server.process.poll() is not None:
                raise RuntimeError(
                    f"twofa exited before serving; see {server.log_path}:\n"
                    + server.log_path.read_text(errors="replace")[-2000:]
                )
            try:
                if client.health_check():
                    return
            except TwoFactorError:
                pass  # not listening yet
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"twofa is not serving after {READY_SECONDS:.0f} s; see {server.log_path}"
                )
            time.sleep(0.1)
