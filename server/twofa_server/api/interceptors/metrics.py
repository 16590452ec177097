"""The standard gRPC server metrics, named as go-grpc-prometheus names them.

`grpc_server_started_total`, `grpc_server_handled_total` (with `grpc_code` in
CamelCase, e.g. `OK`, `ResourceExhausted`) and the `grpc_server_handling_seconds`
histogram, so stock gRPC dashboards and alert rules work unchanged.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.descriptor import ServiceDescriptor
from prometheus_client import CollectorRegistry, Counter, Histogram

from .base import WrappingInterceptor, with_unary_behavior

CODE_NAMES = {
    grpc.StatusCode.OK: "OK",
    grpc.StatusCode.CANCELLED: "Canceled",
    grpc.StatusCode.UNKNOWN: "Unknown",
    grpc.StatusCode.INVALID_ARGUMENT: "InvalidArgument",
    grpc.StatusCode.DEADLINE_EXCEEDED: "DeadlineExceeded",
    grpc.StatusCode.NOT_FOUND: "NotFound",
    grpc.StatusCode.ALREADY_EXISTS: "AlreadyExists",
    grpc.StatusCode.PERMISSION_DENIED: "PermissionDenied",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "ResourceExhausted",
    grpc.StatusCode.FAILED_PRECONDITION: "FailedPrecondition",
    grpc.StatusCode.ABORTED: "Aborted",
    grpc.StatusCode.OUT_OF_RANGE: "OutOfRange",
    grpc.StatusCode.UNIMPLEMENTED: "Unimplemented",
    grpc.StatusCode.INTERNAL: "Internal",
    grpc.StatusCode.UNAVAILABLE: "Unavailable",
    grpc.StatusCode.DATA_LOSS: "DataLoss",
    grpc.StatusCode.UNAUTHENTICATED: "Unauthenticated",
}
# Sub-millisecond reads to multi-second SMTP-free writes under load.
HANDLING_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)

Context = grpc.aio.ServicerContext[Any, Any]
Behavior = Callable[[Any, Context], Awaitable[Any]]


def grpc_type(request_streaming: bool, response_streaming: bool) -> str:
    """The grpc_type label: unary, client_stream, server_stream or bidi_stream."""
    if request_streaming:
        return "bidi_stream" if response_streaming else "client_stream"
    return "server_stream" if response_streaming else "unary"


def _split(full_method: str) -> tuple[str, str]:
    """("/pkg.Service/Method") -> ("pkg.Service", "Method")."""
    service, _, method = full_method.lstrip("/").rpartition("/")
    return service or "unknown", method


@dataclass(frozen=True, slots=True)
class _MethodSeries:
    """One method's grpc_server_* series."""

    started: Any
    handling: Any
    handled: dict[grpc.StatusCode, Any]

    def done(self, started: float, code: grpc.StatusCode | None) -> None:
        self.handling.observe(time.perf_counter() - started)
        self.handled[code or grpc.StatusCode.OK].inc()


class ServerMetricsInterceptor(WrappingInterceptor):
    """Counts and times every call; place it outside the error mapping to see final codes.

    Args:
        registry: where the grpc_server_* metrics are registered.
        services: whose methods' series are created (at 0) up front, for every code.
    """

    def __init__(self, registry: CollectorRegistry, services: Iterable[ServiceDescriptor]) -> None:
        self.started = Counter(
            "grpc_server_started_total",
            "Total number of RPCs started on the server.",
            ("grpc_type", "grpc_service", "grpc_method"),
            registry=registry,
        )
        self.handled = Counter(
            "grpc_server_handled_total",
            "Total number of RPCs completed on the server, regardless of success or failure.",
            ("grpc_type", "grpc_service", "grpc_method", "grpc_code"),
            registry=registry,
        )
        self.handling = Histogram(
            "grpc_server_handling_seconds",
            "Histogram of response latency (seconds) of gRPC that had been application-level "
            "handled by the server.",
            ("grpc_type", "grpc_service", "grpc_method"),
            buckets=HANDLING_BUCKETS,
            registry=registry,
        )
        for service in services:
            for method in service.methods:
                kind = grpc_type(method.client_streaming, method.server_streaming)
                labels = (kind, service.full_name, method.name)
                self.started.labels(*labels)
                self.handling.labels(*labels)
                for code in CODE_NAMES.values():
                    self.handled.labels(*labels, code)
        super().__init__()

    def _wrap(self, full_method: str, handler: Any) -> Any:
        service, method = _split(full_method)
        labels = (
            grpc_type(handler.request_streaming, handler.response_streaming),
            service,
            method,
        )
        if handler.unary_unary is not None:
            return with_unary_behavior(handler, self._measured(labels, handler.unary_unary))
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self._measured_stream(labels, handler.unary_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.stream_unary is not None:
            return grpc.stream_unary_rpc_method_handler(
                self._measured(labels, handler.stream_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return grpc.stream_stream_rpc_method_handler(
            self._measured_stream(labels, handler.stream_stream),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _series(self, labels: tuple[str, str, str]) -> _MethodSeries:
        """The method's series, looked up once (a labels() lookup per call adds up)."""
        return _MethodSeries(
            self.started.labels(*labels),
            self.handling.labels(*labels),
            {code: self.handled.labels(*labels, name) for code, name in CODE_NAMES.items()},
        )

    def _measured(self, labels: tuple[str, str, str], behavior: Behavior) -> Behavior:
        series = self._series(labels)

        async def handle(request: Any, context: Context) -> Any:
            series.started.inc()
            started = time.perf_counter()
            try:
                response = await behavior(request, context)
            except asyncio.CancelledError:  # the call ended before its handler did
                series.done(started, grpc.StatusCode.CANCELLED)
                raise
            except BaseException:
                # An abort has set the code; anything else reaches the client as UNKNOWN.
                series.done(started, _code(context) or grpc.StatusCode.UNKNOWN)
                raise
            series.done(started, _code(context))
            return response

        return handle

    def _measured_stream(self, labels: tuple[str, str, str], behavior: Any) -> Any:
        if not inspect.isasyncgenfunction(behavior):
            return self._measured(labels, behavior)  # a coroutine that writes with context.write
        series = self._series(labels)

        async def handle(request: Any, context: Context) -> AsyncIterator[Any]:
            series.started.inc()
            started = time.perf_counter()
            try:
                async for response in behavior(request, context):
                    yield response
            except (GeneratorExit, asyncio.CancelledError):  # the call ended before the stream
                series.done(started, grpc.StatusCode.CANCELLED)
                raise
            except BaseException:
                series.done(started, _code(context) or grpc.StatusCode.UNKNOWN)
                raise
            series.done(started, _code(context))

        return handle


def _code(context: Context) -> grpc.StatusCode | None:
    """The code the handler set (abort or set_code); None means OK."""
    code: grpc.StatusCode | None = context.code()
    return code
