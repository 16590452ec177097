"""A throwaway PostgreSQL cluster for the tests: initdb and pg_ctl from the Debian package.

PostgreSQL refuses to run as root, so when the tests run as root (as CI does) the
cluster runs as the `postgres` user, through `runuser -u postgres --`, in a
directory owned by that user. Each test gets a database of its own.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from .net import free_port

REQUIRE_ENV = "TWOFA_REQUIRE_POSTGRES"
SUPERUSER = "postgres"
PASSWORD_ROLE = "twofa_pw"  # a role that must log in with a password (scram-sha-256)
PASSWORD = "correct horse battery staple"


class PostgresMissing(Exception):
    """No PostgreSQL server binaries on this machine."""


def find_bin_dir() -> Path:
    """The newest /usr/lib/postgresql/<version>/bin holding initdb and pg_ctl."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    if not found:
        raise PostgresMissing(
            "PostgreSQL is not installed (apt-get install postgresql): the PostgreSQL store's "
            "tests are skipped"
        )
    return found[-1].parent


@dataclass
class PostgresCluster:
    """A running cluster on 127.0.0.1:`port`, its files under `root`."""

    root: Path
    bin_dir: Path
    port: int
    as_postgres: bool
    _next_database: int = 0

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def admin_dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname=postgres"

    def _command(self, *args: str) -> list[str]:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_postgres else []
        return [*prefix, *args]

    def _run(self, *args: str) -> None:
        subprocess.run(
            self._command(*args),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=self.root,
        )

    @classmethod
    def start_new(cls) -> PostgresCluster:
        bin_dir = find_bin_dir()
        as_postgres = os.geteuid() == 0
        root = Path(tempfile.mkdtemp(prefix="twofa-pg-"))
        if as_postgres:
            shutil.chown(root, "postgres")
        cluster = cls(root, bin_dir, free_port(), as_postgres)
        cluster._run(
            str(bin_dir / "initdb"),
            *("-D", str(cluster.data_dir), "-U", SUPERUSER, "-A", "trust", "--no-sync"),
        )
        # A password role first; everyone else may connect from loopback without one.
        (cluster.data_dir / "pg_hba.conf").write_text(
            f"host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n"
            "host all all 127.0.0.1/32 trust\n"
            "local all all trust\n"
        )
        cluster.start()
        with psycopg.connect(cluster.admin_dsn, autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD '{PASSWORD}' CREATEDB")
        return cluster

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
            # Tests need no crash safety of the machine; a killed server loses nothing
            # (the page cache survives the process).
            "-c fsync=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            str(self.bin_dir / "pg_ctl"),
            *("-D", str(self.data_dir), "-o", options, "-l", str(self.root / "log"), "-w"),
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", mode, "stop")

    def kill(self) -> None:
        """SIGKILLs the postmaster: the database is gone at once, mid-transaction."""
        pid = int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
            except OSError:
                break
            time.sleep(0.05)
        # Children go once they notice the postmaster is gone.
        time.sleep(0.5)

    def create_database(self, owner: str = SUPERUSER) -> str:
        """A new, empty database; returns its DSN (no password in it)."""
        self._next_database += 1
        name = f"twofa_test_{os.getpid()}_{self._next_database}"
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} OWNER {owner}")
        return f"host=127.0.0.1 port={self.port} dbname={name} user={owner}"

    def query(
        self, dsn: str, statement: str, params: tuple[object, ...] = ()
    ) -> list[tuple[object, ...]]:
        """The rows of `statement` (none for a statement that returns none) on `dsn`'s
        database, run as its owner."""
        with psycopg.connect(dsn, autocommit=True) as conn:
            cursor = conn.execute(statement, params)
            return list(cursor.fetchall()) if cursor.description else []

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
