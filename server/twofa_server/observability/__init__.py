"""Observability: Prometheus metrics, the audit log and request ids, fed by security events."""

from twofa_server.observability.audit import AuditLog
from twofa_server.observability.grpc_metrics import ServerMetricsInterceptor
from twofa_server.observability.metrics import Metrics, StoreCollector
from twofa_server.observability.request_id import RequestIdInterceptor, current_request_id
from twofa_server.observability.setup import Observability

__all__ = [
    "AuditLog",
    "Metrics",
    "Observability",
    "RequestIdInterceptor",
    "ServerMetricsInterceptor",
    "StoreCollector",
    "current_request_id",
]
