"""Observability: Prometheus metrics and the audit log, fed by security events."""

from twofa_server.observability.audit import AuditLog
from twofa_server.observability.metrics import Metrics, StoreCollector
from twofa_server.observability.request_id import current_request_id
from twofa_server.observability.setup import Observability

__all__ = [
    "AuditLog",
    "Metrics",
    "Observability",
    "StoreCollector",
    "current_request_id",
]
