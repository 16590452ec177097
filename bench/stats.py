"""One measured scenario run and the arithmetic on it."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from .procstat import Memory


def percentile(sorted_values: Sequence[int], fraction: float) -> int:
    """The nearest-rank percentile of already sorted values (0 when there are none)."""
    if not sorted_values:
        return 0
    rank = min(max(1, math.ceil(fraction * len(sorted_values))), len(sorted_values))
    return sorted_values[rank - 1]


@dataclass(frozen=True, slots=True)
class DatabaseUse:
    """What a database server did, read from the database itself (bench/twofa_postgres.py).

    Attributes:
        transactions: transactions that wrote (each a durable commit, or a rollback).
        wal_bytes: write-ahead log written.
        statements: statements run in the store's database (each a round trip).
        exec_ms: the database's execution time of those statements, in milliseconds.
    """

    transactions: int = 0
    wal_bytes: int = 0
    statements: int = 0
    exec_ms: float = 0.0

    def __sub__(self, before: DatabaseUse) -> DatabaseUse:
        return DatabaseUse(
            self.transactions - before.transactions,
            self.wal_bytes - before.wal_bytes,
            self.statements - before.statements,
            self.exec_ms - before.exec_ms,
        )

    def __add__(self, other: DatabaseUse) -> DatabaseUse:
        return DatabaseUse(
            self.transactions + other.transactions,
            self.wal_bytes + other.wal_bytes,
            self.statements + other.statements,
            self.exec_ms + other.exec_ms,
        )


@dataclass(frozen=True, slots=True)
class Measurement:
    """What one scenario at one concurrency against one server did in its time window.

    `answered` and the latencies are of requests started inside the window;
    `sent`, errors and mismatches are of every request, the warm-up's included,
    so none goes unseen.
    """

    target: str  # the label of the server under test
    scenario: str
    concurrency: int
    seconds: float
    answered: int
    sent: int
    p50_ns: int
    p99_ns: int
    mismatches: int
    errors: dict[str, int] = field(default_factory=dict)
    starved: bool = False
    server_cpu_seconds: float = 0.0  # user + system, of every server of the target
    server_sys_seconds: float = 0.0  # the system (kernel) part
    client_cpu_seconds: float = 0.0
    database_cpu_seconds: float = 0.0  # the database server's processes (0: none)
    machine_cpu_seconds: float = 0.0  # every process on every core, these two included
    supply_before: int | None = None
    # The part of the run this was measured in ("" for the scenario table), and the
    # loads run beside it on the same server at the same time ("" when alone).
    phase: str = ""
    beside: str = ""
    round: int = 0
    # Durable commits the store made during the row, warm-up included (read by the
    # parent from the store: LMDB write transactions, PostgreSQL transactions that
    # wrote); None where not counted.
    commits: int | None = None
    # What the database did during the row, warm-up included (None: no database).
    database: DatabaseUse | None = None
    # The server's memory just after the row (read by the parent, not the load generator).
    server_memory: Memory = field(default_factory=Memory)

    @property
    def throughput(self) -> float:
        """Answered requests per second of the window."""
        return self.answered / self.seconds if self.seconds > 0 else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def server_cpu_us_per_request(self) -> float:
        return 1e6 * self.server_cpu_seconds / self.answered if self.answered else 0.0

    @property
    def server_cores(self) -> float:
        """How many cores the server kept busy on average during the window."""
        return self.server_cpu_seconds / self.seconds if self.seconds > 0 else 0.0

    @property
    def client_cores(self) -> float:
        """How many cores the load generator kept busy on average during the window."""
        return self.client_cpu_seconds / self.seconds if self.seconds > 0 else 0.0

    @property
    def other_cores(self) -> float:
        """Cores kept busy by everything else on the machine: the noise in this row."""
        ours = self.server_cpu_seconds + self.client_cpu_seconds + self.database_cpu_seconds
        others = self.machine_cpu_seconds - ours
        return max(0.0, others / self.seconds) if self.seconds > 0 else 0.0

    @property
    def database_cores(self) -> float:
        return self.database_cpu_seconds / self.seconds if self.seconds > 0 else 0.0

    @property
    def database_cpu_us_per_request(self) -> float:
        return 1e6 * self.database_cpu_seconds / self.answered if self.answered else 0.0

    @property
    def server_sys_us_per_request(self) -> float:
        return 1e6 * self.server_sys_seconds / self.answered if self.answered else 0.0

    @property
    def client_cpu_us_per_request(self) -> float:
        return 1e6 * self.client_cpu_seconds / self.answered if self.answered else 0.0


@dataclass(frozen=True, slots=True)
class Row:
    """A scenario at one concurrency on one server over every round.

    `best` is the round with the highest throughput: on a shared machine other
    work can only slow a round down, so the fastest round is the least
    disturbed one (as `timeit` takes the minimum). The errors, mismatches and
    sends of all rounds are added into it, so repeating a row never hides a
    wrong answer; its server memory is that of the round that left the most
    private memory. `each` holds every round as measured, in the order they ran.
    """

    best: Measurement
    each: tuple[Measurement, ...]

    @property
    def rounds(self) -> int:
        return len(self.each)

    @property
    def throughputs(self) -> tuple[float, ...]:
        return tuple(m.throughput for m in self.each)

    @property
    def low(self) -> float:
        return min(self.throughputs)

    @property
    def high(self) -> float:
        return max(self.throughputs)

    @property
    def spread(self) -> float:
        """How far the slowest round fell below the fastest, as a fraction of the fastest."""
        return 1 - self.low / self.high if self.high else 0.0


def combine(rounds: Sequence[Measurement]) -> Row:
    """One Row from the rounds of the same server, scenario, concurrency and mix."""
    fastest = max(rounds, key=lambda m: m.throughput)
    errors: dict[str, int] = {}
    for m in rounds:
        for code, count in m.errors.items():
            errors[code] = errors.get(code, 0) + count
    best = dataclasses.replace(
        fastest,
        errors=errors,
        mismatches=sum(m.mismatches for m in rounds),
        starved=any(m.starved for m in rounds),
        sent=sum(m.sent for m in rounds),
        supply_before=rounds[0].supply_before,
        commits=None
        if any(m.commits is None for m in rounds)
        else sum(m.commits or 0 for m in rounds),
        database=None
        if any(m.database is None for m in rounds)
        else sum((m.database for m in rounds if m.database), DatabaseUse()),
        server_memory=max((m.server_memory for m in rounds), key=lambda memory: memory.anon),
    )
    return Row(best, tuple(rounds))


def group_rounds(results: Sequence[Measurement]) -> list[Row]:
    """Rows in first-seen order, each combining the rounds of one server, scenario, c and mix."""
    groups: dict[tuple[str, str, str, int, str], list[Measurement]] = {}
    for m in results:
        key = (m.target, m.phase, m.scenario, m.concurrency, m.beside)
        groups.setdefault(key, []).append(m)
    return [combine(group) for group in groups.values()]
