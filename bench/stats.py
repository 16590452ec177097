"""One measured scenario run and the arithmetic on it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


def percentile(sorted_values: Sequence[int], fraction: float) -> int:
    """The nearest-rank percentile of already sorted values (0 when there are none)."""
    if not sorted_values:
        return 0
    rank = max(1, round(fraction * len(sorted_values) + 0.5 - 1e-9))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass(frozen=True, slots=True)
class Measurement:
    """What one scenario at one concurrency against one server did in its time window.

    `answered` and the latencies are of requests started inside the window;
    `sent`, errors and mismatches are of every request, the warm-up's included,
    so none goes unseen.
    """

    target: str
    scenario: str
    concurrency: int
    seconds: float
    answered: int
    sent: int
    p50_ns: int
    p99_ns: int
    mismatches: int
    errors: dict[str, int] = field(default_factory=dict)
    starved: bool = False
    server_cpu_seconds: float = 0.0  # user + system
    server_sys_seconds: float = 0.0  # the system (kernel) part
    client_cpu_seconds: float = 0.0
    supply_before: int | None = None

    @property
    def throughput(self) -> float:
        """Answered requests per second of the window."""
        return self.answered / self.seconds if self.seconds > 0 else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def server_cpu_us_per_request(self) -> float:
        return 1e6 * self.server_cpu_seconds / self.answered if self.answered else 0.0

    @property
    def server_sys_us_per_request(self) -> float:
        return 1e6 * self.server_sys_seconds / self.answered if self.answered else 0.0

    @property
    def client_cpu_us_per_request(self) -> float:
        return 1e6 * self.client_cpu_seconds / self.answered if self.answered else 0.0


@dataclass(frozen=True, slots=True)
class ServerFootprint:
    """What a server process cost beyond its CPU: its peak memory."""

    label: str
    peak_rss_bytes: int
