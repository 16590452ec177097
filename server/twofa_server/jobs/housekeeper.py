"""The background sweeper: every `interval` it walks the users and purges what expired."""

from __future__ import annotations

import logging
import threading

from ..core.events import EventSink
from ..core.models import UserRef
from ..core.ports import Store
from ..core.service import TwoFactorService
from ..core.work import perform

log = logging.getLogger("twofa.housekeeping")


class Housekeeper:
    """Runs TwoFactorService.sweep over all users, a batch per transaction.

    Batches are small and separated by a short pause, so a sweep never holds
    the store's writer (or a database's locks) for long while logins go on. In a
    fleet sharing one store, one instance sweeps at a time.
    """

    def __init__(
        self,
        service: TwoFactorService,
        store: Store,
        events: EventSink,
        interval_seconds: float,
        batch: int = 500,
        pause_seconds: float = 0.01,
    ) -> None:
        self._service = service
        self._store = store
        self._events = events
        self._interval = interval_seconds
        self._batch = batch
        self._pause = pause_seconds
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="twofa-housekeeping", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def sweep_all(self) -> int:
        """One full pass (unless another instance is sweeping); returns how many users changed."""
        after: UserRef | None = None
        changed = 0
        with self._store.lead("sweep") as leading:
            while leading and not self._stopping.is_set():
                sweep = self._service.sweep(after, self._batch)
                after, count = perform(self._store, self._events, sweep)
                changed += count
                if after is None:
                    break
                self._stopping.wait(self._pause)
        return changed

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            try:
                changed = self.sweep_all()
            except Exception as error:  # try again next interval
                log.error("sweep failed: %s", type(error).__name__)
                continue
            if changed:
                log.info("sweep purged expired records of %d users", changed)
