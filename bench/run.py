"""``python -m bench.run``: load the store, start twofa, run the scenario table, report.

See bench/README.md for what is measured and why; ``make bench`` runs
``python -m bench.run --report bench/README.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import grpc

from . import pyspy, report
from .inprocess import measure_floor
from .loader import prepare_store
from .loadgen import Job, LoadGenerator
from .process import (
    HOST,
    RunningServer,
    free_port,
    running_server,
    style_command,
    twofa_command,
)
from .procstat import cpu_model, filesystem_of
from .scenarios import SCENARIOS
from .servers import available_styles
from .stats import Measurement, Row, combine, group_rounds
from .users import Population

TENANT = "bench"


@dataclass(frozen=True, slots=True)
class Plan:
    """What to run: scenarios at concurrency levels, each for `duration` after `warmup`."""

    scenarios: tuple[str, ...]
    concurrency: tuple[int, ...]
    duration: float
    warmup: float
    rounds: int

    def jobs(self, servers: Sequence[RunningServer], scenarios: Sequence[str]) -> list[Job]:
        # Concurrency outermost, then round, server and scenario: each row is
        # measured right next to its baseline, so drifting noise hits both alike.
        return [
            Job(server.address, server.pid, name, c, self.duration, self.warmup)
            for c in self.concurrency
            for _ in range(self.rounds)
            for server in servers
            for name in scenarios
        ]


def _int_list(text: str) -> tuple[int, ...]:
    values = tuple(int(part) for part in text.split(",") if part.strip())
    if not values or any(v < 1 or v > 1024 for v in values):
        raise argparse.ArgumentTypeError("expected comma-separated whole numbers from 1 to 1024")
    return values


def _scenario_list(text: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown {unknown}; known: {', '.join(SCENARIOS)}")
    return names


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 < value <= 120:
        raise argparse.ArgumentTypeError("expected seconds, more than 0 and at most 120")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    add = parser.add_argument
    add("--duration", type=_seconds, default=5.0, help="measured seconds per row (5)")
    add("--warmup", type=_seconds, default=1.0, help="uncounted seconds before each row (1)")
    add("--rounds", type=int, default=2, help="repeat each row, report the fastest round (2)")
    add("--concurrency", type=_int_list, default=(1, 8, 64), help="in-flight requests (1,8,64)")
    add("--scenarios", type=_scenario_list, default=tuple(SCENARIOS), help="rows of scenarios.py")
    add("--users", type=int, default=20_000, help="enrolled users to pre-load (20000)")
    add("--seed", default="", help="hex seed of the users' secrets (default: random)")
    add("--work-dir", type=Path, help="where the temporary store goes (default: the temp dir)")
    add("--report", type=Path, help="markdown file whose marked blocks receive the tables")
    add(
        "--compare-server-styles",
        action="store_true",
        help="also measure health Check on thread-pool and grpc.aio servers",
    )
    add("--workers", type=int, help="twofa's worker threads (default: the server's default)")
    add("--profile", choices=tuple(SCENARIOS), help="py-spy the server during this scenario")
    args = parser.parse_args(argv)
    if args.users < 1:
        parser.error("--users must be at least 1")
    if not 1 <= args.rounds <= 9:
        parser.error("--rounds must be from 1 to 9")
    if args.workers is not None and args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.profile and pyspy.find_py_spy() is None:
        parser.error("--profile needs py-spy: .venv/bin/pip install py-spy")
    return args


def _environment(plan: Plan, data_dir: Path) -> report.Environment:
    return report.Environment(
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        cores=os.cpu_count() or 0,
        cpu_model=cpu_model(),
        python=platform.python_version(),
        grpcio=grpc.__version__,
        filesystem=filesystem_of(data_dir),
        duration=plan.duration,
        warmup=plan.warmup,
        rounds=plan.rounds,
        load_average=" / ".join(f"{value:.1f}" for value in os.getloadavg()),
    )


def _say(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)


def _run_jobs(
    generator: LoadGenerator, jobs: Sequence[Job], labels: dict[str, str]
) -> list[Measurement]:
    results = []
    for job in jobs:
        m = generator.run(job)
        _say(
            f"{labels[m.target]:28} {m.scenario:15} c={m.concurrency:<3} "
            f"{m.throughput:7,.0f} req/s  p50 {m.p50_ns / 1e6:6.2f} ms  "
            f"p99 {m.p99_ns / 1e6:6.2f} ms  server {m.server_cpu_us_per_request:4.0f} µs/req  "
            f"errors {m.error_count}  mismatches {m.mismatches}"
            + ("  RAN OUT OF USERS" if m.starved else "")
        )
        results.append(m)
    return results


def _profile(
    generator: LoadGenerator, server: RunningServer, plan: Plan, scenario: str, tmp: Path
) -> tuple[pyspy.Profile, list[Measurement]]:
    """Two extra runs of `scenario` at the highest concurrency, under py-spy.

    Their measurements are returned only so that their errors and wrong answers
    are counted like any other's; their numbers are not reported.
    """
    busiest = max(plan.concurrency)
    job = Job(server.address, server.pid, scenario, busiest, plan.duration, 0.0)
    outputs, measured = {}, []
    for gil in (False, True):
        out = tmp / f"py-spy-{'gil' if gil else 'busy'}.txt"
        with pyspy.recording(server.pid, plan.duration, out, gil=gil):
            measured += _run_jobs(generator, [job], {server.address: "twofa under py-spy"})
        outputs[gil] = out
    return pyspy.summarise(outputs[False], outputs[True], plan.duration), measured


def _measure_twofa(
    generator: LoadGenerator,
    plan: Plan,
    population: Population,
    tmp: Path,
    args: argparse.Namespace,
) -> report.TwofaRun:
    data_dir = tmp / "data"
    load = prepare_store(data_dir, population, enabled_at=time.time())
    _say(f"{load.users:,} users loaded in {load.seconds:.2f} s")
    floor = measure_floor(tmp / "floor", population.seed)
    address = f"{HOST}:{free_port()}"
    command = twofa_command(data_dir, address, args.workers)
    with running_server("twofa", command, address, tmp / "twofa.log") as server:
        jobs = plan.jobs([server], plan.scenarios)
        rows = group_rounds(_run_jobs(generator, jobs, {address: "twofa"}))
        peak_rss = server.peak_rss_bytes()
        spied: pyspy.Profile | None = None
        unreported: list[Measurement] = []
        if args.profile:
            spied, unreported = _profile(generator, server, plan, args.profile, tmp)
    data_bytes_after = (data_dir / "data.mdb").stat().st_size
    # Rows of the profiled runs join the error count, not the tables.
    checked = rows + [combine([m]) for m in unreported]
    return report.TwofaRun(load, floor, rows, peak_rss, data_bytes_after, spied, checked)


def _compare_styles(
    generator: LoadGenerator, plan: Plan, tmp: Path
) -> tuple[list[Row], dict[str, str]]:
    """Health Check on every server style, all up at once and measured in turns."""
    labels: dict[str, str] = {}
    with ExitStack() as stack:
        servers = []
        for index, style in enumerate(available_styles()):
            address = f"{HOST}:{free_port()}"
            labels[address] = style.label
            store = ("--commit-dir", str(tmp / f"style-{index}-store")) if style.commits else ()
            command = style_command((*style.args, *store), address)
            log = tmp / f"style-{index}.log"
            servers.append(stack.enter_context(running_server(style.label, command, address, log)))
        results = _run_jobs(generator, plan.jobs(servers, ["health"]), labels)
        return group_rounds(results), labels


def _write(args: argparse.Namespace, blocks: Sequence[tuple[str, str, str]]) -> None:
    """Prints each block and, with --report, puts it between its markers in the file."""
    for begin, end, block in blocks:
        print(block + "\n")
        if args.report:
            report.write_block(args.report, begin, end, block)
    if args.report:
        _say(f"wrote {args.report}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    plan = Plan(args.scenarios, args.concurrency, args.duration, args.warmup, args.rounds)
    seed = bytes.fromhex(args.seed) if args.seed else os.urandom(16)
    population = Population(TENANT, args.users, seed)
    styles: tuple[list[Row], dict[str, str]] | None = None
    with (
        tempfile.TemporaryDirectory(prefix="twofa-bench-", dir=args.work_dir) as tmp_name,
        LoadGenerator(population) as generator,
    ):
        tmp = Path(tmp_name)
        env = _environment(plan, tmp)
        run = _measure_twofa(generator, plan, population, tmp, args)
        if args.compare_server_styles:
            styles = _compare_styles(generator, plan, tmp)
    total = time.monotonic() - started
    blocks = [(report.BEGIN, report.END, report.main_block(env, run, total))]
    if styles:
        blocks.append((report.STYLES_BEGIN, report.STYLES_END, report.styles_block(env, *styles)))
    if run.profile:
        busiest = max(plan.concurrency)
        spied = report.profile_block(env, args.profile, busiest, run.profile)
        blocks.append((report.PROFILE_BEGIN, report.PROFILE_END, spied))
    _write(args, blocks)
    failed = [
        row
        for row in run.checked + (styles[0] if styles else [])
        if row.best.error_count or row.best.mismatches
    ]
    failed_floor = [row for row in run.floor if row.mismatches]
    if failed or failed_floor:
        _say(f"{len(failed) + len(failed_floor)} rows had errors or mismatched answers")
        return 1
    if any(row.best.starved for row in run.rows):
        _say("WARNING: the users ran out in some rows; raise --users")
    return 0


if __name__ == "__main__":
    sys.exit(main())
