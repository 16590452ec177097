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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import grpc

from . import report
from .loader import prepare_store
from .loadgen import Job, LoadGenerator
from .process import HOST, free_port, running_server, style_command, twofa_command
from .procstat import cpu_model, filesystem_of
from .scenarios import SCENARIOS
from .servers import available_styles
from .stats import Measurement
from .users import Population

TENANT = "bench"


@dataclass(frozen=True, slots=True)
class Plan:
    """What to run: scenarios at concurrency levels, each for `duration` after `warmup`."""

    scenarios: tuple[str, ...]
    concurrency: tuple[int, ...]
    duration: float
    warmup: float

    def jobs(self, address: str, pid: int, scenarios: Sequence[str]) -> list[Job]:
        # Concurrency outermost: each scenario is measured right after its
        # baseline at the same concurrency, so drifting machine noise hits both.
        return [
            Job(address, pid, name, c, self.duration, self.warmup)
            for c in self.concurrency
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


def _positive(text: str) -> float:
    value = float(text)
    if not 0 < value <= 120:
        raise argparse.ArgumentTypeError("expected seconds, more than 0 and at most 120")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--duration", type=_positive, default=5.0, help="seconds measured per row")
    parser.add_argument("--warmup", type=_positive, default=1.0, help="uncounted seconds first")
    parser.add_argument("--concurrency", type=_int_list, default=(1, 8, 64))
    parser.add_argument(
        "--scenarios", type=_scenario_list, default=tuple(SCENARIOS), help="from scenarios.py"
    )
    parser.add_argument("--users", type=int, default=20_000, help="enrolled users to pre-load")
    parser.add_argument("--seed", default="", help="hex seed of the users' secrets (random)")
    parser.add_argument("--work-dir", type=Path, help="parent of the temporary data dir")
    parser.add_argument("--report", type=Path, help="markdown file to write the tables into")
    parser.add_argument(
        "--compare-server-styles",
        action="store_true",
        help="also measure bare health Check on thread-pool and grpc.aio servers",
    )
    args = parser.parse_args(argv)
    if args.users < 1:
        parser.error("--users must be at least 1")
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
    )


def _run_jobs(generator: LoadGenerator, jobs: Sequence[Job], label: str) -> list[Measurement]:
    results = []
    for job in jobs:
        m = generator.run(job)
        print(
            f"  {label:32} {m.scenario:15} c={m.concurrency:<3} {m.throughput:8,.0f} req/s  "
            f"p50 {m.p50_ns / 1e6:6.2f} ms  p99 {m.p99_ns / 1e6:6.2f} ms  "
            f"server {m.server_cpu_us_per_request:4.0f} µs/req  "
            f"errors {m.error_count}  mismatches {m.mismatches}"
            + ("  RAN OUT OF USERS" if m.starved else ""),
            file=sys.stderr,
            flush=True,
        )
        results.append(m)
    return results


def _compare_styles(
    generator: LoadGenerator, plan: Plan, tmp: Path
) -> tuple[list[Measurement], dict[str, str]]:
    results: list[Measurement] = []
    labels: dict[str, str] = {}
    for index, style in enumerate(available_styles()):
        address = f"{HOST}:{free_port()}"
        labels[address] = style.label
        command = style_command(style.args, address)
        with running_server(style.label, command, address, tmp / f"style-{index}.log") as server:
            results += _run_jobs(generator, plan.jobs(address, server.pid, ["health"]), style.label)
    return results, labels


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    plan = Plan(args.scenarios, args.concurrency, args.duration, args.warmup)
    seed = bytes.fromhex(args.seed) if args.seed else os.urandom(16)
    population = Population(TENANT, args.users, seed)
    with tempfile.TemporaryDirectory(prefix="twofa-bench-", dir=args.work_dir) as tmp_name:
        tmp = Path(tmp_name)
        data_dir = tmp / "data"
        load = prepare_store(data_dir, population, enabled_at=time.time())
        print(f"bench: {load.users:,} users loaded in {load.seconds:.2f} s", file=sys.stderr)
        env = _environment(plan, data_dir)
        with LoadGenerator(population) as generator:
            address = f"{HOST}:{free_port()}"
            command = twofa_command(data_dir, address)
            with running_server("twofa", command, address, tmp / "twofa.log") as server:
                jobs = plan.jobs(address, server.pid, plan.scenarios)
                results = _run_jobs(generator, jobs, "twofa")
                peak_rss = server.peak_rss_bytes()
            data_bytes_after = (data_dir / "data.mdb").stat().st_size
            styles: tuple[list[Measurement], dict[str, str]] | None = None
            if args.compare_server_styles:
                styles = _compare_styles(generator, plan, tmp)
    total = time.monotonic() - started
    block = report.main_block(env, load, results, peak_rss, data_bytes_after, total)
    styles_block = report.styles_block(env, *styles) if styles else None
    if args.report:
        report.write_block(args.report, report.BEGIN, report.END, block)
        if styles_block:
            report.write_block(args.report, report.STYLES_BEGIN, report.STYLES_END, styles_block)
        print(f"bench: wrote {args.report}", file=sys.stderr)
    print(block)
    if styles_block:
        print("\n" + styles_block)
    failed = [m for m in results if m.error_count or m.mismatches]
    if failed:
        print(f"bench: {len(failed)} rows had errors or mismatched answers", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
