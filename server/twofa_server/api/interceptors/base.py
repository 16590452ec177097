"""Wrapping a gRPC method handler's behavior: the one step every interceptor here shares."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc

# A unary method's behavior on the asyncio server: a coroutine function.
UnaryBehavior = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]


def with_unary_behavior(
    handler: Any, behavior: UnaryBehavior, request_deserializer: Any = None
) -> Any:
    """A unary-unary handler like `handler` (same (de)serializers, unless given) running
    `behavior`."""
    return grpc.unary_unary_rpc_method_handler(
        behavior,
        request_deserializer=request_deserializer or handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


class WrappingInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """An interceptor that wraps each method's handler once and reuses it on every call.

    gRPC asks an interceptor for a handler on every call, but a method's handler,
    and so its wrapped version, is the same each time: building it anew would be
    work on every request's path. Subclasses say how to wrap in `_wrap`.
    """

    def __init__(self) -> None:
        self._by_method: dict[str, tuple[Any, Any]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        cached = self._by_method.get(method)
        if cached is None or cached[0] is not handler:
            cached = (handler, self._wrap(method, handler))
            self._by_method[method] = cached  # a racing duplicate build is harmless
        return cached[1]

    def _wrap(self, full_method: str, handler: Any) -> Any:
        """The handler to serve `full_method` with instead of `handler`."""
        raise NotImplementedError
