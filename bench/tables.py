"""Markdown tables of measured rows: the scenario table, the mixed-load table, the floor."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .inprocess import FloorRow
from .plan import MIXED
from .scenarios import SCENARIOS, Load
from .stats import Measurement, Row

BASELINE = "health"
MEBIBYTE = 1024 * 1024


def ms(ns: int) -> str:
    return f"{ns / 1e6:.2f}"


def mib(count: int) -> str:
    value = count / MEBIBYTE
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


def ratio(value: float, base: float | None) -> str:
    return f"{value / base:.2f}" if base else "n/a"


def throughput(row: Row) -> str:
    text = f"{row.best.throughput:,.0f}"
    return text if row.rounds == 1 else f"{text} ({row.low:,.0f} to {row.high:,.0f})"


def problems(row: Row) -> str:
    m = row.best
    parts = [f"{count} {code}" for code, count in sorted(m.errors.items())]
    if m.mismatches:
        parts.append(f"{m.mismatches} mismatched")
    if m.starved:
        parts.append("ran out of users")
    return ", ".join(parts) or "0"


def cpu(m: Measurement) -> str:
    return f"{m.server_cpu_us_per_request:.0f} ({m.server_sys_us_per_request:.0f})"


def cores(m: Measurement) -> str:
    return f"{m.server_cores:.2f} + {m.client_cores:.2f} + {m.other_cores:.2f}"


def per_commit(m: Measurement) -> str:
    """Requests per durable commit (warm-ups included on both sides), where counted and
    where each request commits."""
    commits = SCENARIOS[m.scenario].commits if m.scenario in SCENARIOS else True
    return f"{m.sent / m.commits:.1f}" if m.commits and commits else "—"


def baselines(rows: Sequence[Row]) -> dict[tuple[str, int], Row]:
    """The health row of each (server, concurrency) of the scenario table."""
    return {
        (r.best.target, r.best.concurrency): r
        for r in rows
        if r.best.scenario == BASELINE and not r.best.phase
    }


def vs_health(row: Row, base: dict[tuple[str, int], Row]) -> float | None:
    """The row's fastest round over its server's fastest health round at the same c."""
    health = base.get((row.best.target, row.best.concurrency))
    return (
        row.best.throughput / health.best.throughput if health and health.best.throughput else None
    )


def scenario_table(
    rows: Sequence[Row], by_server: bool = False, server_column: bool = False
) -> list[str]:
    """One line per scenario and concurrency, with the ratio to `health` at that concurrency.

    With `by_server` or `server_column`, a first column names the server, and
    each row's ratio is to the health row of its own server; `by_server` also
    puts one server's rows together (else they stay in the order they ran, the
    servers' rows of one scenario side by side). Mixed-phase rows are left out.
    """
    base = baselines(rows)
    if by_server:  # one server's rows together, in the order the servers first ran
        first = {target: i for i, target in reversed(list(enumerate(r.best.target for r in rows)))}
        rows = sorted(rows, key=lambda r: first[r.best.target])
    by_server = by_server or server_column
    lines = [
        ("| server " if by_server else "")
        + "| scenario | c | req/s | vs health | p50 ms | p99 ms | server CPU µs/req (kernel) "
        "| req per commit | cores busy: server + client + others "
        "| server MiB after: RssAnon (store pages) | errors |",
        ("|---" if by_server else "") + "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for row in rows:
        m = row.best
        if m.phase:
            continue
        memory = m.server_memory
        lines.append(
            (f"| {m.target} " if by_server else "")
            + f"| {m.scenario} | {m.concurrency} | {throughput(row)} "
            f"| {fraction(vs_health(row, base))} | {ms(m.p50_ns)} | {ms(m.p99_ns)} "
            f"| {cpu(m)} | {per_commit(m)} | {cores(m)} "
            f"| {mib(memory.anon)} ({mib(memory.store)}) | {problems(row)} |"
        )
    return lines


def fraction(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


@dataclass(frozen=True, slots=True)
class MixedLine:
    """One line of the mixed table: the main load, alone or beside another.

    `main` is the main load's row; `beside_row` the other load's row (None when
    alone) and `beside` its round in which the main load was fastest, so both
    sides' figures come from the same seconds. `alone` is the main load's row
    when it ran alone, in the same phase.
    """

    server: str
    main: Row
    alone: Row
    beside_row: Row | None = None
    beside: Measurement | None = None


def mixed_lines(rows: Sequence[Row]) -> list[MixedLine]:
    """The mixed phase's rows, paired: each main load with the load beside it."""
    mixed = [r for r in rows if r.best.phase == MIXED]
    alone = {(r.best.target, str(_load(r))): r for r in mixed if not r.best.beside}
    lines = []
    for row in mixed:
        m = row.best
        solo = alone.get((m.target, str(_load(row))))
        if solo is None:
            continue  # a load that ran beside a main load: paired with it below
        partner = next(
            (
                r
                for r in mixed
                if m.beside
                and r.best.target == m.target
                and str(_load(r)) == m.beside
                and r.best.beside == str(_load(row))
            ),
            None,
        )
        same_round = (
            next((x for x in partner.each if x.round == m.round), None) if partner else None
        )
        lines.append(MixedLine(m.target, row, solo, partner, same_round))
    return lines


def _load(row: Row) -> Load:
    return Load(row.best.scenario, row.best.concurrency)


def _rpc(name: str) -> str:
    return SCENARIOS[name].rpc.split(" ")[0]


def mixed_table(lines: Sequence[MixedLine]) -> list[str]:
    """The main load alone and beside each other load: both sides' throughput and latency."""
    if not lines:
        return []
    main, side = lines[0].main.best, next((x.beside for x in lines if x.beside), None)
    main_name = f"{_rpc(main.scenario)} c={main.concurrency}"
    side_name = _rpc(side.scenario) if side else "beside"
    table = [
        f"| {main_name} | {_rpc(main.scenario)} req/s | vs alone | p50 ms | p99 ms "
        f"| p99 vs alone | {side_name} req/s | p50 ms | p99 ms "
        "| cores busy: server + client + others | errors |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for line in lines:
        m, other, alone = line.main.best, line.beside, line.alone.best
        what = f"beside {other.concurrency} {other.scenario}" if other else "alone"
        side_cells = (
            f"{other.throughput:,.0f} | {ms(other.p50_ns)} | {ms(other.p99_ns)}"
            if other
            else "— | — | —"
        )
        errors = problems(line.main)
        if line.beside_row and problems(line.beside_row) != "0":
            errors += f"; beside: {problems(line.beside_row)}"
        table.append(
            f"| {what} | {throughput(line.main)} "
            f"| {ratio(m.throughput, alone.throughput)} | {ms(m.p50_ns)} | {ms(m.p99_ns)} "
            f"| {ratio(m.p99_ns, alone.p99_ns)} | {side_cells} "
            f"| {cores(m)} | {errors} |"
        )
    return table


def floor_table(rows: Sequence[FloorRow]) -> list[str]:
    """The in-process rows: the same use case and store without gRPC."""
    lines = [
        "| in-process, no gRPC | threads | calls/s | wall µs/call | CPU µs/call | errors |",
        "|---|--:|--:|--:|--:|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.what} | {row.threads} | {row.per_second:,.0f} | {row.wall_us:.0f} "
            f"| {row.cpu_us:.0f} | {f'{row.mismatches} mismatched' if row.mismatches else 0} |"
        )
    return lines
