"""Wrapping a gRPC method handler's behavior, the one step every interceptor here shares."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

UnaryBehavior = Callable[[Any, grpc.ServicerContext], Any]


def with_unary_behavior(handler: Any, behavior: UnaryBehavior) -> Any:
    """A unary-unary handler like `handler` (same (de)serializers) running `behavior`."""
    return grpc.unary_unary_rpc_method_handler(
        behavior,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )
