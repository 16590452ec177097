"""`--compare-users N`: a big store against a small one, both served at once, in turns.

The goal it checks (part 5): with 1,000,000 users, VerifyCode within 10 % of its
throughput with 1,000, and the server's private memory (RssAnon) under 200 MB.
Each store has its own health baseline, but compare req/s here: the rows are
measured in turns, so they share the moment's load, and health's own noise
would enter the ratio twice.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from . import twofa_lmdb
from .loader import LoadReport
from .loadgen import LoadGenerator
from .plan import Plan, measure
from .procstat import Memory
from .report import Environment, environment_line, memory_sentence, supply_note
from .stats import Row
from .tables import baselines, fraction, mib, scenario_table, vs_health
from .targets import Target, started, this_build
from .users import Population

BEGIN, END = "<!-- bench-users:begin -->", "<!-- bench-users:end -->"
SAME_WITHIN = 0.10
RSS_ANON_LIMIT = 200 * 1000 * 1000
VERIFY_SCENARIOS = ("verify_wrong", "verify_correct")
# Scenarios a small store cannot feed, and why. verify_correct needs a fresh
# time step per request; a user has 3, then 1 more every 30 s.
SMALL_STORE_SKIPS = {
    "verify_correct": "a user allows 3 fresh codes, then 1 per 30 s: 3,000 in all "
    "for 1,000 users, about 1 s of c=64",
}


@dataclass(frozen=True, slots=True)
class StoreRun:
    """One store and its server: loading, start-up and memory."""

    label: str
    load: LoadReport
    settle_seconds: float  # from the first SERVING answer to an idle server
    idle_memory: Memory  # once idle after the start, before any row
    end_memory: Memory  # after the last row
    data_bytes_after: int


@dataclass(frozen=True, slots=True)
class UsersRun:
    stores: list[StoreRun]  # the big store first
    rows: list[Row]
    skipped: dict[str, str]  # scenarios not run on the small store, and why


def compare_users(
    generator: LoadGenerator,
    plan: Plan,
    populations: tuple[Population, Population],
    tmp: Path,
    workers: int | None,
) -> UsersRun:
    """Loads both stores, starts a twofa on each, measures them in turns."""
    skipped = {name: why for name, why in SMALL_STORE_SKIPS.items() if name in plan.scenarios}
    with ExitStack() as stack:
        entries: list[tuple[Target, twofa_lmdb.Store, Memory]] = []
        for population in populations:
            store = twofa_lmdb.load(tmp / f"data-{population.count}", population)
            spec = twofa_lmdb.spec(f"{population.count:,} users", store, this_build(), workers)
            target = stack.enter_context(started(spec, tmp))
            entries.append((target, store, target.memory()))
        targets = [target for target, _, _ in entries]
        rows = measure(generator, plan.jobs(targets, {targets[1].label: skipped}), targets)
        stores = [
            StoreRun(t.label, s.load, t.settle_seconds, idle, t.memory(), s.data_bytes())
            for t, s, idle in entries
        ]
    return UsersRun(stores, rows, skipped)


def _comparison_lines(run: UsersRun) -> list[str]:
    """For each VerifyCode row of the big store, how it compares with the small store's."""
    big, small = run.stores[0].label, run.stores[1].label
    base = baselines(run.rows)
    by_key = {(r.best.target, r.best.scenario, r.best.concurrency): r for r in run.rows}
    lines = []
    for row in run.rows:
        m = row.best
        if m.target != big or m.scenario not in VERIFY_SCENARIOS:
            continue
        head = f"{m.scenario} c={m.concurrency}: {big} {m.throughput:,.0f} req/s"
        share = fraction(vs_health(row, base))
        other_row = by_key.get((small, m.scenario, m.concurrency))
        if other_row is None or not other_row.best.throughput:
            why = run.skipped.get(m.scenario, "not measured")
            lines.append(f"- {head} ({share} of health); not run on {small} ({why})")
            continue
        other = other_row.best
        raw = m.throughput / other.throughput
        verdict = "within" if raw >= 1 - SAME_WITHIN else "**NOT** within"
        lines.append(
            f"- **{head}** ({share} of its health), {small} {other.throughput:,.0f} req/s "
            f"({fraction(vs_health(other_row, base))}). Big over small: **{raw:.2f}** in "
            f"req/s ({verdict} {SAME_WITHIN:.0%}); server CPU "
            f"{m.server_cpu_us_per_request:.0f} against {other.server_cpu_us_per_request:.0f} "
            "µs/req."
        )
    return lines


def _store_table(run: UsersRun) -> list[str]:
    lines = [
        "| store | loaded in | data.mdb after loading, after the run | bytes per user "
        "| idle after start | RssAnon after start, at the end | store pages resident at the end "
        "| VmHWM |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for s in run.stores:
        lines.append(
            f"| {s.label} | {s.load.seconds:.1f} s "
            f"| {mib(s.load.data_file_bytes)} MiB, {mib(s.data_bytes_after)} MiB "
            f"| {s.load.bytes_per_user:.0f} | {s.settle_seconds:.1f} s "
            f"| {mib(s.idle_memory.anon)} MiB, **{mib(s.end_memory.anon)} MiB** "
            f"| {mib(s.end_memory.store)} MiB | {mib(s.end_memory.peak)} MiB |"
        )
    return lines


def users_block(env: Environment, run: UsersRun, total_seconds: float) -> str:
    """The big store's rows beside the small store's, and the servers' memory."""
    big = run.stores[0]
    anon = big.end_memory.anon
    under = "under" if anon < RSS_ANON_LIMIT else "**NOT** under"
    lines = [
        environment_line(env),
        "",
        *scenario_table(run.rows, by_server=True),
        "",
        *_comparison_lines(run),
        "",
        *_store_table(run),
        "",
        f"- {big.label}: private memory (RssAnon) after the last row {anon / 1e6:.0f} MB, "
        f"{under} {RSS_ANON_LIMIT / 1e6:.0f} MB. {memory_sentence(big.end_memory)}.",
        supply_note(run.rows),
        f"- the whole run took {total_seconds:.0f} s",
    ]
    return "\n".join(lines)
