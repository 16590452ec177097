"""Every call's errors leave as statuses: deliberate refusals with details, the rest INTERNAL.

Anything that is not a TwoFactorError is INTERNAL with a fixed text, logged by
type and place only, so no stack trace, secret or code reaches a client or a
log line. Request bytes that do not parse as the method's message (bad UTF-8,
a truncated field, random bytes) are bad input: INVALID_ARGUMENT with a fixed
text, and at most one log line a minute however many arrive.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from grpc_status import rpc_status

from ...core.errors import StoreUnavailable, TwoFactorError
from ...observability.logs import describe_exception
from ..errors import INTERNAL_MESSAGE, status_for
from .base import WrappingInterceptor, with_unary_behavior

log = logging.getLogger("twofa.api")


Context = grpc.aio.ServicerContext[Any, Any]
Behavior = Callable[[Any, Context], Awaitable[Any]]


MALFORMED_MESSAGE = "invalid request: the bytes are not a valid request message"
_MALFORMED_LOG_SECONDS = 60.0


class _Malformed:
    """Stands in for request bytes that did not parse, so the handler can refuse them."""


MALFORMED = _Malformed()


def _lenient(deserialize: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    def parse(data: bytes) -> Any:
        try:
            return deserialize(data)
        except Exception:  # protobuf's DecodeError, or a string that is not UTF-8
            return MALFORMED

    return parse


class _Throttled:
    """Logs the first malformed request, then at most one summary line a minute."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._next_at = 0.0
        self._since = 0

    def malformed(self, method: str) -> None:
        self._since += 1
        now = self._clock()
        if now >= self._next_at:
            log.warning(
                "refused %d malformed request(s) (the last to %s) as INVALID_ARGUMENT",
                self._since,
                method,
            )
            self._since, self._next_at = 0, now + _MALFORMED_LOG_SECONDS


def _guarded(
    method: str,
    behavior: Behavior,
    on_unavailable: Callable[[str], None],
    throttled: _Throttled,
) -> Behavior:
    async def handle(request: Any, context: Context) -> Any:
        if request is MALFORMED:
            throttled.malformed(method)
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, MALFORMED_MESSAGE)
        try:
            return await behavior(request, context)
        except TwoFactorError as error:
            if isinstance(error, StoreUnavailable):
                # The cause is for the operator; the caller gets the reason and a retry delay.
                log.warning("%s: store unavailable (%s): %s", method, error.reason, error)
                on_unavailable(error.reason)
            status = rpc_status.to_status(status_for(error))
            await context.abort(status.code, status.details, status.trailing_metadata)
        except Exception as error:
            if context.code() is not None:
                raise  # the handler aborted with a status of its own
            # The message may quote request data; the type and place are enough to debug.
            where = describe_exception(type(error), error.__traceback__)
            log.error("internal error in %s: %s", method, where)
            await context.abort(grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE)

    return handle


class ErrorMappingInterceptor(WrappingInterceptor):
    """Wraps every unary handler so that errors leave as statuses with details.

    Args:
        on_unavailable: told the reason of each call the store could not serve (metrics).
    """

    def __init__(self, on_unavailable: Callable[[str], None] = lambda reason: None) -> None:
        self._on_unavailable = on_unavailable
        self._throttled = _Throttled()
        super().__init__()

    def _wrap(self, full_method: str, handler: Any) -> Any:
        if handler.unary_unary is None:
            return handler
        method = full_method.rsplit("/", 1)[-1]
        guarded = _guarded(method, handler.unary_unary, self._on_unavailable, self._throttled)
        lenient = _lenient(handler.request_deserializer)
        return with_unary_behavior(handler, guarded, request_deserializer=lenient)
