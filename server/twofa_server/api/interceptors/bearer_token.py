"""The bearer token: read once from a file, required on every call but health checks.

A call must carry the metadata `authorization: Bearer <token>`. Anything else is
refused with UNAUTHENTICATED and a fixed message, before the servicer runs, so
an unauthenticated call does no work and learns nothing from the answer.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import grpc

from ...crypto.secret_file import read_secret_line

MESSAGE = "missing or invalid bearer token"
# Probes (kubelet, grpc_health_probe) carry no token. Watch is not exempt: each
# Watch stream lasts as long as its caller likes, which an anonymous caller must not get.
EXEMPT_METHODS = frozenset({"/grpc.health.v1.Health/Check"})
MIN_TOKEN_CHARS = 16


def read_token(path: Path) -> bytes:
    """Reads the token from `auth.token_file`, without its line ending.

    Raises:
        SecretFileError: the file is missing, unreadable, too open, empty or not one line.
        ValueError: the token is too short or not printable ASCII.
    """
    token = read_secret_line(path, "auth.token_file").encode("utf-8")
    # A token travels in a header: printable ASCII without spaces, e.g. `openssl rand -hex 32`.
    if not all(0x21 <= byte <= 0x7E for byte in token):
        raise ValueError(
            f"auth.token_file {path} must hold one line of printable ASCII without spaces "
            "(e.g. the output of 'openssl rand -hex 32')"
        )
    if len(token) < MIN_TOKEN_CHARS:
        raise ValueError(
            f"auth.token_file {path} holds a token of {len(token)} characters; use at least "
            f"{MIN_TOKEN_CHARS} random ones (e.g. 'openssl rand -hex 32')"
        )
    return token


async def _refuse(_request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, MESSAGE)


# One refusal per handler kind, so streaming calls are refused as cleanly as unary ones.
# No deserializer: an unauthenticated request is not even parsed.
_REFUSALS = {
    "unary_unary": grpc.unary_unary_rpc_method_handler(_refuse),
    "unary_stream": grpc.unary_stream_rpc_method_handler(_refuse),
    "stream_unary": grpc.stream_unary_rpc_method_handler(_refuse),
    "stream_stream": grpc.stream_stream_rpc_method_handler(_refuse),
}


def _refusal(handler: grpc.RpcMethodHandler | None) -> grpc.RpcMethodHandler:  # type: ignore[type-arg]
    for kind in ("unary_stream", "stream_unary", "stream_stream"):
        if handler is not None and getattr(handler, kind) is not None:
            return _REFUSALS[kind]
    return _REFUSALS["unary_unary"]  # also for unknown methods: no hint at what exists


class BearerTokenInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Refuses every call without `authorization: Bearer <token>`, but health checks.

    The token is compared in constant time (as SHA-256 digests, so not even its
    length shows), and the refusal never echoes what was sent.
    """

    def __init__(self, token: bytes) -> None:
        self._digest = hashlib.sha256(token).digest()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        if handler_call_details.method in EXEMPT_METHODS or self._carries_token(
            handler_call_details.invocation_metadata
        ):
            return await continuation(handler_call_details)
        return _refusal(await continuation(handler_call_details))

    def _carries_token(self, metadata: Sequence[tuple[str, str | bytes]] | None) -> bool:
        values = [value for key, value in metadata or () if key == "authorization"]
        if len(values) != 1 or not isinstance(values[0], str):
            return False
        scheme, _, credential = values[0].partition(" ")
        given = hashlib.sha256(credential.strip().encode("utf-8", "replace")).digest()
        return hmac.compare_digest(given, self._digest) and scheme.lower() == "bearer"
