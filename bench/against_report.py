"""The block of an `--against REV` run: both builds' rows side by side, their ratio, the noise.

A row's "this/REV" is the ratio of the two builds' ratios to their own health
Check at the same concurrency (for health itself, of the req/s), from each
row's fastest round; "by round" gives the same ratio round by round. Health's
own noise enters that ratio twice, so two steadier quotients stand beside it:
the req/s of the two builds' rows that ran back to back (median and range over
the rounds), and REV's server CPU per request over this build's (median; above
1: this build is cheaper).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from .against import AgainstRun
from .report import Environment, environment_line
from .stats import Row
from .tables import BASELINE, MixedLine, baselines, mixed_lines, ms, problems

BEGIN, END = "<!-- bench-against:begin -->", "<!-- bench-against:end -->"


@dataclass(frozen=True, slots=True)
class Pair:
    """One scenario at one concurrency on both builds, each over its own health."""

    ours: Row
    theirs: Row
    ours_ratio: float  # fastest round over health's fastest (for health: req/s)
    theirs_ratio: float
    by_round: list[float]  # this/REV of each round
    side_by_side: list[float]  # each round's req/s, this over REV
    cpu: list[float]  # each round's server CPU per request, REV over this

    @property
    def ratio(self) -> float:
        return self.ours_ratio / self.theirs_ratio if self.theirs_ratio else 0.0


def _over_health(row: Row, health: Row | None) -> tuple[float, dict[int, float]]:
    """The fastest round's ratio to health, and each round's (for health: req/s)."""
    if row.best.scenario == BASELINE:
        return row.best.throughput, {m.round: m.throughput for m in row.each}
    if health is None or not health.best.throughput:
        return 0.0, {}
    base = {m.round: m.throughput for m in health.each}
    rounds = {m.round: m.throughput / base[m.round] for m in row.each if base.get(m.round)}
    return row.best.throughput / health.best.throughput, rounds


def pairs(run: AgainstRun) -> list[Pair]:
    """The scenario table's rows of both builds, paired, in this build's order."""
    base = baselines(run.rows)
    table = [r for r in run.rows if not r.best.phase]
    theirs = {
        (r.best.scenario, r.best.concurrency): r for r in table if r.best.target == run.other.label
    }
    result = []
    for ours in table:
        key = (ours.best.scenario, ours.best.concurrency)
        if ours.best.target != run.this.label or key not in theirs:
            continue
        other = theirs[key]
        ours_ratio, ours_rounds = _over_health(ours, base.get((run.this.label, key[1])))
        theirs_ratio, theirs_rounds = _over_health(other, base.get((run.other.label, key[1])))
        by_round = [
            ours_rounds[i] / theirs_rounds[i] for i in sorted(ours_rounds) if theirs_rounds.get(i)
        ]
        same_round = [
            (a, b) for a in ours.each for b in other.each if a.round == b.round and b.answered
        ]
        side_by_side = [a.throughput / b.throughput for a, b in same_round]
        cpu = [
            b.server_cpu_us_per_request / a.server_cpu_us_per_request
            for a, b in same_round
            if a.server_cpu_us_per_request
        ]
        result.append(Pair(ours, other, ours_ratio, theirs_ratio, by_round, side_by_side, cpu))
    return result


def _span(values: Sequence[float]) -> str:
    return f"{min(values):.2f} to {max(values):.2f}" if values else "n/a"


def _median(values: Sequence[float]) -> str:
    return f"{statistics.median(values):.2f}" if values else "n/a"


def _table(pairs_: Sequence[Pair], rev: str) -> list[str]:
    lines = [
        f"| scenario | c | this req/s | vs health | {rev} req/s | vs health | this/{rev} "
        f"| by round | req/s side by side: this/{rev} | CPU/req: {rev}/this "
        f"| p99 ms: this, {rev} | errors: this, {rev} |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for p in pairs_:
        a, b = p.ours.best, p.theirs.best
        health = a.scenario == BASELINE
        lines.append(
            f"| {a.scenario} | {a.concurrency} | {a.throughput:,.0f} "
            f"| {'1.00' if health else f'{p.ours_ratio:.2f}'} | {b.throughput:,.0f} "
            f"| {'1.00' if health else f'{p.theirs_ratio:.2f}'} | **{p.ratio:.2f}** "
            f"| {_span(p.by_round)} | {_median(p.side_by_side)} ({_span(p.side_by_side)}) "
            f"| {_median(p.cpu)} ({_span(p.cpu)}) | {ms(a.p99_ns)}, {ms(b.p99_ns)} "
            f"| {problems(p.ours)}, {problems(p.theirs)} |"
        )
    return lines


def _summary(pairs_: Sequence[Pair], run: AgainstRun) -> list[str]:
    rev = run.other.label
    rows = [p for p in pairs_ if p.ours.best.scenario != BASELINE]
    busiest = max((p.ours.best.concurrency for p in rows), default=0)
    lines = [
        f"- {p.ours.best.scenario} c={busiest}: this {p.ours_ratio:.2f}, {rev} "
        f"{p.theirs_ratio:.2f} of health; this/{rev} **{p.ratio:.2f}** "
        f"(rounds {_span(p.by_round)}); side by side in req/s {_median(p.side_by_side)} "
        f"({_span(p.side_by_side)}); CPU per request {rev}/this {_median(p.cpu)}"
        for p in rows
        if p.ours.best.concurrency == busiest
    ]
    slower = [p for p in rows if p.side_by_side and max(p.side_by_side) < 1]
    faster = [p for p in rows if p.side_by_side and min(p.side_by_side) > 1]

    def names(group: list[Pair]) -> str:
        return ", ".join(f"{p.ours.best.scenario} c={p.ours.best.concurrency}" for p in group)

    lines.append(
        f"- slower than {rev} side by side in every round: {names(slower) or 'none'}; "
        f"faster in every round: {names(faster) or 'none'}; the other rows' rounds fell "
        "on both sides"
    )
    all_rows = [p.ours for p in pairs_] + [p.theirs for p in pairs_]
    spreads = [r.spread for r in all_rows if r.rounds > 1]
    widths = [max(p.side_by_side) - min(p.side_by_side) for p in rows if len(p.side_by_side) > 1]
    others = max((m.other_cores for r in all_rows for m in r.each), default=0.0)
    if spreads and widths:
        lines.append(
            f"- noise: a row's slowest round was up to {max(spreads):.0%} below its fastest "
            f"(median {statistics.median(spreads):.0%}); a row's side-by-side this/{rev} "
            f"moved by up to {max(widths):.2f} between rounds (median "
            f"{statistics.median(widths):.2f}); the rest of the machine kept up to "
            f"{others:.2f} cores busy during a row"
        )
    return lines


def _mixed(run: AgainstRun) -> list[str]:
    """The mixed-load rows of both builds, by what ran beside VerifyCode."""
    lines = mixed_lines(run.rows)
    ours = {x.main.best.beside: x for x in lines if x.server == run.this.label}
    theirs = {x.main.best.beside: x for x in lines if x.server == run.other.label}
    if not ours:
        return []
    rev = run.other.label

    def side(line: MixedLine) -> str:
        return f"{line.beside.throughput:,.0f}" if line.beside else "—"

    table = [
        f"| mixed: {next(iter(ours.values())).main.best.scenario} "
        f"c={next(iter(ours.values())).main.best.concurrency} | this req/s (vs alone) "
        f"| {rev} req/s (vs alone) | this/{rev} | p99 ms: this, {rev} "
        f"| set-ups/s beside: this, {rev} |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for beside, a in ours.items():
        b = theirs.get(beside)
        if b is None:
            continue
        x, y = a.main.best, b.main.best
        table.append(
            f"| {'beside ' + beside if beside else 'alone'} "
            f"| {x.throughput:,.0f} ({x.throughput / a.alone.best.throughput:.2f}) "
            f"| {y.throughput:,.0f} ({y.throughput / b.alone.best.throughput:.2f}) "
            f"| **{x.throughput / y.throughput:.2f}** | {ms(x.p99_ns)}, {ms(y.p99_ns)} "
            f"| {side(a)}, {side(b)} |"
        )
    return ["", *table]


def against_block(env: Environment, run: AgainstRun, total_seconds: float) -> str:
    head = [
        f"**this**: server code of {run.this.description}  ",
        f"**{run.other.label}**: {run.other.description}",
        "",
        environment_line(env),
    ]
    if run.failed is not None:
        return "\n".join(
            [
                *head,
                "",
                f"**{run.other.label} could not be measured:**",
                "",
                "```",
                run.failed,
                "```",
            ]
        )
    paired = pairs(run)
    lines = [
        *head,
        "",
        *_table(paired, run.other.label),
        *_mixed(run),
        "",
        *_summary(paired, run),
        f"- the whole run took {total_seconds:.0f} s",
    ]
    return "\n".join(lines)
