"""``python -m bench.research.profile SCENARIO``: where twofa's time goes, by py-spy.

Loads the bench's store, starts twofa, and runs SCENARIO twice at one
concurrency: once under py-spy's default mode (threads that are running or
runnable; the share of those samples that include each server frame) and once
under ``--gil`` (only the thread holding the GIL: samples taken against samples
asked for is how busy the interpreter was). py-spy is optional:
``.venv/bin/pip install py-spy``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from .. import twofa_lmdb, twofa_postgres
from ..loadgen import LoadGenerator
from ..plan import Plan, measure
from ..postgres_cluster import running_cluster
from ..scenarios import SCENARIOS
from ..targets import started, this_build
from ..users import Population
from . import pyspy


def profile_lines(scenario: str, concurrency: int, spied: pyspy.Profile) -> list[str]:
    lines = [
        f"py-spy on the twofa server during `{scenario}` at c={concurrency} "
        f"({spied.samples:,} samples of running or runnable threads): the GIL was held in "
        f"{spied.gil_share:.0%} of the `--gil` samples asked for.",
        "",
        "| share of busy-thread samples | frame (function, file:line) |",
        "|--:|---|",
    ]
    lines += [f"| {share:.0%} | `{frame}` |" for frame, share in spied.inclusive]
    lines += ["", "| share of GIL-held samples | frame (function, file:line) |", "|--:|---|"]
    return lines + [f"| {share:.0%} | `{frame}` |" for frame, share in spied.gil_inclusive]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.research.profile", description=__doc__)
    parser.add_argument("scenario", choices=tuple(SCENARIOS))
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument(
        "--store",
        choices=("lmdb", "postgres"),
        default="lmdb",
        help="twofa on LMDB, or on PostgreSQL in a throwaway cluster (bench/twofa_postgres.py)",
    )
    args = parser.parse_args(argv)
    if pyspy.find_py_spy() is None:
        parser.error("py-spy is not installed: .venv/bin/pip install py-spy")
    plan = Plan((args.scenario,), (args.concurrency,), args.duration, 0.0, 1)
    population = Population("bench", args.users, os.urandom(16))
    with (
        tempfile.TemporaryDirectory(prefix="twofa-profile-") as name,
        LoadGenerator() as gen,
        ExitStack() as stack,
    ):
        tmp = Path(name)
        store = twofa_lmdb.load(tmp / "data", population)
        spec = twofa_lmdb.spec("twofa", store, this_build())
        if args.store == "postgres":
            cluster = stack.enter_context(running_cluster(tmp / "postgres"))
            database = twofa_postgres.load(cluster, store, this_build())
            spec = twofa_postgres.spec("twofa", database, this_build())
        with started(spec, tmp) as target:
            # Unrecorded: a pool of database connections grows on demand.
            warmup = dataclasses.replace(plan, duration=1.0)
            measure(gen, warmup.jobs([target]), [target])
            outputs = {}
            for gil in (False, True):
                outputs[gil] = tmp / f"py-spy-{'gil' if gil else 'busy'}.txt"
                with pyspy.recording(target.pid, args.duration, outputs[gil], gil=gil):
                    rows = measure(gen, plan.jobs([target]), [target])
        spied = pyspy.summarise(outputs[False], outputs[True], args.duration)
    print("\n".join(profile_lines(args.scenario, args.concurrency, spied)))
    return 1 if any(row.best.error_count or row.best.mismatches for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
