"""``python -m bench.run``: load the store, start twofa, run the scenario table, report.

See bench/README.md for what is measured and why; ``make bench`` runs
``python -m bench.run --report bench/README.md``. With ``--users 1000000`` (or
any ``--compare-users N``) it instead compares a big store with a small one,
both served at once and measured in turns.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import grpc

from . import pyspy, report
from .inprocess import measure_floor
from .loader import LoadReport, map_size_mb_for, prepare_store
from .loadgen import MAIN, Job, LoadGenerator
from .process import (
    HOST,
    RunningServer,
    committed_transactions,
    free_port,
    running_server,
    style_command,
    twofa_command,
    wait_idle,
)
from .procstat import cpu_model, filesystem_of, memory
from .scenarios import SCENARIOS
from .servers import available_styles
from .stats import Measurement, Row, combine, group_rounds
from .users import Population

TENANT = "bench"
COMPARE = "compare"  # the population of the small store in --compare-users runs
# From this many --users on, the run compares with a small store by default.
BIG_STORE_USERS = 100_000
DEFAULT_COMPARE_USERS = 1_000
# Rows of a comparison run unless given: short and many, since the noise of two
# health baselines enters the comparison. The small store's users allow 19 wrong
# codes each (bench/book.py), 19,000 for 1,000 users, which 4 rounds of
# 0.3 + 1.0 s at c=64 stay below up to about 3,600 req/s.
COMPARE_DURATION, COMPARE_WARMUP, COMPARE_ROUNDS = 1.0, 0.3, 4
DEFAULT_DURATION, DEFAULT_WARMUP, DEFAULT_ROUNDS = 5.0, 1.0, 2
# Scenarios a small store cannot feed, and why. verify_correct needs a fresh
# time step per request; a user has 3, then 1 more every 30 s.
SMALL_STORE_SKIPS = {
    "verify_correct": "a user allows 3 fresh codes, then 1 per 30 s: 3,000 in all "
    "for 1,000 users, about 1 s of c=64",
}


@dataclass(frozen=True, slots=True)
class Target:
    """A server under test, whose store holds `population`, and the scenarios it runs."""

    server: RunningServer
    population: str
    scenarios: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Plan:
    """What to run: scenarios at concurrency levels, each for `duration` after `warmup`."""

    scenarios: tuple[str, ...]
    concurrency: tuple[int, ...]
    duration: float
    warmup: float
    rounds: int

    def jobs(self, targets: Sequence[Target]) -> list[Job]:
        # Concurrency outermost, then round, server and scenario: each row is
        # measured right next to its baseline, so drifting noise hits both alike.
        return [
            Job(
                t.server.address,
                t.server.pid,
                name,
                c,
                self.duration,
                self.warmup,
                t.population,
            )
            for c in self.concurrency
            for _ in range(self.rounds)
            for t in targets
            for name in t.scenarios
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
    add("--duration", type=_seconds, help="measured seconds per row (5; 1.0 with --compare-users)")
    add(
        "--warmup",
        type=_seconds,
        help="uncounted seconds before each row (1; 0.3 with --compare-users)",
    )
    add(
        "--rounds",
        type=int,
        help="repeat each row, report the fastest round (2; 4 with --compare-users)",
    )
    add("--concurrency", type=_int_list, default=(1, 8, 64), help="in-flight requests (1,8,64)")
    add("--scenarios", type=_scenario_list, default=tuple(SCENARIOS), help="rows of scenarios.py")
    add("--users", type=int, default=20_000, help="enrolled users to pre-load (20000)")
    add(
        "--compare-users",
        type=int,
        help="also serve a store of this many users and compare it with --users' store "
        f"(default: {DEFAULT_COMPARE_USERS:,} from --users {BIG_STORE_USERS:,} on, else "
        "none; 0: none). Writes only the users block of --report.",
    )
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
    if args.workers is not None and args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.profile and pyspy.find_py_spy() is None:
        parser.error("--profile needs py-spy: .venv/bin/pip install py-spy")
    if args.compare_users is None:
        args.compare_users = DEFAULT_COMPARE_USERS if args.users >= BIG_STORE_USERS else 0
    if args.compare_users < 0:
        parser.error("--compare-users must be 0 (none) or more")
    comparing = args.compare_users > 0
    if comparing and (args.profile or args.compare_server_styles):
        parser.error("--compare-users runs alone: without --profile and --compare-server-styles")
    if comparing and "health" not in args.scenarios:
        parser.error("--compare-users needs the health scenario: it is the baseline")
    if args.duration is None:
        args.duration = COMPARE_DURATION if comparing else DEFAULT_DURATION
    if args.warmup is None:
        args.warmup = COMPARE_WARMUP if comparing else DEFAULT_WARMUP
    if args.rounds is None:
        args.rounds = COMPARE_ROUNDS if comparing else DEFAULT_ROUNDS
    if not 1 <= args.rounds <= 9:
        parser.error("--rounds must be from 1 to 9")
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
    generator: LoadGenerator,
    jobs: Sequence[Job],
    labels: dict[str, str],
    stores: Mapping[str, Path] | None = None,
) -> list[Measurement]:
    """Runs each job; for a target whose store is in `stores` (by address), counts commits."""
    results = []
    for job in jobs:
        store = (stores or {}).get(job.target)
        before = committed_transactions(store) if store is not None else 0
        m = generator.run(job)
        # The server's memory just after the row; the parent has nothing else to do.
        m = dataclasses.replace(
            m,
            server_memory=memory(job.target_pid),
            commits=committed_transactions(store) - before if store is not None else None,
        )
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
    outputs: dict[bool, Path] = {}
    measured: list[Measurement] = []
    for gil in (False, True):
        out = tmp / f"py-spy-{'gil' if gil else 'busy'}.txt"
        with pyspy.recording(server.pid, plan.duration, out, gil=gil):
            measured += _run_jobs(generator, [job], {server.address: "twofa under py-spy"})
        outputs[gil] = out
    return pyspy.summarise(outputs[False], outputs[True], plan.duration), measured


def _load(data_dir: Path, population: Population) -> tuple[LoadReport, int]:
    """Fills a store for `population`; returns what was loaded and the map size it needs."""
    map_size_mb = map_size_mb_for(population.count)
    load = prepare_store(data_dir, population, time.time(), map_size_mb)
    _say(
        f"{load.users:,} users loaded in {load.seconds:.2f} s "
        f"({load.data_file_bytes / report.MEBIBYTE:.0f} MiB, map size {map_size_mb} MiB)"
    )
    return load, map_size_mb


def _start_twofa(
    stack: ExitStack, data_dir: Path, map_size_mb: int, label: str, tmp: Path, workers: int | None
) -> tuple[RunningServer, float]:
    """Starts twofa on `data_dir` and waits until its start-up work is over."""
    address = f"{HOST}:{free_port()}"
    command = twofa_command(data_dir, address, workers, map_size_mb)
    log = tmp / f"{label}.log"
    server = stack.enter_context(running_server(label, command, address, log))
    settled = wait_idle(server)
    _say(f"{label} serving; idle {settled:.1f} s after answering its first health check")
    return server, settled


def _measure_twofa(
    generator: LoadGenerator,
    plan: Plan,
    population: Population,
    tmp: Path,
    args: argparse.Namespace,
) -> report.TwofaRun:
    data_dir = tmp / "data"
    load, map_size_mb = _load(data_dir, population)
    floor = measure_floor(tmp / "floor", population.seed)
    with ExitStack() as stack:
        server, _ = _start_twofa(stack, data_dir, map_size_mb, "twofa", tmp, args.workers)
        jobs = plan.jobs([Target(server, MAIN, plan.scenarios)])
        rows = group_rounds(
            _run_jobs(generator, jobs, {server.address: "twofa"}, {server.address: data_dir})
        )
        end_memory = server.memory()
        spied: pyspy.Profile | None = None
        unreported: list[Measurement] = []
        if args.profile:
            spied, unreported = _profile(generator, server, plan, args.profile, tmp)
    data_bytes_after = (data_dir / "data.mdb").stat().st_size
    # Rows of the profiled runs join the error count, not the tables.
    checked = rows + [combine([m]) for m in unreported]
    return report.TwofaRun(load, floor, rows, end_memory, data_bytes_after, spied, checked)


def _compare_users(
    generator: LoadGenerator,
    plan: Plan,
    populations: dict[str, Population],
    tmp: Path,
    args: argparse.Namespace,
) -> report.UsersRun:
    """The big store and the small one, both served at once, measured in turns.

    Each store's rows have their own health baseline, taken seconds apart, so
    the two ratios to health can be compared even when the machine's load drifts.
    """
    small_scenarios = tuple(name for name in plan.scenarios if name not in SMALL_STORE_SKIPS)
    skipped = {
        name: SMALL_STORE_SKIPS[name] for name in plan.scenarios if name not in small_scenarios
    }
    stores: list[report.StoreRun] = []
    with ExitStack() as stack:
        targets, started = [], []
        for key, scenarios in ((MAIN, plan.scenarios), (COMPARE, small_scenarios)):
            population = populations[key]
            data_dir = tmp / f"data-{population.count}"
            load, map_size_mb = _load(data_dir, population)
            label = f"{population.count:,} users"
            server, settled = _start_twofa(stack, data_dir, map_size_mb, label, tmp, args.workers)
            targets.append(Target(server, key, scenarios))
            started.append((load, data_dir, server, settled, server.memory()))
        labels = {t.server.address: f"{populations[t.population].count:,} users" for t in targets}
        data_dirs = {server.address: data_dir for _, data_dir, server, _, _ in started}
        rows = group_rounds(_run_jobs(generator, plan.jobs(targets), labels, data_dirs))
        for load, data_dir, server, settled, idle in started:
            stores.append(
                report.StoreRun(
                    label=labels[server.address],
                    target=server.address,
                    load=load,
                    settle_seconds=settled,
                    idle_memory=idle,
                    end_memory=server.memory(),
                    data_bytes_after=(data_dir / "data.mdb").stat().st_size,
                )
            )
    return report.UsersRun(stores, rows, skipped)


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
        targets = [Target(server, MAIN, ("health",)) for server in servers]
        results = _run_jobs(generator, plan.jobs(targets), labels)
        return group_rounds(results), labels


def _write(args: argparse.Namespace, blocks: Sequence[tuple[str, str, str]]) -> None:
    """Prints each block and, with --report, puts it between its markers in the file."""
    for begin, end, block in blocks:
        print(block + "\n")
        if args.report:
            report.write_block(args.report, begin, end, block)
    if args.report:
        _say(f"wrote {args.report}")


def _main_compare(args: argparse.Namespace, plan: Plan, seed: bytes, started: float) -> int:
    """--compare-users: a big and a small store; writes only the users block."""
    populations = {
        MAIN: Population(TENANT, args.users, seed),
        COMPARE: Population(TENANT, args.compare_users, seed),
    }
    with (
        tempfile.TemporaryDirectory(prefix="twofa-bench-", dir=args.work_dir) as tmp_name,
        LoadGenerator(populations) as generator,
    ):
        tmp = Path(tmp_name)
        env = _environment(plan, tmp)
        run = _compare_users(generator, plan, populations, tmp, args)
    total = time.monotonic() - started
    block = report.users_block(env, run, total)
    _write(args, [(report.USERS_BEGIN, report.USERS_END, block)])
    failed = [row for row in run.rows if row.best.error_count or row.best.mismatches]
    if failed:
        _say(f"{len(failed)} rows had errors or mismatched answers")
        return 1
    if any(row.best.starved for row in run.rows):
        _say("WARNING: the users ran out in some rows; shorten --duration or the rows")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    plan = Plan(args.scenarios, args.concurrency, args.duration, args.warmup, args.rounds)
    seed = bytes.fromhex(args.seed) if args.seed else os.urandom(16)
    if args.compare_users:
        return _main_compare(args, plan, seed, started)
    population = Population(TENANT, args.users, seed)
    styles: tuple[list[Row], dict[str, str]] | None = None
    with (
        tempfile.TemporaryDirectory(prefix="twofa-bench-", dir=args.work_dir) as tmp_name,
        LoadGenerator({MAIN: population}) as generator,
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
