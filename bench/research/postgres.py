"""``python -m bench.research.postgres SCENARIO``: where a request's time goes on PostgreSQL.

Builds what `make bench` builds for its PostgreSQL rows (a durable throwaway
cluster, the bench's users copied in, one twofa on it, or two with
``--instances 2``), runs SCENARIO at one concurrency, and while it runs:

- samples `pg_stat_activity` every SAMPLE_SECONDS: what twofa's connections
  were doing (running a statement, waiting for the WAL flush or a lock, or idle
  waiting for twofa: inside a transaction or between two);
- reads `pg_stat_wal` before and after, once every backend has reported (they
  report at most once a second): WAL fsyncs per write transaction, and the time
  they took (`track_wal_io_timing` on);
- splits the database's CPU between its connection backends and its own
  processes (WAL writer, checkpointer, ...), from /proc.

The sampler's own queries cost the database some CPU; the row's req/s is a
little below `make bench`'s for that.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import psycopg

from .. import twofa_lmdb, twofa_postgres
from ..loadgen import LoadGenerator
from ..plan import Plan, measure
from ..postgres_cluster import Cluster, running_cluster
from ..postgres_report import POSTGRES_TWO
from ..procstat import cpu_times
from ..scenarios import SCENARIOS
from ..targets import Fleet, Measured, started, this_build
from ..users import Population

SAMPLE_SECONDS = 0.01
STATS_FLUSH_SECONDS = 1.5  # backends report their statistics at most once a second
_ACTIVITY = """
    SELECT state, coalesce(wait_event_type || ':' || wait_event, '')
    FROM pg_stat_activity WHERE datname = %s AND application_name = 'twofa'
"""
_WAL = "SELECT wal_bytes, wal_write, wal_sync, wal_sync_time FROM pg_stat_wal"


def _sample(cluster: Cluster, database: str, stop: threading.Event, seen: Counter[str]) -> None:
    with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
        while not stop.is_set():
            for state, wait in conn.execute(_ACTIVITY, (database,)):
                seen[f"{state} {wait}".strip()] += 1
            seen["(samples)"] += 1
            time.sleep(SAMPLE_SECONDS)


def _database_cpu(cluster: Cluster) -> dict[str, float]:
    """CPU seconds so far of the cluster's processes, by kind: backends and the rest."""
    found: dict[str, float] = {}
    root = cluster.postmaster_pid()
    for child in [root, *map(int, Path(f"/proc/{root}/task/{root}/children").read_text().split())]:
        try:
            title = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")[0].decode()
            seconds = sum(cpu_times(child))
        except OSError:
            continue
        kind = "connection backends" if "(" in title else title.removeprefix("postgres: ")
        found[kind] = found.get(kind, 0.0) + seconds
    return found


def report(
    scenario: str,
    concurrency: int,
    target: Measured,
    seen: Counter[str],
    wal: tuple[tuple[float, ...], tuple[float, ...]],
    cpu: tuple[dict[str, float], dict[str, float]],
    transactions: int,
    requests: int,
) -> list[str]:
    samples = seen.pop("(samples)", 0) or 1
    connections = sum(seen.values()) / samples
    lines = [
        f"`{scenario}` at c={concurrency} on `{target.label}`: {requests:,} requests, "
        f"{transactions:,} write transactions; on average {connections:.1f} twofa "
        f"connections open, doing (share of connection-samples, {samples:,} samples):",
        "",
        "| state, wait event | share |",
        "|---|--:|",
    ]
    total = sum(seen.values()) or 1
    lines += [
        f"| {what or '(none)'} | {count / total:.0%} |" for what, count in seen.most_common(10)
    ]
    (bytes0, writes0, syncs0, stime0), (bytes1, writes1, syncs1, stime1) = wal
    syncs = syncs1 - syncs0
    per_tx = syncs / transactions if transactions else 0.0
    lines += [
        "",
        f"- WAL: {syncs:,.0f} fsyncs ({per_tx:.2f} per write transaction, "
        f"{(stime1 - stime0) / syncs if syncs else 0:.2f} ms each on average), "
        f"{writes1 - writes0:,.0f} writes, {(bytes1 - bytes0) / max(requests, 1):,.0f} bytes "
        "per request",
    ]
    before, end = cpu
    spent = {kind: end.get(kind, 0.0) - before.get(kind, 0.0) for kind in end}
    parts = ", ".join(
        f"{kind} {1e6 * seconds / max(requests, 1):.0f}"
        for kind, seconds in sorted(spent.items(), key=lambda item: -item[1])
        if seconds > 0
    )
    lines.append(f"- database CPU µs per request, by process: {parts}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.research.postgres", description=__doc__)
    parser.add_argument("scenario", choices=tuple(SCENARIOS))
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--instances", type=int, choices=(1, 2), default=1)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--work-dir", type=Path)
    args = parser.parse_args(argv)
    plan = Plan((args.scenario,), (args.concurrency,), args.duration, 1.0, 1)
    population = Population("bench", args.users, os.urandom(16))
    build = this_build()
    with (
        tempfile.TemporaryDirectory(prefix="twofa-pg-research-", dir=args.work_dir) as name,
        LoadGenerator() as generator,
        ExitStack() as stack,
    ):
        tmp = Path(name)
        store = twofa_lmdb.load(tmp / "data", population)
        cluster = stack.enter_context(running_cluster(tmp / "postgres"))
        cluster.query(cluster.dsn(), "ALTER SYSTEM SET track_wal_io_timing = on")
        cluster.query(cluster.dsn(), "SELECT pg_reload_conf()")
        database = twofa_postgres.load(cluster, store, build)
        servers = [
            stack.enter_context(
                started(twofa_postgres.spec(f"postgres {i + 1}", database, build, book="pg"), tmp)
            )
            for i in range(args.instances)
        ]
        target: Measured = servers[0]
        if len(servers) > 1:
            target = Fleet(POSTGRES_TWO, tuple(servers))
        time.sleep(STATS_FLUSH_SECONDS)
        wal_before = tuple(float(x) for x in cluster.query(cluster.dsn(), _WAL)[0])
        cpu_before = _database_cpu(cluster)
        seen: Counter[str] = Counter()
        stop = threading.Event()
        sampler = threading.Thread(target=_sample, args=(cluster, database.name, stop, seen))
        sampler.start()
        try:
            rows = measure(generator, plan.jobs([target]), [target])
        finally:
            stop.set()
            sampler.join()
        cpu_after = _database_cpu(cluster)
        time.sleep(STATS_FLUSH_SECONDS)
        wal_after = tuple(float(x) for x in cluster.query(cluster.dsn(), _WAL)[0])
        row = rows[0].best
        lines = report(
            args.scenario,
            args.concurrency,
            target,
            seen,
            (wal_before, wal_after),
            (cpu_before, cpu_after),
            row.commits or 0,
            row.sent,
        )
    print(
        f"{row.throughput:,.0f} req/s, p50 {row.p50_ns / 1e6:.1f} ms, p99 {row.p99_ns / 1e6:.1f} "
        f"ms, twofa CPU {row.server_cpu_us_per_request:.0f} µs/req\n"
    )
    print("\n".join(lines))
    return 1 if row.error_count or row.mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
