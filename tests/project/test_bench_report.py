"""The bench's arithmetic on measured rows: mixed-load pairing and the --against ratios."""

from __future__ import annotations

from pathlib import Path

from bench.against import AgainstRun
from bench.against_report import pairs
from bench.plan import MIXED
from bench.stats import Measurement, group_rounds
from bench.tables import mixed_lines
from bench.targets import Build


def _measured(
    target: str,
    scenario: str,
    c: int,
    answered: int,
    round_: int,
    beside: str = "",
    phase: str = "",
) -> Measurement:
    return Measurement(
        target, scenario, c, 1.0, answered, answered, 1, 2, 0,
        phase=phase, beside=beside, round=round_,
    )  # fmt: skip


def test_a_mixed_line_takes_the_other_load_from_the_main_loads_fastest_round() -> None:
    rows = group_rounds(
        [
            _measured("t", "verify_wrong", 8, 100, 0, "", MIXED),
            _measured("t", "verify_wrong", 8, 50, 0, "begin_setup c=4", MIXED),
            _measured("t", "begin_setup", 4, 30, 0, "verify_wrong c=8", MIXED),
            _measured("t", "verify_wrong", 8, 120, 1, "", MIXED),
            _measured("t", "verify_wrong", 8, 40, 1, "begin_setup c=4", MIXED),
            _measured("t", "begin_setup", 4, 35, 1, "verify_wrong c=8", MIXED),
        ]
    )
    alone, beside = mixed_lines(rows)
    assert alone.beside is None and alone.main.best.throughput == 120
    assert beside.main.best.throughput == 50 and beside.alone.best.throughput == 120
    assert beside.beside is not None and beside.beside.throughput == 30  # round 0, not 35


def test_against_divides_each_builds_ratio_to_its_own_health() -> None:
    rounds = [(1000, 500, 1000, 400), (800, 420, 1000, 520)]
    measured = []
    for i, (ours_health, ours, theirs_health, theirs) in enumerate(rounds):
        measured += [
            _measured("this", "health", 64, ours_health, i),
            _measured("this", "verify_wrong", 64, ours, i),
            _measured("old", "health", 64, theirs_health, i),
            _measured("old", "verify_wrong", 64, theirs, i),
        ]
    run = AgainstRun(Build("this", Path()), Build("old", Path()), group_rounds(measured))
    health, verify = pairs(run)
    assert health.ratio == 1.0 and health.by_round == [1.0, 0.8]
    # Fastest rounds: 500/1000 against 520/1000; round by round: 0.5/0.4 and 0.525/0.52.
    assert round(verify.ratio, 3) == 0.962
    assert [round(x, 3) for x in verify.by_round] == [1.25, 1.01]
    # The rows that ran back to back, req/s against req/s: 500/400 and 420/520.
    assert [round(x, 3) for x in verify.side_by_side] == [1.25, 0.808]
