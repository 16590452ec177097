"""Readiness follows the store: while the database cannot be reached, health says NOT_SERVING.

A load balancer or Kubernetes then sends logins to instances that can answer,
and the process stays up and comes back by itself once the database does.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("twofa.store")

CHECK_SECONDS = 2.0


class ReadinessWatch:
    """Asks `reachable()` every `interval` seconds and reports each change to `changed(up)`.

    Args:
        reachable: whether the store answers now.
        changed: told True or False whenever the answer changes (starts from True).
        where: the store as an operator knows it, for the log line of each change.
    """

    def __init__(
        self,
        reachable: Callable[[], bool],
        changed: Callable[[bool], None],
        where: str,
        interval: float = CHECK_SECONDS,
    ) -> None:
        self._reachable = reachable
        self._changed = changed
        self._where = where
        self._interval = interval
        self._up = True
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="twofa-readiness", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(self._interval + 5)

    def check(self) -> bool:
        """One look at the store; reports a change. Returns whether it is up."""
        up = self._reachable()
        if up != self._up:
            self._up = up
            if up:
                log.warning("%s answers again: serving", self._where)
            else:
                log.error(
                    "%s cannot be reached: health is NOT_SERVING and calls answer UNAVAILABLE "
                    "until it answers again",
                    self._where,
                )
            self._changed(up)
        return up

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            try:
                self.check()
            except Exception as error:  # the watch must outlive any one failure
                log.error("readiness check failed: %s", type(error).__name__)
