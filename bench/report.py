"""The markdown `make bench` writes into bench/README.md, between fixed markers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from . import postgres_report
from .inprocess import FloorRow
from .loader import LoadReport
from .postgres_report import PostgresRun
from .procstat import Memory
from .stats import Row
from .tables import MEBIBYTE, floor_table, mib, mixed_lines, mixed_table, scenario_table

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


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


@dataclass(frozen=True, slots=True)
class MainRun:
    """Everything `make bench` measured on the twofa server and its store."""

    load: LoadReport
    floor: list[FloorRow]
    rows: list[Row]
    end_memory: Memory  # the (LMDB) server's, after the last row
    data_bytes_after: int
    postgres: PostgresRun | None = None  # the database of the PostgreSQL rows, if any


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


def memory_sentence(memory: Memory) -> str:
    """The server's memory in words: private, mapped store pages, other mapped files, peak."""
    return (
        f"RssAnon (private: heap, stacks, Python objects) {mib(memory.anon)} MiB; "
        f"RssFile {mib(memory.file)} MiB, of which {mib(memory.store)} MiB are pages of the "
        f"mapped store (page cache, shared, reclaimable); peak RSS (VmHWM) {mib(memory.peak)} MiB"
    )


def supply_note(rows: Sequence[Row]) -> str:
    """What the user-bounded scenarios had to draw on (bench/book.py), and any that ran out."""
    first: dict[str, int] = {}
    for row in rows:
        m = row.best
        if m.supply_before is not None:
            first.setdefault(m.scenario, m.supply_before)
    starved = sorted({f"{r.best.scenario} c={r.best.concurrency}" for r in rows if r.best.starved})
    supplies = ", ".join(f"{name} {count:,}" for name, count in first.items())
    verdict = (
        f"**WARNING: users ran out in {', '.join(starved)}; raise --users**"
        if starved
        else "no row ran out"
    )
    return f"- requests the users allowed at the start (bench/book.py): {supplies}; {verdict}"


def postgres_section(run: PostgresRun, rows: Sequence[Row]) -> list[str]:
    """The goals, the per-row database figures and the statements of the PostgreSQL rows."""
    return [
        "PostgreSQL against the goals (rows of one scenario ran back to back, round by round):",
        "",
        *postgres_report.goals_table(rows),
        "",
        postgres_report.little_line(rows),
        *(postgres_report.ratio_lines(rows, name) for name in postgres_report.RATIO_SCENARIOS),
        "",
        "Where the PostgreSQL rows' time went, per request (statements and database time from "
        "`pg_stat_statements`, write transactions from transaction ids, WAL from its position: "
        "warm-up included; CPU from /proc over the measured window):",
        "",
        *postgres_report.database_table(rows),
        "",
        *postgres_report.statements_table(run),
        "",
        *postgres_report.summary_lines(run),
        "",
    ]


def main_block(env: Environment, run: MainRun, total_seconds: float) -> str:
    load = run.load
    mixed = mixed_lines(run.rows)
    servers = len({row.best.target for row in run.rows}) > 1
    lines = [
        environment_line(env),
        "",
        *scenario_table(run.rows, server_column=servers),
        "",
        *(postgres_section(run.postgres, run.rows) if run.postgres else []),
        *(
            [
                "Mixed load, measured after the table in the same run (per round: alone, then "
                "beside each number of set-ups); the set-ups' figures are from the round in "
                "which VerifyCode was fastest:",
                "",
                *mixed_table(mixed),
                "",
            ]
            if mixed
            else []
        ),
        *floor_table(run.floor),
        "",
        f"- users: {load.users:,} enrolled in {load.seconds:.2f} s by bench/loader.py; "
        f"store {load.bytes_per_user:.0f} bytes per user after loading "
        f"(data.mdb {load.data_file_bytes / MEBIBYTE:.1f} MiB), "
        f"{run.data_bytes_after / MEBIBYTE:.1f} MiB after the run",
        f"- {'the LMDB ' if servers else ''}server's memory after the last row: "
        f"{memory_sentence(run.end_memory)}",
        supply_note(run.rows),
        f"- the whole run took {total_seconds:.0f} s",
    ]
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
