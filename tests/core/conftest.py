"""Fixtures of core's unit tests: the use cases on an in-memory store, a fixed clock."""

from __future__ import annotations

import pytest

from ..support.clock import FixedClock
from .fakes import Core, new_core


@pytest.fixture
def core(clock: FixedClock) -> Core:
    return new_core(clock)
