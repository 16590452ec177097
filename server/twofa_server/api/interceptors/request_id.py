"""Every call gets a request id: the caller's own, or a new one.

A client may send its own in the `x-request-id` metadata header (1-128 printable
ASCII characters without spaces, so it can be searched for as one word);
otherwise, or when it does not fit, a new random one is made.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

import grpc

from ...observability.request_id import set_request_id
from .base import WrappingInterceptor, with_unary_behavior

HEADER = "x-request-id"
MAX_CHARS = 128
_VALID = re.compile(rf"[\x21-\x7e]{{1,{MAX_CHARS}}}")


def _given(metadata: Iterable[Any] | None) -> str | None:
    for item in metadata or ():
        key, value = item[0], item[1]
        if key == HEADER and isinstance(value, str) and _VALID.fullmatch(value):
            return value
    return None


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
            set_request_id(given or self._new_id())  # the call's own task context
            return await behavior(request, context)

        return with_unary_behavior(handler, handle)
