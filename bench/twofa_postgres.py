"""twofa on PostgreSQL, as a target (see bench/targets.py): one instance, or two on one database.

The database is loaded the way an operator moves up: bench/loader.py writes an
LMDB store (the same population as the LMDB rows), then `twofa store copy`
copies it into an empty database of the bench's throwaway cluster
(bench/postgres_cluster.py). Servers are started as an operator starts them,
with `store = postgres` and the LMDB store's keyring, `postgres.pool_size` left
at its default.

What the database did during a row is read from PostgreSQL itself, by the
parent, before and after the row (`DatabaseUse`): write transactions (the next
transaction id: only a transaction that writes gets one, so read-only ones do
not count, as LMDB counts only write transactions), WAL bytes (the WAL
position), and the statements `pg_stat_statements` saw in the database, with
their execution time. All three are exact at once; `pg_stat_wal`'s fsync count
is not (backends report it at most once a second), so it is left out.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import twofa_lmdb
from .postgres_cluster import Cluster
from .process import HOST, free_port
from .progress import say
from .stats import DatabaseUse
from .targets import Build, ServerSpec
from .users import Population

DATABASE = "twofa_bench"
COPY = (sys.executable, "-m", "twofa_server.cli", "store", "copy")

# One reading of the whole cluster (the bench's own) and of the twofa database's
# statements. Run from the `postgres` database, so that it does not count itself.
_COUNTERS = """
    SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint,
           (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint,
           coalesce(sum(s.calls), 0)::bigint,
           coalesce(sum(s.total_exec_time), 0)::float8
    FROM pg_database d LEFT JOIN pg_stat_statements s ON s.dbid = d.oid
    WHERE d.datname = %s
"""
_TOP_STATEMENTS = """
    SELECT s.query, s.calls, s.total_exec_time, s.rows
    FROM pg_stat_statements s JOIN pg_database d ON s.dbid = d.oid
    WHERE d.datname = %s ORDER BY s.total_exec_time DESC LIMIT %s
"""


class CopyFailed(Exception):
    """`twofa store copy` could not load the database; the message says why."""


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement of the twofa database as pg_stat_statements totals it."""

    query: str
    calls: int
    total_ms: float
    rows: int


@dataclass(frozen=True, slots=True)
class Database:
    """A twofa database loaded from an LMDB store: where it is, whom it holds, its keyring."""

    cluster: Cluster
    name: str
    population: Population
    keyring: Path
    copy_seconds: float
    size_bytes: int

    @property
    def dsn(self) -> str:
        return self.cluster.dsn(self.name)

    def counters(self) -> DatabaseUse:
        """What the cluster and this database's statements did so far (a connection of
        its own, to the `postgres` database)."""
        row = self.cluster.query(self.cluster.dsn(), _COUNTERS, (self.name,))[0]
        return DatabaseUse(int(row[0]), int(row[1]), int(row[2]), float(row[3]))

    def server_pid(self) -> int:
        return self.cluster.postmaster_pid()

    def reset_statements(self) -> None:
        self.cluster.query(self.cluster.dsn(), "SELECT pg_stat_statements_reset()")

    def top_statements(self, limit: int = 8) -> list[Statement]:
        rows = self.cluster.query(self.cluster.dsn(), _TOP_STATEMENTS, (self.name, limit))
        return [
            Statement(" ".join(str(query).split()), int(calls), float(total), int(found))
            for query, calls, total, found in rows
        ]

    def current_size(self) -> int:
        return _size(self.cluster, self.name)


def _size(cluster: Cluster, name: str) -> int:
    rows = cluster.query(cluster.dsn(), "SELECT pg_database_size(%s)", (name,))
    return int(rows[0][0])


def load(cluster: Cluster, store: twofa_lmdb.Store, build: Build, name: str = DATABASE) -> Database:
    """A new database `name` holding `store`'s records, copied by `twofa store copy`.

    No server may have `store` open.
    """
    dsn = cluster.create_database(name)
    started = time.perf_counter()
    done = subprocess.run(
        [*COPY, "--from", str(store.data_dir), "--to", dsn],
        cwd=build.root,
        env=build.environment(),
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise CopyFailed(f"twofa store copy failed: {done.stderr.strip() or done.stdout.strip()}")
    # The copy leaves the tables freshly written: analyze them as autovacuum soon would,
    # so that every row runs on the same plans.
    cluster.query(dsn, "VACUUM ANALYZE")
    database = Database(
        cluster,
        name,
        store.population,
        store.data_dir / "keyring",
        seconds,
        _size(cluster, name),
    )
    say(
        f"{store.population.count:,} users copied into PostgreSQL in {seconds:.2f} s "
        f"(database {database.size_bytes / (1 << 20):.0f} MiB)"
    )
    return database


def command(database: Database, address: str, workers: int | None) -> tuple[str, ...]:
    """The twofa server on `database`, as an operator starts it (synchronous_commit on).

    Its Prometheus endpoint stays on, on a free port of its own, as in twofa_lmdb.
    """
    return (
        sys.executable,
        *("-m", "twofa_server.cli", "serve"),
        *("--store", "postgres", "--postgres-dsn", database.dsn),
        *("--keyring-file", str(database.keyring)),
        *("--listen", address, "--log-level", "warning"),
        *("--metrics-listen", f"{HOST}:{free_port()}"),
        *(("--workers", str(workers)) if workers else ()),
    )


def spec(
    label: str, database: Database, build: Build, workers: int | None = None, book: str = ""
) -> ServerSpec:
    """twofa of `build` serving `database` on a free port.

    Servers on one database share its users, so they share one UserBook: give
    each the same `book` (default: the label).
    """
    address = f"{HOST}:{free_port()}"
    return ServerSpec(
        label=label,
        command=command(database, address, workers),
        address=address,
        cwd=build.root,
        env=build.environment(),
        population=database.population,
        book=book,
        database=database,
    )
