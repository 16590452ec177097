"""What to run, in which order, and the measuring of it against any targets.

Rows are run with concurrency outermost, then round, scenario and target: each
row is measured seconds after its health baseline, and the targets' rows of one
scenario back to back, so drifting noise hits them alike. The mixed phase
follows: per round, the mixes' main load alone, then each mix, on each target.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from .loadgen import Job, LoadGenerator
from .progress import say
from .scenarios import Load, Mix
from .stats import Measurement, Row, group_rounds
from .targets import Measured

MIXED = "mixed"  # the phase of the mixed-load rows


@dataclass(frozen=True, slots=True)
class Plan:
    """Scenarios at concurrency levels and mixes, each row `duration` s after `warmup`."""

    scenarios: tuple[str, ...]
    concurrency: tuple[int, ...]
    duration: float
    warmup: float
    rounds: int
    mixes: tuple[Mix, ...] = ()

    def jobs(
        self, targets: Sequence[Measured], skip: Mapping[str, Collection[str]] | None = None
    ) -> list[Job]:
        """Every row of every round.

        `skip` names the scenarios a target (by label) does not run; a target
        whose skips name MIXED has no mixed rows.
        """
        skip = skip or {}
        jobs = [
            self._job(target, (Load(name, c),), round_)
            for c in self.concurrency
            for round_ in range(self.rounds)
            for name in self.scenarios
            for target in targets
            if name not in skip.get(target.label, ())
        ]
        alone = list(dict.fromkeys(mix.main for mix in self.mixes))
        jobs += [
            self._job(target, loads, round_, MIXED)
            for round_ in range(self.rounds)
            for loads in [(main,) for main in alone] + [(m.main, m.beside) for m in self.mixes]
            for target in targets
            if MIXED not in skip.get(target.label, ())
        ]
        return jobs

    def _job(self, target: Measured, loads: tuple[Load, ...], round_: int, phase: str = "") -> Job:
        database = target.database
        return Job(
            target.label,
            target.addresses,
            target.pids,
            target.population,
            loads,
            self.duration,
            self.warmup,
            phase,
            round_,
            target.book,
            database.server_pid() if database else None,
        )


def measure(
    generator: LoadGenerator, jobs: Sequence[Job], targets: Sequence[Measured]
) -> list[Row]:
    """Runs the jobs in order; adds each target's commits, database use and memory; one
    Row per row."""
    by_label = {target.label: target for target in targets}
    results: list[Measurement] = []
    for job in jobs:
        target = by_label[job.target]
        database = target.database
        before, used_before = target.commits(), database.counters() if database else None
        measured = generator.run(job)
        after, used_after = target.commits(), database.counters() if database else None
        used = used_after - used_before if used_after and used_before else None
        commits = after - before if after is not None and before is not None else None
        if used is not None:
            commits = used.transactions
        memory = target.memory()  # just after the row; the parent has nothing else to do
        for m in measured:
            # Commits and database use are a job's, every load's: kept for a load alone.
            alone = len(measured) == 1
            m = dataclasses.replace(
                m,
                server_memory=memory,
                commits=commits if alone else None,
                database=used if alone else None,
            )
            _progress(m)
            results.append(m)
    return group_rounds(results)


def _progress(m: Measurement) -> None:
    beside = f" beside {m.beside}" if m.beside else ""
    say(
        f"{m.target:22} {m.scenario:15} c={m.concurrency:<3} "
        f"{m.throughput:7,.0f} req/s  p50 {m.p50_ns / 1e6:6.2f} ms  "
        f"p99 {m.p99_ns / 1e6:6.2f} ms  server {m.server_cpu_us_per_request:4.0f} µs/req  "
        f"errors {m.error_count}  mismatches {m.mismatches}{beside}"
        + ("  RAN OUT OF USERS" if m.starved else "")
    )
