"""The one place where domain errors become gRPC statuses with rich details.

Deliberate refusals (TwoFactorError) carry google.rpc details that name the
field or condition; anything else is INTERNAL with a fixed text
(api/interceptors/error_mapping.py applies this to every call).
"""

from __future__ import annotations

import math

from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2

from ..core.errors import (
    FailedPrecondition,
    InvalidArgument,
    RateLimited,
    StoreFull,
    StoreUnavailable,
    TwoFactorError,
)

ERROR_DOMAIN = "twofa"
RENDERER_UNAVAILABLE = "QR_RENDERER_UNAVAILABLE"
INTERNAL_MESSAGE = "internal error"
UNAVAILABLE_MESSAGE = "the store is unavailable; retry later"


class RendererUnavailable(TwoFactorError):
    """No QR renderer answered in time (it died, hung, or none was free); a retry may succeed.

    The pending set-up stays as the use case left it: a retry begins another.
    """

    def __init__(self, retry_after: float = 1.0) -> None:
        self.retry_after = retry_after
        super().__init__("the QR code could not be rendered; retry")


def _packed(detail: Message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(detail)
    return packed


def _error_info(reason: str) -> any_pb2.Any:
    return _packed(error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN))


def _retry_info(seconds: float) -> any_pb2.Any:
    delay = duration_pb2.Duration()
    delay.FromMilliseconds(max(1, math.ceil(seconds * 1000)))
    return _packed(error_details_pb2.RetryInfo(retry_delay=delay))


# What a caller may learn of why the store is unavailable (the cause is in the server's log).
_UNAVAILABLE_MESSAGES = {
    "KEY_NOT_LOADED": "this instance's keyring lacks a key the user's record needs; "
    "retry shortly (the keyring update is on its way)",
    "COMMIT_OUTCOME_UNKNOWN": "the store's answer was lost; retry (the change may or may "
    "not have been made)",
}


def status_for(error: TwoFactorError) -> status_pb2.Status:
    """The google.rpc.Status a deliberate refusal is answered with."""
    if isinstance(error, InvalidArgument):
        request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=v.field, description=v.description
                )
                for v in error.violations
            ]
        )
        return status_pb2.Status(
            code=code_pb2.INVALID_ARGUMENT,
            message=f"invalid request: {error}",
            details=[_packed(request)],
        )
    if isinstance(error, FailedPrecondition):
        failure = error_details_pb2.PreconditionFailure(
            violations=[
                error_details_pb2.PreconditionFailure.Violation(
                    type=error.kind, subject=error.subject, description=str(error)
                )
            ]
        )
        return status_pb2.Status(
            code=code_pb2.FAILED_PRECONDITION,
            message=str(error),
            details=[_packed(failure), _error_info(error.kind)],
        )
    if isinstance(error, RateLimited):
        return status_pb2.Status(
            code=code_pb2.RESOURCE_EXHAUSTED,
            message=f"{error} (retry in {math.ceil(error.retry_after)} s)",
            details=[_retry_info(error.retry_after), _error_info(error.reason)],
        )
    if isinstance(error, StoreFull):
        return status_pb2.Status(
            code=code_pb2.RESOURCE_EXHAUSTED,
            message=str(error),
            details=[_error_info("STORE_FULL")],
        )
    if isinstance(error, StoreUnavailable):
        return status_pb2.Status(
            code=code_pb2.UNAVAILABLE,
            message=_UNAVAILABLE_MESSAGES.get(error.reason, UNAVAILABLE_MESSAGE),
            details=[_retry_info(error.retry_after), _error_info(error.reason)],
        )
    if isinstance(error, RendererUnavailable):
        return status_pb2.Status(
            code=code_pb2.UNAVAILABLE,
            message=str(error),
            details=[_retry_info(error.retry_after), _error_info(RENDERER_UNAVAILABLE)],
        )
    return status_pb2.Status(code=code_pb2.INTERNAL, message=INTERNAL_MESSAGE)
