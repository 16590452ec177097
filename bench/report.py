"""The markdown the bench writes into bench/README.md, between fixed markers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .inprocess import FloorRow
from .loader import LoadReport
from .pyspy import Profile
from .stats import Row

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
STYLES_BEGIN, STYLES_END = "<!-- bench-styles:begin -->", "<!-- bench-styles:end -->"
PROFILE_BEGIN, PROFILE_END = "<!-- bench-profile:begin -->", "<!-- bench-profile:end -->"
BASELINE = "health"
MEBIBYTE = 1024 * 1024


@dataclass(frozen=True, slots=True)
class TwofaRun:
    """Everything measured on the real server and its store."""

    load: LoadReport
    floor: list[FloorRow]
    rows: list[Row]
    peak_rss: int
    data_bytes_after: int
    profile: Profile | None
    # `rows` plus any unreported runs (under py-spy): every answer is checked.
    checked: list[Row]


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
    rounds: int
    load_average: str


def _ms(ns: int) -> str:
    return f"{ns / 1e6:.2f}"


def _problems(row: Row) -> str:
    m = row.best
    parts = [f"{count} {code}" for code, count in sorted(m.errors.items())]
    if m.mismatches:
        parts.append(f"{m.mismatches} mismatched")
    if m.starved:
        parts.append("ran out of users")
    return ", ".join(parts) or "0"


def _throughput(row: Row) -> str:
    text = f"{row.best.throughput:,.0f}"
    return text if row.rounds == 1 else f"{text} ({row.low:,.0f} to {row.high:,.0f})"


def _cpu(row: Row) -> str:
    m = row.best
    return f"{m.server_cpu_us_per_request:.0f} ({m.server_sys_us_per_request:.0f})"


def _cores(row: Row) -> str:
    m = row.best
    return f"{m.server_cores:.2f} + {m.client_cores:.2f} + {m.other_cores:.2f}"


def _ratio(value: float, base: float | None) -> str:
    return f"{value / base:.2f}" if base else "n/a"


def environment_line(env: Environment) -> str:
    rounds = (
        f"the fastest of {env.rounds} interleaved rounds (all rounds' range in brackets)"
        if env.rounds > 1
        else "one round"
    )
    return (
        f"Measured {env.date} on {env.cores} cores ({env.cpu_model}), Python {env.python}, "
        f"grpcio {env.grpcio}; store on {env.filesystem}; load average at the start "
        f"{env.load_average}. Each row: {env.duration:g} s after a {env.warmup:g} s warm-up, "
        f"{rounds}."
    )


def scenario_table(rows: Sequence[Row]) -> list[str]:
    """One line per scenario and concurrency, with the ratio to `health` at that concurrency."""
    base = {r.best.concurrency: r.best.throughput for r in rows if r.best.scenario == BASELINE}
    lines = [
        "| scenario | c | req/s | vs health | p50 ms | p99 ms | server CPU µs/req (kernel) "
        "| client CPU µs/req | cores busy: server + client + others | errors |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for row in rows:
        m = row.best
        lines.append(
            f"| {m.scenario} | {m.concurrency} | {_throughput(row)} "
            f"| {_ratio(m.throughput, base.get(m.concurrency))} | {_ms(m.p50_ns)} "
            f"| {_ms(m.p99_ns)} | {_cpu(row)} | {m.client_cpu_us_per_request:.0f} "
            f"| {_cores(row)} | {_problems(row)} |"
        )
    return lines


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


def supply_notes(rows: Sequence[Row]) -> list[str]:
    """What the user-bounded scenarios had to draw on, and a warning if they ran out."""
    notes = []
    for row in rows:
        m = row.best
        if m.supply_before is None:
            continue
        line = (
            f"- {m.scenario} c={m.concurrency}: {m.supply_before:,} requests possible "
            f"at its start (bench/book.py), {m.sent:,} sent (warm-ups included)"
        )
        if m.starved:
            line += " — **WARNING: users ran out; raise --users**"
        notes.append(line)
    return notes


def main_block(env: Environment, run: TwofaRun, total_seconds: float) -> str:
    load = run.load
    lines = [
        environment_line(env),
        "",
        *scenario_table(run.rows),
        "",
        *floor_table(run.floor),
        "",
        f"- users: {load.users:,} enrolled in {load.seconds:.2f} s by bench/loader.py; "
        f"store {load.bytes_per_user:.0f} bytes per enrolled user after loading "
        f"(data.mdb {load.data_file_bytes / MEBIBYTE:.1f} MiB), "
        f"{run.data_bytes_after / MEBIBYTE:.1f} MiB after the run",
        f"- twofa server peak RSS (VmHWM): {run.peak_rss / MEBIBYTE:.0f} MiB",
        *supply_notes(run.rows),
        f"- the whole run took {total_seconds:.0f} s",
    ]
    return "\n".join(lines)


def styles_block(env: Environment, rows: Sequence[Row], labels: dict[str, str]) -> str:
    """The server-style comparison: bare health Check, ratio to the first style listed."""
    first = labels[rows[0].best.target] if rows else ""
    base = {r.best.concurrency: r.best.throughput for r in rows if labels[r.best.target] == first}
    lines = [
        environment_line(env),
        "",
        f"| server | c | req/s | vs {first} | p50 ms | p99 ms | server CPU µs/req (kernel) "
        "| cores busy: server + client + others | errors |",
        "|---|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for row in rows:
        m = row.best
        lines.append(
            f"| {labels[m.target]} | {m.concurrency} | {_throughput(row)} "
            f"| {_ratio(m.throughput, base.get(m.concurrency))} | {_ms(m.p50_ns)} "
            f"| {_ms(m.p99_ns)} | {_cpu(row)} | {_cores(row)} | {_problems(row)} |"
        )
    return "\n".join(lines)


def profile_block(env: Environment, scenario: str, concurrency: int, spied: Profile) -> str:
    """The py-spy summary: busiest server frames, and how busy the GIL was."""
    lines = [
        environment_line(env),
        "",
        f"py-spy on the twofa server during `{scenario}` at c={concurrency} "
        f"({spied.samples:,} samples of running or runnable threads): the GIL was held in "
        f"{spied.gil_share:.0%} of the `--gil` samples asked for.",
        "",
        "| share of busy-thread samples | frame (function, file:line) |",
        "|--:|---|",
    ]
    lines += [f"| {share:.0%} | `{frame}` |" for frame, share in spied.inclusive]
    return "\n".join(lines)


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
