"""Every call's errors leave as statuses: deliberate refusals with details, the rest INTERNAL.

Anything that is not a TwoFactorError is INTERNAL with a fixed text, logged by
type and place only, so no stack trace, secret or code reaches a client or a
log line.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from grpc_status import rpc_status

from ...core.errors import StoreUnavailable, TwoFactorError
from ..errors import INTERNAL_MESSAGE, status_for
from .base import WrappingInterceptor, with_unary_behavior

log = logging.getLogger("twofa.api")


def _where(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return "?"
    last = frames[-1]
    return f"{last.filename.rsplit('/', 1)[-1]}:{last.lineno}"


Context = grpc.aio.ServicerContext[Any, Any]
Behavior = Callable[[Any, Context], Awaitable[Any]]


def _guarded(method: str, behavior: Behavior, on_unavailable: Callable[[str], None]) -> Behavior:
    async def handle(request: Any, context: Context) -> Any:
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
            log.error("internal error in %s: %s at %s", method, type(error).__name__, _where(error))
            await context.abort(grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE)

    return handle


class ErrorMappingInterceptor(WrappingInterceptor):
    """Wraps every unary handler so that errors leave as statuses with details.

    Args:
        on_unavailable: told the reason of each call the store could not serve (metrics).
    """

    def __init__(self, on_unavailable: Callable[[str], None] = lambda reason: None) -> None:
        self._on_unavailable = on_unavailable
        super().__init__()

    def _wrap(self, full_method: str, handler: Any) -> Any:
        if handler.unary_unary is None:
            return handler
        method = full_method.rsplit("/", 1)[-1]
        guarded = _guarded(method, handler.unary_unary, self._on_unavailable)
        return with_unary_behavior(handler, guarded)
