"""The audit log: one JSON object per line for each security event, never a secret or code.

Each line has `time` (RFC 3339, UTC, milliseconds), `event`, `tenant`, `user`,
`method`, `result`, `reason` and `request_id` (null when not applicable), plus
`count` when an event concerns several things (e.g. devices revoked at once).
Events carry ids and
enums only, so a line cannot hold a code, secret, token or address.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
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


class WhileLocked:
    """Counts a locked-out user's refused codes, one count per user and lockout."""

    def __init__(self) -> None:
        # (tenant, user) -> (the lockout's end, the refusal event, refusals after it)
        self._pending: dict[tuple[str, str], tuple[float, Event, int]] = {}
        self._ended: list[Event] = []  # counts of lockouts a newer one has replaced
        # No pending lockout ends before this: `ended`, called on every publish, looks
        # through them only once one may have ended (a replaced one makes it early, not late).
        self._next_end = math.inf

    def first(self, event: Event) -> bool:
        """Whether `event` gets a line of its own (not a refusal repeated during a lockout)."""
        if event.reason != "locked" or event.locked_until is None:
            return True
        key = (event.tenant_id, event.user_id)
        pending = self._pending.get(key)
        if pending is not None and pending[0] == event.locked_until:
            self._pending[key] = (pending[0], pending[1], pending[2] + 1)
            return False
        if pending is not None and pending[2]:
            self._ended.append(dataclasses.replace(pending[1], count=pending[2]))
        self._pending[key] = (event.locked_until, event, 0)
        self._next_end = min(self._next_end, event.locked_until)
        return True

    def ended(self, by: float) -> list[Event]:
        """The refusals counted during lockouts ended by `by`, as events with their count."""
        summaries, self._ended = self._ended, []
        if by < self._next_end:
            return summaries
        done = [key for key, (until, _, _) in self._pending.items() if until <= by]
        for key in done:
            _, event, repeated = self._pending.pop(key)
            if repeated:
                summaries.append(dataclasses.replace(event, count=repeated))
        self._next_end = min((until for until, _, _ in self._pending.values()), default=math.inf)
        return summaries


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
        self._while_locked = WhileLocked()

    def publish(self, events: Sequence[Event]) -> None:
        """Writes one line per audited event, flushed (EventSink).

        A locked-out user's refused codes are the exception: the first of a lockout
        is written at once, the rest as one line with their `count` once the lockout
        has ended (or twofa stops), so hammering a locked user cannot flood the log.
        A failed write is logged, not raised: the events' transaction has already
        committed, so the call must still answer with its result.
        """
        request_id, now = current_request_id(), self._clock.now()
        with self._lock:
            records = [
                self._record(event, request_id, now)
                for event in events
                if event.type not in NOT_AUDITED and self._while_locked.first(event)
            ]
            records += self._summaries(now, ended_by=now)
            self._write(records)

    def flush_summaries(self) -> None:
        """Writes the counts of refusals during lockouts that have ended (e.g. each minute)."""
        now = self._clock.now()
        with self._lock:
            self._write(self._summaries(now, ended_by=now))

    def close(self) -> None:
        with self._lock:
            self._write(self._summaries(self._clock.now(), ended_by=math.inf))
            if self._file is not None:
                self._file.close()

    def _summaries(self, now: float, ended_by: float) -> list[dict[str, Any]]:
        records = []
        for event in self._while_locked.ended(ended_by):
            record = self._record(event, None, now)
            record["count"] = event.count
            records.append(record)
        return records

    def _write(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        # stderr is looked up each time, so redirection (e.g. by a test runner) is followed.
        stream = self._file or sys.stderr
        try:
            stream.write("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records))
            stream.flush()
        except (OSError, ValueError) as error:
            log.error("audit log write failed: %s", type(error).__name__)

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
