"""The request id of the call being handled, for audit lines.

A client may send its own in the `x-request-id` metadata header (1-128 printable
ASCII characters without spaces, so it can be searched for as one word);
otherwise, or when it does not fit, a new random one is made. The asyncio server
runs each call in a task of its own, and the store's writer runs a use case in
the context of the task that handed it over, so a context variable set around
the handler is visible to the use case and the events it publishes.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from typing import Any

import grpc

from ..api.handlers import WrappingInterceptor, with_unary_behavior

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


def random_ids(seed: bytes) -> Callable[[], str]:
    """New request ids: 64 random bits as 16 hex digits.

    An id only has to be unique enough to find a call's lines, not unguessable,
    so a seeded PRNG serves: no system call (and no GIL release) per request.
    """
    generator = random.Random(seed)  # noqa: S311 - ids are labels, not secrets
    return lambda: f"{generator.getrandbits(64):016x}"


class RequestIdInterceptor(WrappingInterceptor):
    """Sets the request id around every unary handler.

    Args:
        new_id: makes an id for a call that brings none.
    """

    def __init__(self, new_id: Callable[[], str]) -> None:
        self._new_id = new_id
        super().__init__()

    def _wrap(self, _method: str, handler: Any) -> Any:
        if handler.unary_unary is None:
            return handler
        behavior = handler.unary_unary

        async def handle(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            given = _given(context.invocation_metadata())
            _current.set(given or self._new_id())  # the call's own task context
            return await behavior(request, context)

        return with_unary_behavior(handler, handle)
