"""Key-rotation progress as metrics, read from the keyring watcher at each scrape."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

REMAINING = "twofa_keyring_reseal_remaining_records"
RESEALED = "twofa_keyring_resealed_records_total"


class ResealStats(Protocol):
    """What the keyring watcher reports (jobs/rotation.py: ResealProgress)."""

    @property
    def remaining(self) -> int: ...

    @property
    def resealed_total(self) -> int: ...


class ResealCollector(Collector):
    """twofa_keyring_reseal_remaining_records and twofa_keyring_resealed_records_total."""

    def __init__(self, progress: ResealStats) -> None:
        self._progress = progress

    def describe(self) -> Iterable[Metric]:
        return self._families(0, 0)

    def collect(self) -> Iterable[Metric]:
        return self._families(self._progress.remaining, self._progress.resealed_total)

    @staticmethod
    def _families(remaining: int, resealed: int) -> list[Metric]:
        return [
            GaugeMetricFamily(
                REMAINING,
                "Records not yet re-sealed under the keyring's primary key (0 when none).",
                value=remaining,
            ),
            CounterMetricFamily(
                RESEALED,
                "Records re-sealed under a new primary key since the server started.",
                value=resealed,
            ),
        ]
