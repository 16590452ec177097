"""The markdown the bench writes into bench/README.md, between fixed markers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .loader import LoadReport
from .scenarios import SCENARIOS
from .stats import Measurement

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
STYLES_BEGIN, STYLES_END = "<!-- bench-styles:begin -->", "<!-- bench-styles:end -->"
BASELINE = "health"
MEBIBYTE = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Environment:
    """Where and how the numbers were taken."""

    date: str
    cores: int
    cpu_model: str
    python: str
    grpcio: str
    filesystem: str
    duration: float
    warmup: float


def _ms(ns: int) -> str:
    return f"{ns / 1e6:.2f}"


def _problems(m: Measurement) -> str:
    parts = [f"{count} {code}" for code, count in sorted(m.errors.items())]
    if m.mismatches:
        parts.append(f"{m.mismatches} mismatched")
    if m.starved:
        parts.append("ran out of users")
    return ", ".join(parts) or "0"


def _cpu(m: Measurement) -> str:
    return f"{m.server_cpu_us_per_request:.0f} ({m.server_sys_us_per_request:.0f})"


def _ratio(value: float, base: float | None) -> str:
    return f"{value / base:.2f}" if base else "n/a"


def environment_line(env: Environment) -> str:
    return (
        f"Measured {env.date} on {env.cores} cores ({env.cpu_model}), Python {env.python}, "
        f"grpcio {env.grpcio}; store on {env.filesystem}; "
        f"{env.duration:g} s per row after a {env.warmup:g} s warm-up."
    )


def scenario_table(results: Sequence[Measurement]) -> list[str]:
    """One row per scenario and concurrency, with the ratio to `health` at that concurrency."""
    base = {m.concurrency: m.throughput for m in results if m.scenario == BASELINE}
    rows = [
        "| scenario | c | req/s | vs health | p50 ms | p99 ms | server CPU µs/req (kernel) "
        "| client CPU µs/req | errors |",
        "|---|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for m in results:
        rows.append(
            f"| {m.scenario} | {m.concurrency} | {m.throughput:,.0f} "
            f"| {_ratio(m.throughput, base.get(m.concurrency))} | {_ms(m.p50_ns)} "
            f"| {_ms(m.p99_ns)} | {_cpu(m)} "
            f"| {m.client_cpu_us_per_request:.0f} | {_problems(m)} |"
        )
    return rows


def supply_notes(results: Sequence[Measurement]) -> list[str]:
    """What the user-bounded scenarios had to draw on, and a warning if they ran out."""
    notes = []
    for m in results:
        if m.supply_before is None:
            continue
        line = (
            f"- {m.scenario} c={m.concurrency}: {m.supply_before:,} requests possible "
            f"at its start (bench/book.py), {m.sent:,} sent (warm-up included)"
        )
        if m.starved:
            line += " — **WARNING: users ran out; raise --users**"
        notes.append(line)
    return notes


def main_block(
    env: Environment,
    load: LoadReport,
    results: Sequence[Measurement],
    peak_rss: int,
    data_bytes_after: int,
    total_seconds: float,
) -> str:
    lines = [
        environment_line(env),
        "",
        *scenario_table(results),
        "",
        f"- users: {load.users:,} enrolled in {load.seconds:.2f} s by bench/loader.py; "
        f"store {load.data_file_bytes / load.users:.0f} bytes per enrolled user after loading "
        f"(data.mdb {load.data_file_bytes / MEBIBYTE:.1f} MiB), "
        f"{data_bytes_after / MEBIBYTE:.1f} MiB after the run",
        f"- twofa server peak RSS (VmHWM): {peak_rss / MEBIBYTE:.0f} MiB",
        *supply_notes(results),
        f"- the whole run took {total_seconds:.0f} s",
    ]
    return "\n".join(lines)


def styles_block(env: Environment, results: Sequence[Measurement], labels: dict[str, str]) -> str:
    """The server-style comparison: bare health Check, ratio to the first style listed."""
    first = labels[results[0].target] if results else ""
    base = {m.concurrency: m.throughput for m in results if labels[m.target] == first}
    rows = [
        environment_line(env),
        "",
        f"| server | c | req/s | vs {first} | p50 ms | p99 ms | server CPU µs/req (kernel) "
        "| errors |",
        "|---|--:|--:|--:|--:|--:|--:|---|",
    ]
    for m in results:
        rows.append(
            f"| {labels[m.target]} | {m.concurrency} | {m.throughput:,.0f} "
            f"| {_ratio(m.throughput, base.get(m.concurrency))} | {_ms(m.p50_ns)} "
            f"| {_ms(m.p99_ns)} | {_cpu(m)} | {_problems(m)} |"
        )
    return "\n".join(rows)


def scenario_list() -> str:
    """The scenario table as markdown, from scenarios.py."""
    rows = ["| scenario | calls | every answer must be |", "|---|---|---|"]
    for scenario in SCENARIOS.values():
        rows.append(f"| `{scenario.name}` | {scenario.rpc} | {scenario.expects} |")
    return "\n".join(rows)


def replace_between(text: str, begin: str, end: str, block: str) -> str:
    """`text` with what lies between the markers replaced by `block` (appended if absent)."""
    start, stop = text.find(begin), text.find(end)
    if start == -1 or stop < start:
        return f"{text.rstrip()}\n\n{begin}\n{block}\n{end}\n"
    return f"{text[: start + len(begin)]}\n{block}\n{text[stop:]}"


def write_block(path: Path, begin: str, end: str, block: str) -> None:
    """Replaces the block between the markers in `path`, keeping the rest of the file."""
    text = path.read_text() if path.exists() else ""
    path.write_text(replace_between(text, begin, end, block))
