"""The request id of the call being handled, for audit lines.

A client may send its own in the `x-request-id` metadata header (1-128 printable
ASCII characters without spaces, so it can be searched for as one word);
otherwise, or when it does not fit, a new random one is made. The sync gRPC
server runs each unary handler in one worker thread, so a context variable set
around the handler is visible to the use case and the events it publishes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from typing import Any

import grpc

from ..api.handlers import WrappedHandlers, with_unary_behavior

HEADER = "x-request-id"
MAX_CHARS = 128
_VALID = re.compile(rf"[\x21-\x7e]{{1,{MAX_CHARS}}}")

_current: ContextVar[str | None] = ContextVar("twofa_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the call this thread is handling; None outside a call (e.g. housekeeping)."""
    return _current.get()


def _given(metadata: Iterable[Any] | None) -> str | None:
    for item in metadata or ():
        key, value = item[0], item[1]
        if key == HEADER and isinstance(value, str) and _VALID.fullmatch(value):
            return value
    return None


class RequestIdInterceptor(grpc.ServerInterceptor):  # type: ignore[type-arg]
    """Sets the request id around every unary handler.

    Args:
        token_bytes: randomness for new ids (8 bytes, shown as 16 hex digits).
    """

    def __init__(self, token_bytes: Callable[[int], bytes]) -> None:
        self._token_bytes = token_bytes
        self._handlers = WrappedHandlers(self._wrap)

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Any],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        return self._handlers(continuation, handler_call_details)

    def _wrap(self, _method: str, handler: Any) -> Any:
        if handler.unary_unary is None:
            return handler
        behavior = handler.unary_unary

        def handle(request: Any, context: grpc.ServicerContext) -> Any:
            given = _given(context.invocation_metadata())
            # Reset afterwards: the worker thread goes on to serve other calls.
            token = _current.set(given or self._token_bytes(8).hex())
            try:
                return behavior(request, context)
            finally:
                _current.reset(token)

        return with_unary_behavior(handler, handle)
