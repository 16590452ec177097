"""Test clocks: a fixed one that moves only when a test moves it, and the wall clock."""

from __future__ import annotations

import time
from datetime import UTC, datetime

START = 1_800_000_000.0  # a fixed "now" well inside the 64-bit step range, step-aligned


class FixedClock:
    """A clock that only moves when a test moves it."""

    def __init__(self, now: float = START) -> None:
        self._now = now

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds


class WallClock:
    """The real time, for tests that run `twofa` as a separate process; it cannot be moved."""

    def now(self) -> float:
        return time.time()

    def advance(self, seconds: float) -> None:
        raise AssertionError("the wall clock cannot be moved: wait for the next step instead")


def at(clock: FixedClock, seconds: float = 0) -> datetime:
    """The clock's time, `seconds` later, as the typed client shows times."""
    return datetime.fromtimestamp(clock.now() + seconds, UTC)
