"""Exceptions raised by the twofa client, one class per gRPC status the API uses.

The server reports errors with the rich error model (``google.rpc.Status`` details);
:func:`error_from_rpc_error` turns a :class:`grpc.RpcError` into the matching
:class:`TwoFactorError` subclass with those details parsed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import grpc
from google.rpc.error_details_pb2 import (  # type: ignore[import-untyped, unused-ignore]
    BadRequest,
    ErrorInfo,
    PreconditionFailure,
    RetryInfo,
)
from google.rpc.status_pb2 import Status  # type: ignore[import-untyped, unused-ignore]
from grpc_status import rpc_status

__all__ = [
    "DeadlineExceeded",
    "FailedPrecondition",
    "FieldViolation",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "NotImplementedByServer",
    "PermissionDenied",
    "PreconditionViolation",
    "ResourceExhausted",
    "TwoFactorError",
    "Unauthenticated",
    "Unavailable",
    "error_from_rpc_error",
]


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One malformed request field (from ``google.rpc.BadRequest``)."""

    field: str
    description: str


@dataclass(frozen=True, slots=True)
class PreconditionViolation:
    """One unmet precondition (from ``google.rpc.PreconditionFailure``)."""

    type: str
    subject: str
    description: str


class TwoFactorError(Exception):
    """A call to the twofa server failed; ``code`` is the gRPC status code."""

    code: grpc.StatusCode
    message: str

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(f"{code.name}: {message}" if message else code.name)
        self.code = code
        self.message = message


class InvalidArgument(TwoFactorError):
    """INVALID_ARGUMENT: malformed input; ``field_violations`` names the fields."""

    field_violations: tuple[FieldViolation, ...]

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        field_violations: tuple[FieldViolation, ...] = (),
    ) -> None:
        super().__init__(code, message)
        self.field_violations = field_violations


class FailedPrecondition(TwoFactorError):
    """FAILED_PRECONDITION: the request was made in the wrong state."""

    violations: tuple[PreconditionViolation, ...]

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        violations: tuple[PreconditionViolation, ...] = (),
    ) -> None:
        super().__init__(code, message)
        self.violations = violations


class ResourceExhausted(TwoFactorError):
    """RESOURCE_EXHAUSTED: e.g. an email send inside the resend cooldown."""

    retry_after: timedelta | None

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        retry_after: timedelta | None = None,
    ) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after


class Unauthenticated(TwoFactorError):
    """UNAUTHENTICATED: the bearer token is missing or wrong."""


class PermissionDenied(TwoFactorError):
    """PERMISSION_DENIED: the caller may not make this call."""


class NotFound(TwoFactorError):
    """NOT_FOUND: the named resource does not exist."""


class Unavailable(TwoFactorError):
    """UNAVAILABLE: the server cannot be reached or cannot use its store; retry later.

    ``retry_after`` is the server's suggested wait and ``reason`` why (e.g.
    ``DATABASE_UNREACHABLE``, ``KEY_NOT_LOADED``); both are None when the server was
    not reached at all.
    """

    retry_after: timedelta | None
    reason: str | None

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        retry_after: timedelta | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after
        self.reason = reason


class DeadlineExceeded(TwoFactorError):
    """DEADLINE_EXCEEDED: the call did not finish within its timeout."""


class NotImplementedByServer(TwoFactorError):
    """UNIMPLEMENTED: the server does not offer this RPC."""


class Internal(TwoFactorError):
    """INTERNAL: the server failed; the message is a fixed text."""


_SIMPLE: dict[grpc.StatusCode, type[TwoFactorError]] = {
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.UNIMPLEMENTED: NotImplementedByServer,
    grpc.StatusCode.INTERNAL: Internal,
}


def _rich_status(error: grpc.RpcError) -> Status | None:
    """The ``google.rpc.Status`` carried in the error's trailers, if any and well-formed."""
    if not isinstance(error, grpc.Call):
        return None
    try:
        status = rpc_status.from_call(error)
    except ValueError:  # details inconsistent with the call's code or message
        return None
    return status if isinstance(status, Status) else None


def error_from_rpc_error(error: grpc.RpcError) -> TwoFactorError:
    """Map a failed gRPC call to the matching :class:`TwoFactorError` subclass."""
    code = error.code() if callable(getattr(error, "code", None)) else None
    if not isinstance(code, grpc.StatusCode):
        code = grpc.StatusCode.UNKNOWN
    message = (error.details() if callable(getattr(error, "details", None)) else None) or ""
    status = _rich_status(error)
    if status is not None and status.message:
        message = status.message

    if code is grpc.StatusCode.INVALID_ARGUMENT:
        bad_request = BadRequest()
        fields: list[FieldViolation] = []
        for detail in status.details if status is not None else ():
            if detail.Unpack(bad_request):
                fields.extend(
                    FieldViolation(v.field, v.description) for v in bad_request.field_violations
                )
        return InvalidArgument(code, message, tuple(fields))

    if code is grpc.StatusCode.FAILED_PRECONDITION:
        failure = PreconditionFailure()
        violations: list[PreconditionViolation] = []
        for detail in status.details if status is not None else ():
            if detail.Unpack(failure):
                violations.extend(
                    PreconditionViolation(v.type, v.subject, v.description)
                    for v in failure.violations
                )
        return FailedPrecondition(code, message, tuple(violations))

    if code is grpc.StatusCode.RESOURCE_EXHAUSTED:
        return ResourceExhausted(code, message, _retry_after(status))

    if code is grpc.StatusCode.UNAVAILABLE:
        return Unavailable(code, message, _retry_after(status), _reason(status))

    return _SIMPLE.get(code, TwoFactorError)(code, message)


def _retry_after(status: Status | None) -> timedelta | None:
    retry_info = RetryInfo()
    for detail in status.details if status is not None else ():
        if detail.Unpack(retry_info) and retry_info.HasField("retry_delay"):
            delay: timedelta = retry_info.retry_delay.ToTimedelta()
            return delay
    return None


def _reason(status: Status | None) -> str | None:
    info = ErrorInfo()
    for detail in status.details if status is not None else ():
        if detail.Unpack(info) and info.reason:
            return str(info.reason)
    return None
