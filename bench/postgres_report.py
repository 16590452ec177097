"""The PostgreSQL part of `make bench`'s block: the goals, where the time goes, the database.

The goals (issue 11, item 11), at c=64 on this machine: VerifyCode on PostgreSQL
at least half the LMDB store's req/s, its p99 at most 25 ms, and two instances
on one database together not slower than one. Throughput is compared between
rows that ran back to back (the targets of one scenario run in turns, round by
round): the fastest round of each, and each round's pair beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from twofa_server.store.postgres.settings import PostgresSettings

from .stats import Row
from .tables import BASELINE, mib, ms
from .twofa_postgres import Database, Statement

TIMES = "\N{MULTIPLICATION SIGN}"
LMDB, POSTGRES, POSTGRES_TWO = "lmdb", "postgres", f"postgres {TIMES}2"
GOAL_CONCURRENCY = 64
GOAL_SHARE = 0.5  # PostgreSQL's VerifyCode req/s over LMDB's, at least
GOAL_P99_MS = 25.0  # PostgreSQL's VerifyCode p99, at most
GOAL_FLEET = 1.0  # two instances' req/s over one's, at least
GOAL_SCENARIOS = ("verify_wrong", "verify_correct")
RATIO_SCENARIOS = ("verify_wrong", "verify_correct", "evaluate_login")
STATEMENT_CHARS = 140
SETTINGS = ("fsync", "synchronous_commit", "full_page_writes", "wal_sync_method", "shared_buffers")


@dataclass(frozen=True, slots=True)
class PostgresRun:
    """The database behind the PostgreSQL rows: how it was loaded and what it ran."""

    version: str
    settings: dict[str, str]
    copy_seconds: float
    size_before: int
    size_after: int
    statements: list[Statement]  # the most expensive, over every row
    users: int


def finish(database: Database) -> PostgresRun:
    """Reads the database's settings, size and statements at the end of the run."""
    cluster = database.cluster
    rows = cluster.query(
        cluster.dsn(), "SELECT name, setting, unit FROM pg_settings WHERE name = ANY(%s)",
        (list(SETTINGS),),
    )  # fmt: skip
    settings = {name: _with_unit(setting, unit) for name, setting, unit in rows}
    return PostgresRun(
        version=cluster.version,
        settings=settings,
        copy_seconds=database.copy_seconds,
        size_before=database.size_bytes,
        size_after=database.current_size(),
        statements=database.top_statements(),
        users=database.population.count,
    )


def _with_unit(setting: str, unit: str | None) -> str:
    if unit == "8kB":
        return f"{int(setting) * 8 // 1024} MiB"
    return setting


@dataclass(frozen=True, slots=True)
class Versus:
    """One target's row over another's: the fastest rounds, and each round's pair."""

    best: float
    by_round: list[float]


def versus(row: Row, other: Row) -> Versus:
    """`row`'s req/s over `other`'s: fastest over fastest, and round by round (back to back)."""
    best = row.best.throughput / other.best.throughput if other.best.throughput else 0.0
    theirs = {m.round: m.throughput for m in other.each}
    by_round = [m.throughput / theirs[m.round] for m in row.each if theirs.get(m.round)]
    return Versus(best, by_round)


def _rows(rows: Sequence[Row]) -> dict[tuple[str, str, int], Row]:
    return {
        (r.best.target, r.best.scenario, r.best.concurrency): r for r in rows if not r.best.phase
    }


def _verdict(met: bool) -> str:
    return "met" if met else "**not met**"


def _ratio_cell(found: Versus | None, goal: float) -> str:
    if found is None:
        return "not measured"
    rounds = ", ".join(f"{x:.2f}" for x in found.by_round)
    return f"**{found.best:.2f}** {_verdict(found.best >= goal)} (rounds: {rounds})"


def _p99_cell(row: Row | None) -> str:
    if row is None:
        return "not measured"
    p99_ms = row.best.p99_ns / 1e6
    each = ", ".join(f"{m.p99_ns / 1e6:.1f}" for m in row.each)
    return f"**{p99_ms:.1f} ms** {_verdict(p99_ms <= GOAL_P99_MS)} (rounds: {each})"


def goals_table(rows: Sequence[Row]) -> list[str]:
    """The three goals at c=64 for each VerifyCode scenario, with the figures and verdicts."""
    by_key = _rows(rows)
    c = GOAL_CONCURRENCY

    def pair(a: str, b: str, scenario: str) -> Versus | None:
        ours, theirs = by_key.get((a, scenario, c)), by_key.get((b, scenario, c))
        return versus(ours, theirs) if ours and theirs else None

    head = " | ".join(GOAL_SCENARIOS)
    lines = [f"| goal at c={c} | {head} |", "|---" + "|---" * len(GOAL_SCENARIOS) + "|"]
    cells = {
        f"req/s, {POSTGRES} over {LMDB} (at least {GOAL_SHARE:g})": [
            _ratio_cell(pair(POSTGRES, LMDB, s), GOAL_SHARE) for s in GOAL_SCENARIOS
        ],
        f"p99 on {POSTGRES} (at most {GOAL_P99_MS:g} ms)": [
            _p99_cell(by_key.get((POSTGRES, s, c))) for s in GOAL_SCENARIOS
        ],
        f"p99 on {POSTGRES_TWO} (at most {GOAL_P99_MS:g} ms)": [
            _p99_cell(by_key.get((POSTGRES_TWO, s, c))) for s in GOAL_SCENARIOS
        ],
        f"req/s, {POSTGRES_TWO} over {POSTGRES} (at least {GOAL_FLEET:g}: not slower)": [
            _ratio_cell(pair(POSTGRES_TWO, POSTGRES, s), GOAL_FLEET) for s in GOAL_SCENARIOS
        ],
    }
    lines += [f"| {goal} | {' | '.join(found)} |" for goal, found in cells.items()]
    return lines


def little_line(rows: Sequence[Row]) -> str:
    """What the p99 goal asks of throughput: c requests always in flight (Little's law)."""
    c = GOAL_CONCURRENCY
    needed = c / (GOAL_P99_MS / 1000)
    verify = [
        r.best
        for r in _rows(rows).values()
        if r.best.scenario in GOAL_SCENARIOS and r.best.concurrency == c
    ]
    line = (
        f"- With {c} requests always in flight, the mean latency is {c} over the req/s "
        f"(Little's law), and the p99 is above the mean: a p99 of at most {GOAL_P99_MS:g} ms "
        f"needs at least {needed:,.0f} req/s."
    )
    if verify:
        fastest = max(verify, key=lambda m: m.throughput)
        line += (
            f" The fastest VerifyCode row at c={c} here, on any store, did "
            f"{fastest.throughput:,.0f} req/s ({fastest.target}, {fastest.scenario})."
        )
    return line


def ratio_lines(rows: Sequence[Row], scenario: str) -> str:
    """One line for a scenario at every c: PostgreSQL over LMDB, two instances over one."""
    by_key = _rows(rows)
    parts = []
    for c in sorted({k[2] for k in by_key if k[1] == scenario}):
        lmdb, one, two = (by_key.get((t, scenario, c)) for t in (LMDB, POSTGRES, POSTGRES_TWO))
        if one is None:
            continue
        share = f"{versus(one, lmdb).best:.2f} of {LMDB}" if lmdb else ""
        fleet = f"{TIMES}2 over one {versus(two, one).best:.2f}" if two else ""
        p99 = f"p99 {ms(one.best.p99_ns)} ms"
        p99 += f" ({TIMES}2 {ms(two.best.p99_ns)})" if two else ""
        parts.append(f"c={c}: " + ", ".join(x for x in (share, fleet, p99) if x))
    return f"- {scenario}, {POSTGRES} req/s: " + "; ".join(parts)


def database_table(rows: Sequence[Row]) -> list[str]:
    """Per PostgreSQL row: round trips, database time, WAL and CPU per request."""
    lines = [
        "| server | scenario | c | statements per req | database exec µs/req "
        "| write transactions per req | WAL bytes per req | CPU µs/req: twofa + database "
        "| cores busy: twofa + database |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for row in rows:
        m = row.best
        used = m.database
        if m.phase or used is None or not m.sent or m.scenario == BASELINE:
            continue
        lines.append(
            f"| {m.target} | {m.scenario} | {m.concurrency} "
            f"| {used.statements / m.sent:.1f} | {1000 * used.exec_ms / m.sent:.0f} "
            f"| {used.transactions / m.sent:.2f} | {used.wal_bytes / m.sent:,.0f} "
            f"| {m.server_cpu_us_per_request:.0f} + {m.database_cpu_us_per_request:.0f} "
            f"| {m.server_cores:.2f} + {m.database_cores:.2f} |"
        )
    return lines


def statements_table(run: PostgresRun) -> list[str]:
    """The statements that took the database the most time over every PostgreSQL row."""
    total = sum(s.total_ms for s in run.statements) or 1.0
    lines = [
        "| statement (pg_stat_statements, every PostgreSQL row) | calls | mean µs | share |",
        "|---|--:|--:|--:|",
    ]
    for s in run.statements:
        text = s.query if len(s.query) <= STATEMENT_CHARS else s.query[: STATEMENT_CHARS - 1] + "…"
        text = text.replace("|", "\\|")
        mean = 1000 * s.total_ms / s.calls if s.calls else 0.0
        lines.append(f"| `{text}` | {s.calls:,} | {mean:.0f} | {s.total_ms / total:.0%} |")
    return lines


def summary_lines(run: PostgresRun) -> list[str]:
    settings = ", ".join(f"{name} {value}" for name, value in run.settings.items())
    return [
        f"- PostgreSQL {run.version}, a throwaway cluster in the work dir ({settings}); "
        f"{run.users:,} users copied from the LMDB store by `twofa store copy` in "
        f"{run.copy_seconds:.1f} s; database {mib(run.size_before)} MiB after the copy, "
        f"{mib(run.size_after)} MiB after the run; `postgres.pool_size` "
        f"{PostgresSettings().pool_size} (the default) per instance",
    ]
