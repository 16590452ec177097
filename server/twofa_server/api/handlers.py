"""Wrapping a gRPC method handler's behavior, the one step every interceptor here shares."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc

# A unary method's behavior on the asyncio server: a coroutine function.
UnaryBehavior = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]


def with_unary_behavior(handler: Any, behavior: UnaryBehavior) -> Any:
    """A unary-unary handler like `handler` (same (de)serializers) running `behavior`."""
    return grpc.unary_unary_rpc_method_handler(
        behavior,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


class WrappedHandlers:
    """Wraps each method's handler once and reuses it on every later call.

    gRPC asks an interceptor for a handler on every call, but a method's handler,
    and so its wrapped version, is the same each time: building it anew would be
    work on every request's path.

    Args:
        wrap: builds the wrapped handler from the full method name and the handler.
    """

    def __init__(self, wrap: Callable[[str, Any], Any]) -> None:
        self._wrap = wrap
        self._by_method: dict[str, tuple[Any, Any]] = {}

    async def __call__(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = await continuation(details)
        if handler is None:
            return None
        cached = self._by_method.get(details.method)
        if cached is None or cached[0] is not handler:
            cached = (handler, self._wrap(details.method, handler))
            self._by_method[details.method] = cached  # a racing duplicate build is harmless
        return cached[1]
