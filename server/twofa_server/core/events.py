"""Security events: what happened, to whom, with what result — never a secret or code.

A use case's transaction returns its events (core/work.py); whoever ran it
publishes them once the commit is durable, and adapters turn them into audit
log lines and Prometheus counters (core knows neither).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from .models import Method


class EventType(enum.Enum):
    SETUP_BEGUN = "setup_begun"
    SETUP_CONFIRMED = "setup_confirmed"
    SETUP_REJECTED = "setup_rejected"
    VERIFICATION_ACCEPTED = "verification_accepted"
    VERIFICATION_REJECTED = "verification_rejected"
    LOCKOUT = "lockout"
    UNLOCK = "unlock"
    EMAIL_CODE_SENT = "email_code_sent"
    BACKUP_CODE_USED = "backup_code_used"
    BACKUP_CODES_ISSUED = "backup_codes_issued"
    DEVICE_TRUSTED = "device_trusted"
    DEVICE_REVOKED = "device_revoked"
    METHOD_DISABLED = "method_disabled"
    # A method moved in from another system (reason: imported or replaced).
    METHOD_IMPORTED = "method_imported"
    POLICY_UPDATED = "policy_updated"
    USER_DELETED = "user_deleted"
    LOGIN_EVALUATED = "login_evaluated"
    # A stored record the sweeper could not read (damaged, or under a key not loaded yet).
    RECORD_UNREADABLE = "record_unreadable"


@dataclass(frozen=True, slots=True)
class Event:
    """One security event.

    Attributes:
        type: what happened.
        tenant_id, user_id: whom it concerns (user_id empty for tenant events).
        method: the method involved, if any.
        result: the outcome in lower case, e.g. "accepted", "rejected", "locked_out",
            "required"; empty when the type says it all.
        reason: why, in lower case, e.g. "wrong_code", "reset", "evicted".
        count: how many things it concerns (e.g. devices revoked at once).
        locked_until: for a refusal or a lockout, when the user's lockout ends.
        clock_offset_seconds: for an app code that matched, how far its time was from
            the server's (metrics show how far users' clocks drift).
    """

    type: EventType
    tenant_id: str
    user_id: str = ""
    method: Method | None = None
    result: str = ""
    reason: str = ""
    count: int = 1
    locked_until: float | None = None
    clock_offset_seconds: int | None = None


class EventSink(Protocol):
    """Where committed events go (audit log, metrics)."""

    def publish(self, events: Sequence[Event]) -> None: ...


class NoEvents:
    """An EventSink that drops everything (the default when nothing listens)."""

    def publish(self, events: Sequence[Event]) -> None:
        pass


class FanOut:
    """Publishes to several sinks, in order."""

    def __init__(self, *sinks: EventSink) -> None:
        self._sinks = sinks

    def publish(self, events: Sequence[Event]) -> None:
        for sink in self._sinks:
            sink.publish(events)
