"""The audit log: one JSON object per line for each security event, never a secret or code.

Each line has `time` (RFC 3339, UTC, milliseconds), `event`, `tenant`, `user`,
`method`, `result`, `reason` and `request_id` (null when not applicable), plus
`count` when an event concerns several things (e.g. devices revoked at once).
Events carry ids and
enums only, so a line cannot hold a code, secret, token or address.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from ..core.events import Event, EventType
from ..core.ports import Clock
from .request_id import current_request_id

log = logging.getLogger("twofa.audit")

STDERR = "stderr"
# A per-login read, not a change: metrics count it; the audit log leaves it out.
NOT_AUDITED = frozenset({EventType.LOGIN_EVALUATED})


def rfc3339(unix_seconds: float) -> str:
    """E.g. 2027-01-15T08:00:00.000Z."""
    moment = datetime.fromtimestamp(unix_seconds, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _open_append(path: Path) -> TextIO:
    """Opens for appending; a new file is created readable by the owner only (0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    return os.fdopen(fd, "a", encoding="utf-8")


class AuditLog:
    """An EventSink writing audit lines to stderr or appending them to a file.

    Args:
        destination: "stderr", or the path of a file (created 0600 if missing).
        clock: the time each line is stamped with.

    Raises:
        OSError: the file cannot be opened for appending.
    """

    def __init__(self, destination: str, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._file = None if destination == STDERR else _open_append(Path(destination))

    def publish(self, events: Sequence[Event]) -> None:
        """Writes one line per audited event, flushed (EventSink).

        A failed write is logged, not raised: the events' transaction has
        already committed, so the call must still answer with its result.
        """
        request_id, now = current_request_id(), self._clock.now()
        lines = [
            json.dumps(self._record(event, request_id, now), separators=(",", ":")) + "\n"
            for event in events
            if event.type not in NOT_AUDITED
        ]
        if not lines:
            return
        with self._lock:
            # stderr is looked up each time, so redirection (e.g. by a test runner) is followed.
            stream = self._file or sys.stderr
            try:
                stream.write("".join(lines))
                stream.flush()
            except (OSError, ValueError) as error:
                log.error("audit log write failed: %s", type(error).__name__)

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()

    @staticmethod
    def _record(event: Event, request_id: str | None, now: float) -> dict[str, Any]:
        record: dict[str, Any] = {
            "time": rfc3339(now),
            "event": event.type.value,
            "tenant": event.tenant_id,
            "user": event.user_id or None,
            "method": event.method.name.lower() if event.method is not None else None,
            "result": event.result or None,
            "reason": event.reason or None,
            "request_id": request_id,
        }
        if event.count > 1:
            record["count"] = event.count
        return record
