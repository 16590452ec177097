"""The bench's PostgreSQL arithmetic: goals, back-to-back ratios, database use, fleets."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from bench.loadgen import _Counters, _Window, _worker
from bench.postgres_report import LMDB, POSTGRES, POSTGRES_TWO, goals_table, versus
from bench.procstat import cpu_spent_since
from bench.scenarios import Call, Outcome
from bench.stats import DatabaseUse, Measurement, group_rounds
from bench.targets import Fleet, ServerSpec, Target


def _measured(
    target: str, scenario: str, answered: int, round_: int, p99_ms: float = 10.0, c: int = 64
) -> Measurement:
    return Measurement(
        target, scenario, c, 1.0, answered, answered, 1, int(p99_ms * 1e6), 0, round=round_
    )


def test_versus_takes_the_fastest_rounds_and_each_rounds_back_to_back_pair() -> None:
    ours, theirs = group_rounds(
        [
            _measured(POSTGRES, "verify_wrong", 300, 0),
            _measured(LMDB, "verify_wrong", 1000, 0),
            _measured(POSTGRES, "verify_wrong", 400, 1),
            _measured(LMDB, "verify_wrong", 500, 1),
        ]
    )
    found = versus(ours, theirs)
    assert found.best == 0.4  # 400 over 1000, the fastest of each, though not the same round
    assert found.by_round == [0.3, 0.8]


def test_goals_table_says_which_goal_is_met() -> None:
    rows = group_rounds(
        [
            _measured(LMDB, "verify_wrong", 1000, 0),
            _measured(POSTGRES, "verify_wrong", 600, 0, p99_ms=20),
            _measured(POSTGRES_TWO, "verify_wrong", 590, 0, p99_ms=30),
            _measured(LMDB, "verify_correct", 1000, 0),
            _measured(POSTGRES, "verify_correct", 400, 0, p99_ms=26),
            _measured(POSTGRES_TWO, "verify_correct", 500, 0, p99_ms=25),
        ]
    )
    share, p99_one, p99_two, fleet = goals_table(rows)[2:]
    assert "**0.60** met" in share and "**0.40** **not met**" in share
    assert "**20.0 ms** met" in p99_one and "**26.0 ms** **not met**" in p99_one
    assert "**30.0 ms** **not met**" in p99_two and "**25.0 ms** met" in p99_two
    assert "**0.98** **not met**" in fleet and "**1.25** met" in fleet


def test_database_use_of_a_row_adds_up_its_rounds() -> None:
    uses = [DatabaseUse(100, 40_000, 700, 10.0), DatabaseUse(99, 1, 2, 0.5)]
    (row,) = group_rounds(
        [
            dataclasses.replace(_measured(POSTGRES, "verify_wrong", 100, i), database=use)
            for i, use in enumerate(uses)
        ]
    )
    assert row.best.database == DatabaseUse(199, 40_001, 702, 10.5)
    assert DatabaseUse(5, 6, 7, 1.0) - DatabaseUse(1, 2, 3, 0.5) == DatabaseUse(4, 4, 4, 0.5)


def test_a_database_child_born_during_the_window_counts_whole() -> None:
    before = {1: 1.0, 10: 2.0}
    after = {1: 1.5, 10: 2.25, 11: 0.5}  # 11 connected during the window
    assert cpu_spent_since(before, after) == pytest.approx(1.25)


def test_a_fleet_needs_one_book() -> None:
    one = Target(ServerSpec("a", (), "127.0.0.1:1", book="db"), 1, 0.0)
    two = Target(ServerSpec("b", (), "127.0.0.1:2", book="db"), 2, 0.0)
    alone = Target(ServerSpec("c", (), "127.0.0.1:3"), 3, 0.0)
    fleet = Fleet("a ×2", (one, two))  # noqa: RUF001
    assert fleet.addresses == ("127.0.0.1:1", "127.0.0.1:2") and fleet.book == "db"
    assert fleet.pids == (1, 2)
    with pytest.raises(AssertionError):
        Fleet("mixed", (one, alone))


def test_each_task_sends_to_the_servers_in_turn() -> None:
    sent: list[tuple[int, int]] = []  # (task, server)

    def server(task: int, index: int) -> Call:
        async def call() -> Outcome:
            sent.append((task, index))
            if sum(1 for t, _ in sent if t == task) >= 5:
                await asyncio.sleep(1)  # past the window: this task's last request
            return Outcome.OK

        return call

    async def run() -> None:
        now = time.perf_counter_ns()
        window = _Window(now, now + 50_000_000)
        await asyncio.gather(
            *(
                _worker([server(task, 0), server(task, 1)], task, window, _Counters())
                for task in range(2)
            )
        )

    # A loop of its own in a thread of its own: other tests (the control panel's browser)
    # may leave an event loop running in the test's thread.
    with ThreadPoolExecutor(1) as loop_thread:
        loop_thread.submit(asyncio.run, run()).result()
    for task in range(2):
        turns = [index for t, index in sent if t == task]
        assert turns == [(task + k) % 2 for k in range(5)]
