"""The markdown the bench writes into bench/README.md, between fixed markers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .inprocess import FloorRow
from .loader import LoadReport
from .procstat import Memory
from .pyspy import Profile
from .stats import Row

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
STYLES_BEGIN, STYLES_END = "<!-- bench-styles:begin -->", "<!-- bench-styles:end -->"
PROFILE_BEGIN, PROFILE_END = "<!-- bench-profile:begin -->", "<!-- bench-profile:end -->"
USERS_BEGIN, USERS_END = "<!-- bench-users:begin -->", "<!-- bench-users:end -->"
BASELINE = "health"
MEBIBYTE = 1024 * 1024
# Goals of the 1,000,000-user run (part 5): VerifyCode within 10 % of a small
# store's throughput, and the server's private memory under 200 MB.
SAME_WITHIN = 0.10
RSS_ANON_LIMIT = 200 * 1000 * 1000
VERIFY_SCENARIOS = ("verify_wrong", "verify_correct")


@dataclass(frozen=True, slots=True)
class TwofaRun:
    """Everything measured on the real server and its store."""

    load: LoadReport
    floor: list[FloorRow]
    rows: list[Row]
    end_memory: Memory  # the server's, after the last row
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


def _mib(count: int) -> str:
    value = count / MEBIBYTE
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


def _memory(row: Row) -> str:
    memory = row.best.server_memory
    return f"{_mib(memory.anon)} ({_mib(memory.store)})"


def memory_sentence(memory: Memory) -> str:
    """The server's memory in words: private, mapped store pages, other mapped files, peak."""
    return (
        f"RssAnon (private: heap, stacks, Python objects) {_mib(memory.anon)} MiB; "
        f"RssFile {_mib(memory.file)} MiB, of which {_mib(memory.store)} MiB are pages of the "
        f"mapped store (data.mdb: page cache, shared, reclaimable) and the rest the "
        f"interpreter's and libraries' code; peak RSS (VmHWM) {_mib(memory.peak)} MiB"
    )


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


def _baselines(rows: Sequence[Row]) -> dict[tuple[str, int], float]:
    """health's throughput by (server, concurrency)."""
    return {
        (r.best.target, r.best.concurrency): r.best.throughput
        for r in rows
        if r.best.scenario == BASELINE
    }


def scenario_table(rows: Sequence[Row], labels: dict[str, str] | None = None) -> list[str]:
    """One line per scenario and concurrency, with the ratio to `health` at that concurrency.

    With `labels` (server address -> name), a first column names the server, and
    each row's ratio is to the health row of its own server.
    """
    base = _baselines(rows)
    store = "| store " if labels else ""
    lines = [
        f"{store}| scenario | c | req/s | vs health | p50 ms | p99 ms "
        "| server CPU µs/req (kernel) | client CPU µs/req "
        "| cores busy: server + client + others | server MiB after: RssAnon (store pages) "
        "| errors |",
        ("|---" if labels else "") + "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for row in rows:
        m = row.best
        where = f"| {labels[m.target]} " if labels else ""
        lines.append(
            f"{where}| {m.scenario} | {m.concurrency} | {_throughput(row)} "
            f"| {_ratio(m.throughput, base.get((m.target, m.concurrency)))} | {_ms(m.p50_ns)} "
            f"| {_ms(m.p99_ns)} | {_cpu(row)} | {m.client_cpu_us_per_request:.0f} "
            f"| {_cores(row)} | {_memory(row)} | {_problems(row)} |"
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


def supply_notes(rows: Sequence[Row], labels: dict[str, str] | None = None) -> list[str]:
    """What the user-bounded scenarios had to draw on, and a warning if they ran out."""
    notes = []
    for row in rows:
        m = row.best
        if m.supply_before is None:
            continue
        where = f"{labels[m.target]}, " if labels else ""
        line = (
            f"- {where}{m.scenario} c={m.concurrency}: {m.supply_before:,} requests possible "
            f"at its start (bench/book.py), {m.sent:,} sent (warm-ups included)"
        )
        if m.commits:
            line += (
                f" in {m.commits:,} durable commits: {m.sent / m.commits:.1f} requests per commit"
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
        f"{run.data_bytes_after / MEBIBYTE:.1f} MiB after the run; each user has an "
        "authenticator app and one trusted device",
        f"- twofa server memory after the last row: {memory_sentence(run.end_memory)}",
        *supply_notes(run.rows),
        f"- the whole run took {total_seconds:.0f} s",
    ]
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class StoreRun:
    """One store of a --compare-users run, and its server's memory."""

    label: str
    target: str  # the server's address, as in the rows
    load: LoadReport
    settle_seconds: float  # from the first SERVING answer to an idle server
    idle_memory: Memory  # once idle after the start, before any row
    end_memory: Memory  # after the last row
    data_bytes_after: int


@dataclass(frozen=True, slots=True)
class UsersRun:
    """A --compare-users run: the big store first, then the small one."""

    stores: list[StoreRun]
    rows: list[Row]
    skipped: dict[str, str]  # scenarios not run on the small store, and why


def comparison_lines(run: UsersRun) -> list[str]:
    """For each VerifyCode row of the big store, how it compares with the small store's."""
    big, small = run.stores[0], run.stores[1]
    base = _baselines(run.rows)
    by_key = {(r.best.target, r.best.scenario, r.best.concurrency): r.best for r in run.rows}
    lines = []
    for row in run.rows:
        m = row.best
        if m.target != big.target or m.scenario not in VERIFY_SCENARIOS:
            continue
        other = by_key.get((small.target, m.scenario, m.concurrency))
        big_base = base.get((big.target, m.concurrency))
        if other is None or not other.throughput or not big_base:
            why = run.skipped.get(m.scenario, "not measured")
            lines.append(
                f"- {m.scenario} c={m.concurrency}: {big.label} {m.throughput:,.0f} req/s "
                f"({_ratio(m.throughput, big_base)} of health); not run on {small.label} ({why})"
            )
            continue
        small_base = base.get((small.target, m.concurrency))
        raw = m.throughput / other.throughput
        relative = (
            (m.throughput / big_base) / (other.throughput / small_base) if small_base else 0.0
        )
        verdict = "within" if raw >= 1 - SAME_WITHIN else "**NOT** within"
        lines.append(
            f"- **{m.scenario} c={m.concurrency}**: {big.label} {m.throughput:,.0f} req/s "
            f"({_ratio(m.throughput, big_base)} of its health), {small.label} "
            f"{other.throughput:,.0f} req/s ({_ratio(other.throughput, small_base)} of its "
            f"health). Big over small: **{raw:.2f}** in req/s ({verdict} {SAME_WITHIN:.0%}), "
            f"{relative:.2f} in the ratio to health; server CPU "
            f"{m.server_cpu_us_per_request:.0f} against {other.server_cpu_us_per_request:.0f} "
            "µs/req."
        )
    return lines


def store_table(run: UsersRun) -> list[str]:
    lines = [
        "| store | loaded in | data.mdb after loading, after the run | bytes per user "
        "| idle after start | RssAnon after start, at the end | store pages resident at the end "
        "| RssFile at the end | VmHWM |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for store in run.stores:
        load, idle, end = store.load, store.idle_memory, store.end_memory
        lines.append(
            f"| {store.label} | {load.seconds:.1f} s "
            f"| {_mib(load.data_file_bytes)} MiB, {_mib(store.data_bytes_after)} MiB "
            f"| {load.bytes_per_user:.0f} | {store.settle_seconds:.1f} s "
            f"| {_mib(idle.anon)} MiB, **{_mib(end.anon)} MiB** | {_mib(end.store)} MiB "
            f"| {_mib(end.file)} MiB | {_mib(end.peak)} MiB |"
        )
    return lines


def users_block(env: Environment, run: UsersRun, total_seconds: float) -> str:
    """The big-store run: its rows beside a small store's, and the servers' memory."""
    labels = {store.target: store.label for store in run.stores}
    big = run.stores[0]
    skipped = [f"`{name}` ({why})" for name, why in run.skipped.items()]
    anon = big.end_memory.anon
    lines = [
        environment_line(env),
        "",
        *scenario_table(run.rows, labels),
        "",
        *comparison_lines(run),
        "",
        *store_table(run),
        "",
        f"- {big.label}: server private memory (RssAnon) after the last row "
        f"{_mib(anon)} MiB = {anon / 1e6:.0f} MB: "
        f"{'under' if anon < RSS_ANON_LIMIT else '**NOT** under'} "
        f"{RSS_ANON_LIMIT / 1e6:.0f} MB. {memory_sentence(big.end_memory)}.",
        *([f"- not run on {run.stores[1].label}: " + "; ".join(skipped)] if skipped else []),
        *supply_notes(run.rows, labels),
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
