"""``python -m bench.research.styles``: bare health Check on each server style, in turns.

Starts every style of bench/research/servers.py at once (thread pools of 16, 8
and 4; grpc.aio; and three that make a durable LMDB commit per call) and
measures health Check on each with the bench's load generator, for each
concurrency in turn, so that they share the same moment's noise. Prints a table
whose ratios are to the first style (the 16-thread server, bare).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from ..loadgen import LoadGenerator
from ..plan import Plan, measure
from ..process import HOST, free_port
from ..stats import Row
from ..tables import cores, cpu, ms, problems, ratio, throughput
from ..targets import ServerSpec, started
from .servers import available_styles


def style_specs(tmp: Path) -> list[ServerSpec]:
    """One health-only server per style; the committing ones each get a store of their own."""
    specs = []
    for index, style in enumerate(available_styles()):
        address = f"{HOST}:{free_port()}"
        store = ("--commit-dir", str(tmp / f"style-{index}-store")) if style.commits else ()
        command = (sys.executable, "-m", "bench.research.servers", *style.args, *store)
        specs.append(
            ServerSpec(style.label, (*command, "--listen", address), address, settle=False)
        )
    return specs


def styles_table(rows: Sequence[Row]) -> list[str]:
    """Bare health Check per style, with the ratio to the first style at the same c."""
    first = rows[0].best.target if rows else ""
    base = {r.best.concurrency: r.best.throughput for r in rows if r.best.target == first}
    lines = [
        f"| server | c | req/s | vs {first} | p50 ms | p99 ms | server CPU µs/req (kernel) "
        "| cores busy: server + client + others | errors |",
        "|---|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for row in rows:
        m = row.best
        lines.append(
            f"| {m.target} | {m.concurrency} | {throughput(row)} "
            f"| {ratio(m.throughput, base.get(m.concurrency))} | {ms(m.p50_ns)} "
            f"| {ms(m.p99_ns)} | {cpu(m)} | {cores(m)} | {problems(row)} |"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.research.styles", description=__doc__)
    parser.add_argument("--duration", type=float, default=3.0, help="measured seconds per row")
    parser.add_argument("--rounds", type=int, default=2, help="rounds; the fastest is shown")
    parser.add_argument("--concurrency", default="1,8,64", help="in-flight requests")
    args = parser.parse_args(argv)
    concurrency = tuple(int(c) for c in args.concurrency.split(","))
    plan = Plan(("health",), concurrency, args.duration, 1.0, args.rounds)
    with (
        tempfile.TemporaryDirectory(prefix="twofa-styles-") as tmp,
        LoadGenerator() as generator,
        ExitStack() as stack,
    ):
        targets = [stack.enter_context(started(s, Path(tmp))) for s in style_specs(Path(tmp))]
        rows = measure(generator, plan.jobs(targets), targets)
    print("\n".join(styles_table(rows)))
    return 1 if any(row.best.error_count or row.best.mismatches for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
