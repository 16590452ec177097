"""twofa's domain metrics: counters fed by security events and mail delivery, store gauges.

Every label is a small enum; no user id, address, code or token ever becomes a
label value. Every counter series exists (at 0) from the start, so rates and
alerts work before the first event of a kind. No `_created` series: they double the
series count, and Prometheus needs none of them (counters reset on restart anyway).
"""

from __future__ import annotations

import logging
import platform
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ..core.events import Event, EventType
from ..core.models import LoginReason, MailKind, Method, VerifyReason
from ..core.ports import Clock
from ..delivery.mail import CONFIGURATION_PROBLEMS
from ..version import version as installed_version

log = logging.getLogger("twofa.metrics")

# prometheus_client's switch is process-wide and read at each scrape: every counter and
# histogram of every registry in this process (gRPC ones included) leaves out `_created`.
disable_created_metrics()  # type: ignore[no-untyped-call]

VERIFY_METHODS = ("authenticator_app", "email", "backup_code")
SETUP_METHODS = ("authenticator_app", "email")
ENROLLMENT_EVENTS = ("begun", "confirmed", "rejected", "disabled")
# Only the authenticator app can be imported (ImportAuthenticators).
IMPORTED_METHOD = "authenticator_app"
MAIL_KINDS = tuple(kind.value for kind in MailKind)
MAIL_FAILURES = ("retrying", "given_up", "expired", "refused")
REVOKE_REASONS = ("user", "reset", "disable", "delete", "evicted", "expired", "import")
# Why a call found the store unusable (core.errors.StoreUnavailable.reason, lower case).
STORE_UNAVAILABLE_REASONS = (
    "store_unavailable",
    "database_unreachable",
    "database_busy",
    "commit_outcome_unknown",
    "key_not_loaded",
    "conflict",
)

# Kinds of work with an admission lane (api/admission.py Kind), and why a QR renderer was
# lost (api/rendering.py FAILURES).
ADMISSION_KINDS = ("setup", "mail", "admin")
RENDERER_FAILURES = ("crashed", "timed_out", "exited")

_LOCKED = (VerifyReason.TOO_MANY_ATTEMPTS, VerifyReason.LOCKED)
# (result, reason) pairs a verification can end in.
VERIFY_OUTCOMES = tuple(
    (
        "accepted" if r is VerifyReason.OK else "locked_out" if r in _LOCKED else "rejected",
        r.name.lower(),
    )
    for r in VerifyReason
)
_DECISION_FOR = {
    LoginReason.NOT_ENROLLED_OPTIONAL: "not_required",
    LoginReason.TRUSTED_DEVICE: "not_required",
    LoginReason.NOT_ENROLLED_REQUIRED: "enrollment_required",
    LoginReason.EVERY_LOGIN_POLICY: "required",
    LoginReason.DEVICE_NOT_TRUSTED: "required",
    LoginReason.LOCKED_OUT: "required",
}
# (decision, reason) pairs EvaluateLogin can answer with.
LOGIN_OUTCOMES = tuple((_DECISION_FOR[r], r.name.lower()) for r in LoginReason)

_ENROLLMENT_EVENT_FOR = {
    EventType.SETUP_BEGUN: "begun",
    EventType.SETUP_CONFIRMED: "confirmed",
    EventType.SETUP_REJECTED: "rejected",
    EventType.METHOD_DISABLED: "disabled",
    EventType.METHOD_IMPORTED: "imported",
}


def _method(method: Method | None) -> str:
    return method.name.lower() if method is not None else "unspecified"


class Metrics:
    """The domain counters; an EventSink for core's events and the outbox's DeliveryRecorder.

    Args:
        registry: where the metrics are registered (one per server; never the global one).
        version: the build's version for twofa_build_info; the installed package's by default.
    """

    def __init__(self, registry: CollectorRegistry, version: str | None = None) -> None:
        def counter(name: str, help_text: str, labels: Sequence[str] = ()) -> Counter:
            return Counter(name, help_text, labels, registry=registry)

        self.verifications = counter(
            "twofa_verifications_total",
            "Codes checked by VerifyCode, by method, result and reason.",
            ("method", "result", "reason"),
        )
        self.lockouts = counter(
            "twofa_lockouts_total", "Users locked out after too many failed codes.", ("method",)
        )
        self.enrollments = counter(
            "twofa_enrollments_total",
            "Set-ups begun, confirmed, rejected (wrong code), methods disabled and imported.",
            ("method", "event"),
        )
        self.emails_sent = counter(
            "twofa_emails_sent_total", "Messages handed to the mail server.", ("kind",)
        )
        self.email_failures = counter(
            "twofa_email_failures_total",
            "Messages not delivered: retrying later, given up, expired or refused.",
            ("kind", "outcome"),
        )
        self.mail_misconfigured = counter(
            "twofa_email_configuration_errors_total",
            "Delivery attempts that met a configuration error (e.g. a relay without "
            "STARTTLS while smtp.security = starttls); the mail stays queued.",
            ("problem",),
        )
        self.devices_issued = counter(
            "twofa_trusted_devices_issued_total", "Trusted-device tokens issued."
        )
        self.devices_revoked = counter(
            "twofa_trusted_devices_revoked_total", "Trusted devices revoked, by why.", ("reason",)
        )
        self.backup_codes_used = counter("twofa_backup_codes_used_total", "Backup codes used.")
        self.login_evaluations = counter(
            "twofa_login_evaluations_total",
            "EvaluateLogin answers, by decision and reason.",
            ("decision", "reason"),
        )
        self.clock_offset = Histogram(
            "twofa_clock_offset_seconds",
            "How far from the server's time the authenticator codes that matched were "
            "(accepted, or refused as CLOCK_DRIFT): how far users' phone clocks drift.",
            buckets=(-600, -300, -120, -60, -30, 0, 30, 60, 120, 300, 600),
            registry=registry,
        )
        self.store_unavailable = counter(
            "twofa_store_unavailable_total",
            "Calls answered UNAVAILABLE because the store could not be used, by why.",
            ("reason",),
        )
        self.unreadable_records = counter(
            "twofa_unreadable_records_total",
            "Stored records a background job skipped because they could not be read "
            "(damaged, or sealed under a key this instance lacks), by job.",
            ("job",),
        )
        self.admission_refused = counter(
            "twofa_admission_refused_total",
            "Calls refused RESOURCE_EXHAUSTED (SERVER_BUSY) because their kind of work had "
            "as many calls running and waiting as its admission bounds allow, by kind.",
            ("kind",),
        )
        self.qr_renderer_failures = counter(
            "twofa_qr_renderer_failures_total",
            "QR renderer processes lost and replaced: crashed or timed_out during a call "
            "(answered UNAVAILABLE), or exited between calls.",
            ("reason",),
        )
        self.store_up = Gauge(
            "twofa_store_up",
            "1 while the store answers (the database is reachable), else 0.",
            registry=registry,
        )
        self.store_up.set(1)
        Gauge(
            "twofa_build_info",
            "The running build (always 1).",
            ("version", "python_version"),
            registry=registry,
        ).labels(version or installed_version(), platform.python_version()).set(1)
        self._preinitialise()
        self._count: dict[EventType, Callable[[Event], None]] = {
            EventType.VERIFICATION_ACCEPTED: self._verification,
            EventType.VERIFICATION_REJECTED: self._verification,
            EventType.LOCKOUT: lambda e: self.lockouts.labels(_method(e.method)).inc(),
            EventType.DEVICE_TRUSTED: lambda e: self.devices_issued.inc(),
            EventType.DEVICE_REVOKED: lambda e: self.devices_revoked.labels(e.reason).inc(e.count),
            # The event's count is the codes left, not the codes used (always one).
            EventType.BACKUP_CODE_USED: lambda e: self.backup_codes_used.inc(),
            EventType.LOGIN_EVALUATED: lambda e: self.login_evaluations.labels(
                e.result, e.reason
            ).inc(),
            EventType.RECORD_UNREADABLE: lambda e: self.unreadable("sweep"),
        }
        for kind, name in _ENROLLMENT_EVENT_FOR.items():
            self._count[kind] = self._enrollment(name)

    def _preinitialise(self) -> None:
        for method in VERIFY_METHODS:
            self.lockouts.labels(method)
            for result, reason in VERIFY_OUTCOMES:
                self.verifications.labels(method, result, reason)
        for method in SETUP_METHODS:
            for event in ENROLLMENT_EVENTS:
                self.enrollments.labels(method, event)
        self.enrollments.labels(IMPORTED_METHOD, "imported")
        for kind in MAIL_KINDS:
            self.emails_sent.labels(kind)
            for outcome in MAIL_FAILURES:
                self.email_failures.labels(kind, outcome)
        for problem in CONFIGURATION_PROBLEMS:
            self.mail_misconfigured.labels(problem)
        for reason in REVOKE_REASONS:
            self.devices_revoked.labels(reason)
        for decision, reason in LOGIN_OUTCOMES:
            self.login_evaluations.labels(decision, reason)
        for reason in STORE_UNAVAILABLE_REASONS:
            self.store_unavailable.labels(reason)
        for job in ("sweep", "reseal"):
            self.unreadable_records.labels(job)
        for kind in ADMISSION_KINDS:
            self.admission_refused.labels(kind)
        for reason in RENDERER_FAILURES:
            self.qr_renderer_failures.labels(reason)

    # --- EventSink ---------------------------------------------------------------------

    def publish(self, events: Sequence[Event]) -> None:
        """Counts committed events (EventSink)."""
        for event in events:
            count = self._count.get(event.type)
            if count is not None:
                count(event)

    def _verification(self, event: Event) -> None:
        self.verifications.labels(_method(event.method), event.result, event.reason).inc()
        if event.clock_offset_seconds is not None:
            self.clock_offset.observe(event.clock_offset_seconds)

    def _enrollment(self, name: str) -> Callable[[Event], None]:
        def count(event: Event) -> None:
            self.enrollments.labels(_method(event.method), name).inc()

        return count

    def unreadable(self, job: str, count: int = 1) -> None:
        """A background job (sweep, reseal) skipped `count` records it could not read."""
        self.unreadable_records.labels(job).inc(count)

    def unavailable(self, reason: str) -> None:
        """A call found the store unusable (reason: StoreUnavailable.reason)."""
        label = reason.lower()
        self.store_unavailable.labels(
            label if label in STORE_UNAVAILABLE_REASONS else "store_unavailable"
        ).inc()

    def refused(self, kind: str) -> None:
        """A call of `kind` was refused SERVER_BUSY by admission."""
        self.admission_refused.labels(kind).inc()

    def renderer_failed(self, reason: str) -> None:
        """A QR renderer was lost: crashed, timed_out or exited."""
        self.qr_renderer_failures.labels(reason).inc()

    # --- DeliveryRecorder ----------------------------------------------------------------

    def sent(self, kind: str) -> None:
        """A message of `kind` was accepted by the mail server."""
        self.emails_sent.labels(kind).inc()

    def failed(self, kind: str, outcome: str) -> None:
        """A message of `kind` was not delivered: retrying, given_up, expired or refused."""
        self.email_failures.labels(kind, outcome).inc()

    def misconfigured(self, problem: str) -> None:
        """A delivery attempt met a configuration error (delivery.mail.CONFIGURATION_PROBLEMS)."""
        self.mail_misconfigured.labels(problem).inc()


class StoreStats(Protocol):
    """What the store reports for the gauges."""

    def outbox_summary(self) -> tuple[int, float | None]: ...

    def map_usage(self) -> tuple[int, int] | None:
        """(bytes in use, map size) of an LMDB store; None for a database."""
        ...


class StoreCollector(Collector):
    """Outbox and LMDB map gauges, read from the store when Prometheus scrapes.

    Args:
        store: the store to read.
        clock: the time the oldest message's age is measured against.
    """

    def __init__(self, store: StoreStats, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return self._families(None)

    def collect(self) -> Iterable[GaugeMetricFamily]:
        try:
            depth, oldest = self._store.outbox_summary()
            usage = self._store.map_usage()
        except Exception as error:  # a scrape must not fail because the store is closing
            log.warning("store gauges unavailable: %s", type(error).__name__)
            return []
        age = max(self._clock.now() - oldest, 0.0) if oldest is not None else 0.0
        families = self._families((depth, age, *_map_values(usage)))
        return families if usage is not None else families[:2]

    def _families(self, values: tuple[float, ...] | None) -> list[GaugeMetricFamily]:
        specs = (
            ("twofa_email_outbox_depth", "Messages waiting in the outbox."),
            (
                "twofa_email_outbox_oldest_age_seconds",
                "Age of the oldest message in the outbox (0 when empty).",
            ),
            ("twofa_store_map_used_bytes", "Bytes of the LMDB map in use."),
            ("twofa_store_map_size_bytes", "Size of the LMDB map (the most the store may use)."),
            ("twofa_store_map_used_ratio", "Fraction of the LMDB map in use (0-1)."),
        )
        if values is None:
            return [GaugeMetricFamily(name, text) for name, text in specs]
        return [
            GaugeMetricFamily(name, text, value=value)
            for (name, text), value in zip(specs, values, strict=True)
        ]


class AdmissionCollector(Collector):
    """Calls running and waiting in each admission lane, read when Prometheus scrapes.

    Args:
        load: (running, waiting) by kind (api/admission.py Admission.load).
    """

    def __init__(self, load: Callable[[], Mapping[str, tuple[int, int]]]) -> None:
        self._load = load

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return self._families({})

    def collect(self) -> Iterable[GaugeMetricFamily]:
        return self._families(self._load())

    def _families(self, load: Mapping[str, tuple[int, int]]) -> list[GaugeMetricFamily]:
        running = GaugeMetricFamily(
            "twofa_admission_running",
            "Calls of each admitted kind running now (at most its concurrency).",
            labels=("kind",),
        )
        waiting = GaugeMetricFamily(
            "twofa_admission_waiting",
            "Calls of each admitted kind waiting for a turn (at most its queue).",
            labels=("kind",),
        )
        for kind, (now_running, now_waiting) in load.items():
            running.add_metric((kind,), now_running)
            waiting.add_metric((kind,), now_waiting)
        return [running, waiting]


def _map_values(usage: tuple[int, int] | None) -> tuple[float, float, float]:
    used, size = usage or (0, 0)
    return used, size, used / size if size else 0.0
