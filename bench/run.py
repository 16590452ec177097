"""``python -m bench.run``: load the store, start twofa, run the scenario table, report.

See bench/README.md for what is measured and why; ``make bench`` runs
``python -m bench.run --report bench/README.md``: twofa on LMDB, and on a
throwaway PostgreSQL cluster with one instance and two (``--stores``). Two other modes serve two
twofa servers at once and measure them in turns: ``--against REV`` compares
this tree's server with REV's on copies of one store, and ``--users 1000000``
(or any ``--compare-users N``) a big store with a small one.
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
from datetime import UTC, datetime
from pathlib import Path

import grpc

from . import against_report, bigstore, postgres_report, report, twofa_lmdb, twofa_postgres
from .against import AgainstFailed, compare_builds, worktree
from .inprocess import measure_floor
from .loadgen import LoadGenerator, LoadGeneratorFailed
from .plan import MIXED, Plan, measure
from .postgres_cluster import PostgresMissing, running_cluster
from .postgres_report import LMDB, POSTGRES, POSTGRES_TWO
from .process import ServerFailed
from .procstat import cpu_model, filesystem_of
from .progress import say
from .scenarios import MIX_BESIDE_COUNTS, SCENARIOS, mixes
from .stats import Row
from .targets import Fleet, Measured, started, this_build
from .users import Population

TENANT = "bench"
# From this many --users on, the run compares with a small store by default.
BIG_STORE_USERS = 100_000
DEFAULT_COMPARE_USERS = 1_000
# (duration, warm-up, rounds) of each mode's rows, unless given. Comparisons use
# shorter rows and more rounds: each round puts the two servers' rows seconds
# apart. The small store's users allow 19 wrong codes each (bench/book.py),
# 19,000 for 1,000 users, which 4 rounds of 0.3 + 1.0 s at c=64 stay below up
# to about 3,600 req/s.
MAIN_ROWS = (4.0, 1.0, 2)
USERS_ROWS = (1.0, 0.3, 4)
AGAINST_ROWS = (2.0, 0.5, 3)
STORES = ("lmdb", "postgres")
# Scenarios the PostgreSQL targets skip: set-ups cost QR rendering in the server,
# whatever the store (the LMDB rows show it), and so do the mixed rows.
POSTGRES_SKIPS = ("begin_setup", MIXED)


def _int_list(text: str) -> tuple[int, ...]:
    values = tuple(int(part) for part in text.split(",") if part.strip())
    if not values or any(v < 1 or v > 1024 for v in values):
        raise argparse.ArgumentTypeError("expected comma-separated whole numbers from 1 to 1024")
    return values


def _counts_or_none(text: str) -> tuple[int, ...]:
    return () if text.strip() in ("", "none", "0") else _int_list(text)


def _scenario_list(text: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown {unknown}; known: {', '.join(SCENARIOS)}")
    return names


def _store_list(text: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    if not names or any(name not in STORES for name in names):
        raise argparse.ArgumentTypeError(f"expected some of {', '.join(STORES)}")
    return tuple(name for name in STORES if name in names)


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 < value <= 120:
        raise argparse.ArgumentTypeError("expected seconds, more than 0 and at most 120")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    add = parser.add_argument
    add("--duration", type=_seconds, help="measured seconds per row (4; 2 --against; 1 users)")
    add("--warmup", type=_seconds, help="uncounted seconds before each row (1; 0.5; 0.3)")
    add("--rounds", type=int, help="runs of each row, the fastest reported (2; 3; 4)")
    add("--concurrency", type=_int_list, default=(1, 8, 64), help="in-flight requests (1,8,64)")
    add("--scenarios", type=_scenario_list, default=tuple(SCENARIOS), help="rows of scenarios.py")
    add(
        "--mixed-setups",
        type=_counts_or_none,
        default=MIX_BESIDE_COUNTS,
        help="the mixed rows: VerifyCode c=8 beside this many BeginAuthenticatorSetup "
        "calls each (4,16; none: no mixed rows; never with --compare-users)",
    )
    add(
        "--stores",
        type=_store_list,
        default=STORES,
        help="the main run's stores (lmdb,postgres): twofa on LMDB; on PostgreSQL, one "
        "instance and two on one database, in a throwaway cluster",
    )
    add("--users", type=int, default=20_000, help="enrolled users to pre-load (20000)")
    add(
        "--compare-users",
        type=int,
        help="also serve a store of this many users and compare it with --users' store "
        f"(default: {DEFAULT_COMPARE_USERS:,} from --users {BIG_STORE_USERS:,} on, else "
        "none; 0: none). Writes only the users block of --report.",
    )
    add(
        "--against",
        metavar="REV",
        help="also serve REV's server (a temporary git worktree) on a copy of the store, in "
        "turns with this tree's; writes only the against block of --report",
    )
    add("--seed", default="", help="hex seed of the users' secrets (default: random)")
    add("--work-dir", type=Path, help="where the temporary store goes (default: the temp dir)")
    add("--report", type=Path, help="markdown file whose marked block receives the tables")
    add(
        "--workers",
        type=int,
        help="twofa's QR renderer processes at most (default: the server's default)",
    )
    args = parser.parse_args(argv)
    if args.users < 1:
        parser.error("--users must be at least 1")
    if args.workers is not None and args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.compare_users is None:
        big = args.users >= BIG_STORE_USERS and not args.against
        args.compare_users = DEFAULT_COMPARE_USERS if big else 0
    if args.compare_users < 0:
        parser.error("--compare-users must be 0 (none) or more")
    if args.compare_users and args.against:
        parser.error("--against and --compare-users run alone, one at a time")
    if (args.compare_users or args.against) and "health" not in args.scenarios:
        parser.error("a comparison needs the health scenario: it is the baseline")
    if args.compare_users:
        args.mixed_setups = ()
    rows = AGAINST_ROWS if args.against else USERS_ROWS if args.compare_users else MAIN_ROWS
    args.duration = args.duration or rows[0]
    args.warmup = args.warmup or rows[1]
    args.rounds = args.rounds or rows[2]
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


def _measure_main(
    generator: LoadGenerator,
    plan: Plan,
    population: Population,
    tmp: Path,
    workers: int | None,
    stores: tuple[str, ...],
) -> report.MainRun:
    """The scenario table and the mixed rows on each store's targets, and the in-process
    floor.

    LMDB: one twofa on the loaded store. PostgreSQL: the same store copied into a
    database of a throwaway cluster, one twofa on it ("postgres"), and that one
    with a second beside it as one target (POSTGRES_TWO), measured in turns.
    """
    build = this_build()
    store = twofa_lmdb.load(tmp / "data", population)
    floor = measure_floor(tmp / "floor", population.seed)
    with ExitStack() as stack:
        targets: list[Measured] = []
        database = None
        if POSTGRES in stores:
            cluster = stack.enter_context(running_cluster(tmp / "postgres"))
            database = twofa_postgres.load(cluster, store, build)  # before LMDB serves it
        lmdb = None
        if LMDB in stores:
            lmdb = stack.enter_context(started(twofa_lmdb.spec(LMDB, store, build, workers), tmp))
            targets.append(lmdb)
        if database is not None:
            # The second instance serves only the two-instance rows; both share one book.
            first = twofa_postgres.spec(POSTGRES, database, build, workers, POSTGRES)
            second = twofa_postgres.spec(f"{POSTGRES} 2", database, build, workers, POSTGRES)
            one = stack.enter_context(started(first, tmp))
            two = stack.enter_context(started(second, tmp))
            targets += [one, Fleet(POSTGRES_TWO, (one, two))]
            database.reset_statements()  # from here on, only the rows' statements
        skip = {label: POSTGRES_SKIPS for label in (POSTGRES, POSTGRES_TWO)}
        rows = measure(generator, plan.jobs(targets, skip), targets)
        end_memory = lmdb.memory() if lmdb else targets[0].memory()
        postgres = postgres_report.finish(database) if database else None
    return report.MainRun(store.load, floor, rows, end_memory, store.data_bytes(), postgres)


def _checked(rows: Sequence[Row], ran_out: str) -> int:
    """The exit status: 1 if any row had errors or wrong answers; warns if users ran out."""
    failed = [row for row in rows if row.best.error_count or row.best.mismatches]
    if failed:
        say(f"{len(failed)} rows had errors or mismatched answers")
        return 1
    if any(row.best.starved for row in rows):
        say(f"WARNING: the users ran out in some rows; {ran_out}")
    return 0


def _run(args: argparse.Namespace, plan: Plan, population: Population, tmp: Path) -> int:
    """Runs the mode `args` asks for; prints its block and writes it into --report."""
    started_at = time.monotonic()
    env = _environment(plan, tmp)
    with LoadGenerator() as generator:
        if args.against:
            with worktree(args.against, tmp / "against-tree") as other:
                run = compare_builds(generator, plan, population, other, tmp, args.workers)
            block = against_report.against_block(env, run, time.monotonic() - started_at)
            marks, rows = (against_report.BEGIN, against_report.END), run.rows
            status = 1 if run.failed is not None else 0
            ran_out = "shorten the rows or raise --users"
        elif args.compare_users:
            small = Population(TENANT, args.compare_users, population.seed)
            users = bigstore.compare_users(generator, plan, (population, small), tmp, args.workers)
            block = bigstore.users_block(env, users, time.monotonic() - started_at)
            marks, rows, status = (bigstore.BEGIN, bigstore.END), users.rows, 0
            ran_out = "shorten --duration or the rows"
        else:
            main = _measure_main(generator, plan, population, tmp, args.workers, args.stores)
            block = report.main_block(env, main, time.monotonic() - started_at)
            marks, rows = (report.BEGIN, report.END), main.rows
            status = 1 if any(row.mismatches for row in main.floor) else 0
            ran_out = "raise --users"
    print(block + "\n")
    if args.report:
        report.write_block(args.report, *marks, block)
        say(f"wrote {args.report}")
    return max(status, _checked(rows, ran_out))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    plan = Plan(
        args.scenarios,
        args.concurrency,
        args.duration,
        args.warmup,
        args.rounds,
        mixes(args.mixed_setups),
    )
    seed = bytes.fromhex(args.seed) if args.seed else os.urandom(16)
    population = Population(TENANT, args.users, seed)
    try:
        with tempfile.TemporaryDirectory(prefix="twofa-bench-", dir=args.work_dir) as tmp:
            return _run(args, plan, population, Path(tmp))
    except (
        AgainstFailed,
        ServerFailed,
        LoadGeneratorFailed,
        PostgresMissing,
        twofa_postgres.CopyFailed,
    ) as failure:
        say(f"failed: {failure}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
