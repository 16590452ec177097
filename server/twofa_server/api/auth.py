"""The bearer token: read once from a file, required on every call but health checks.

A call must carry the metadata `authorization: Bearer <token>`. Anything else is
refused with UNAUTHENTICATED and a fixed message, before the servicer runs, so
an unauthenticated call does no work and learns nothing from the answer.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import grpc

MESSAGE = "missing or invalid bearer token"
# Probes (kubelet, grpc_health_probe) carry no token. Watch is not exempt: each
# Watch stream lasts as long as its caller likes, which an anonymous caller must not get.
EXEMPT_METHODS = frozenset({"/grpc.health.v1.Health/Check"})
MIN_TOKEN_CHARS = 16
_MAX_FILE_BYTES = 4096


def read_token(path: Path) -> bytes:
    """Reads the token from `auth.token_file`, without one trailing newline.

    Raises:
        ValueError: the file is missing, unreadable, readable or writable by other
            users, empty, too short, or not one line of printable ASCII; one line.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise ValueError(
            f"auth.token_file {path} cannot be opened ({exc.strerror}): "
            "check the path and that this user may read the file"
        ) from None
    try:
        info = os.fstat(fd)  # the file that is read, not one swapped in since
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"auth.token_file {path} is not a regular file")
        mode = stat.S_IMODE(info.st_mode)
        if mode & (stat.S_IROTH | stat.S_IWOTH):
            access = "readable" if mode & stat.S_IROTH else "writable"
            raise ValueError(
                f"auth.token_file {path} is {access} by other users (mode {mode:04o}): "
                f"run 'chmod 600 {path}'"
            )
        with os.fdopen(fd, "rb", closefd=False) as file:
            data = file.read(_MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"auth.token_file {path} cannot be read ({exc.strerror})") from None
    finally:
        os.close(fd)
    token = data[:-1] if data.endswith(b"\n") else data
    if not token:
        raise ValueError(f"auth.token_file {path} is empty: write the token into it")
    # A token travels in a header: printable ASCII without spaces, e.g. `openssl rand -hex 32`.
    if len(data) > _MAX_FILE_BYTES or not all(0x21 <= byte <= 0x7E for byte in token):
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
