"""A throwaway PostgreSQL cluster for the bench: initdb and pg_ctl, durable as in production.

The tests have their own (tests/support/pg_cluster.py), which the bench does not
import: theirs trades durability for speed (fsync off) and carries test-only
roles and a kill switch. This one keeps fsync, full_page_writes and
synchronous_commit on, as a production database runs, and puts its data
directory under the bench's work dir, so that the report's filesystem is the
database's too. PostgreSQL refuses to run as root, so when the bench runs as
root the cluster runs as the `postgres` user (`runuser -u postgres --`) in a
directory that user owns. `pg_stat_statements` is loaded: the bench reads it
around each row (statements and their time per request).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from .process import HOST, free_port
from .progress import say

SUPERUSER = "postgres"
LIB_DIR = Path("/usr/lib/postgresql")
START_TIMEOUT_SECONDS = 60
# Durability stays as shipped (fsync, full_page_writes and synchronous_commit on);
# shared_buffers and the rest keep their defaults.
SERVER_OPTIONS = (
    "-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all "
    "-c max_connections=100"
)


class PostgresMissing(Exception):
    """No PostgreSQL server binaries here, or the cluster would not start; says why."""


def find_bin_dir() -> Path:
    """The newest /usr/lib/postgresql/<version>/bin holding initdb and pg_ctl."""
    found = sorted(
        (path.parent for path in LIB_DIR.glob("*/bin/initdb")),
        key=lambda bin_dir: int(bin_dir.parent.name) if bin_dir.parent.name.isdigit() else 0,
    )
    if not found:
        raise PostgresMissing(
            f"no PostgreSQL server under {LIB_DIR} (apt-get install postgresql), "
            "or run without it: --stores lmdb"
        )
    return found[-1]


@dataclass(frozen=True, slots=True)
class Cluster:
    """A running cluster on 127.0.0.1:`port`, its files under `root`."""

    root: Path
    bin_dir: Path
    port: int
    as_postgres: bool

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def version(self) -> str:
        return self.bin_dir.parent.name

    def dsn(self, dbname: str = "postgres") -> str:
        """A DSN of the superuser on `dbname`, over TCP on the loopback (no password)."""
        return f"host={HOST} port={self.port} user={SUPERUSER} dbname={dbname}"

    def postmaster_pid(self) -> int:
        return int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])

    def create_database(self, name: str) -> str:
        """A new, empty database; returns its DSN."""
        self.query(self.dsn(), f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def query(self, dsn: str, statement: str, params: Any = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(dsn, autocommit=True) as conn:
            cursor = conn.execute(statement, params)
            return list(cursor.fetchall()) if cursor.description else []

    def run(self, *args: str) -> None:
        """Runs a PostgreSQL program as the cluster's owner; a failure says why."""
        prefix = ("runuser", "-u", SUPERUSER, "--") if self.as_postgres else ()
        done = subprocess.run(
            [*prefix, *args], cwd=self.root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        if done.returncode != 0:
            message = done.stderr.decode(errors="replace").strip()
            log = self.root / "log"
            if log.exists():
                message += "\n" + "\n".join(log.read_text(errors="replace").splitlines()[-10:])
            raise PostgresMissing(f"{Path(args[0]).name} {args[-1]} failed: {message}")


def _reachable_by_postgres(root: Path) -> None:
    """Lets the postgres user into the bench's own temporary directory (root's 0700)."""
    shutil.chown(root, SUPERUSER)
    parent = root.parent
    mode = parent.stat().st_mode
    if parent.stat().st_uid == os.geteuid() and not mode & stat.S_IXOTH:
        parent.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)


@contextmanager
def running_cluster(root: Path) -> Iterator[Cluster]:
    """A new cluster in `root` (which must not exist), started; stopped on exit.

    Raises:
        PostgresMissing: no server binaries, or initdb or pg_ctl failed (with why).
    """
    bin_dir = find_bin_dir()
    as_postgres = os.geteuid() == 0
    root.mkdir(parents=True)
    if as_postgres:
        _reachable_by_postgres(root)
    cluster = Cluster(root, bin_dir, free_port(), as_postgres)
    # --no-sync: initdb's own closing fsync only; the running cluster syncs every commit.
    cluster.run(
        str(bin_dir / "initdb"),
        *("-D", str(cluster.data_dir), "-U", SUPERUSER, "-A", "trust", "--no-sync"),
    )
    options = f"-p {cluster.port} -c listen_addresses={HOST} -k {root} {SERVER_OPTIONS}"
    pg_ctl = str(bin_dir / "pg_ctl")
    cluster.run(
        pg_ctl,
        *("-D", str(cluster.data_dir), "-o", options, "-l", str(root / "log")),
        *("-w", "-t", str(START_TIMEOUT_SECONDS), "start"),
    )
    # Its view, in the database the bench reads counters from (they cover every database).
    cluster.query(cluster.dsn(), "CREATE EXTENSION pg_stat_statements")
    say(f"PostgreSQL {cluster.version} serving on {HOST}:{cluster.port} (data in {root})")
    try:
        yield cluster
    finally:
        cluster.run(pg_ctl, "-D", str(cluster.data_dir), "-m", "fast", "-w", "stop")
