"""Assembly of the metrics registry and the audit log for one server, and the /metrics endpoint."""

from __future__ import annotations

import threading

from prometheus_client import CollectorRegistry, ProcessCollector

from ..core.events import EventSink, FanOut
from ..core.ports import Clock
from .audit import AuditLog
from .endpoint import MetricsEndpoint
from .metrics import Metrics, StoreCollector, StoreStats

SUMMARY_SECONDS = 60.0


class Observability:
    """The metrics registry and audit log of one server, fed by its events.

    Args:
        audit_destination: "stderr" or a file path (see AuditLog).
        clock: stamps audit lines and ages the outbox.
        registry: a fresh one per server by default.

    Raises:
        OSError: the audit file cannot be opened.
    """

    def __init__(
        self,
        audit_destination: str,
        clock: Clock,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.registry = registry or CollectorRegistry()
        self._clock = clock
        self.metrics = Metrics(self.registry)
        ProcessCollector(registry=self.registry)
        self.audit = AuditLog(audit_destination, clock)
        self.events: EventSink = FanOut(self.metrics, self.audit)
        self._endpoint: MetricsEndpoint | None = None
        self.metrics_address = ""
        # Counts of codes refused during lockouts are written once each lockout ends.
        self._stopping = threading.Event()
        self._summaries = threading.Thread(
            target=self._write_summaries, name="twofa-audit", daemon=True
        )
        self._summaries.start()

    def _write_summaries(self) -> None:
        while not self._stopping.wait(SUMMARY_SECONDS):
            self.audit.flush_summaries()

    def watch_store(self, store: StoreStats) -> None:
        """Adds the outbox and LMDB map gauges, read from `store` at each scrape."""
        self.registry.register(StoreCollector(store, self._clock))

    def serve_metrics(self, listen: str) -> str:
        """Serves GET /metrics on `listen` (host:port; port 0 picks one) in a thread.

        Returns:
            The bound address, host:port.

        Raises:
            OSError: the address is in use or not allowed.
        """
        host, _, port = listen.rpartition(":")
        self._endpoint = MetricsEndpoint(self.registry, host.strip("[]"), int(port))
        self.metrics_address = self._endpoint.address
        return self.metrics_address

    def stop(self) -> None:
        """Stops the /metrics endpoint and closes the audit file."""
        self._stopping.set()
        self._summaries.join()
        if self._endpoint is not None:
            self._endpoint.stop()
            self._endpoint = None
        self.audit.close()
