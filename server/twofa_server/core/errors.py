"""The domain's errors, one class per kind of refusal; api/errors.py maps them to statuses."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One malformed request field: its name (as in the API) and what is allowed."""

    field: str
    description: str


class TwoFactorError(Exception):
    """Base of every error a use case raises on purpose."""


MAX_IN_MESSAGE = 3  # violations quoted in the status message; the details hold them all


class InvalidArgument(TwoFactorError):
    """The request is malformed; nothing was changed."""

    def __init__(self, violations: list[FieldViolation]) -> None:
        self.violations = tuple(violations)
        shown = "; ".join(f"{v.field}: {v.description}" for v in violations[:MAX_IN_MESSAGE])
        more = len(violations) - MAX_IN_MESSAGE
        super().__init__(shown + (f"; and {more} more (see the details)" if more > 0 else ""))


class FailedPrecondition(TwoFactorError):
    """The request does not fit the user's current state; nothing was changed.

    Args:
        subject: what is in the wrong state, e.g. "AUTHENTICATOR_APP".
        kind: a stable UPPER_SNAKE name of the condition, e.g. "NO_PENDING_SETUP".
        message: an English sentence for the developer.
    """

    def __init__(self, subject: str, kind: str, message: str) -> None:
        self.subject = subject
        self.kind = kind
        super().__init__(message)


class RateLimited(TwoFactorError):
    """Not now: try again after `retry_after` seconds; nothing was changed.

    Args:
        reason: a stable UPPER_SNAKE name, e.g. "RESEND_COOLDOWN".
        retry_after: seconds until the request can succeed.
        message: an English sentence for the developer.
    """

    def __init__(self, reason: str, retry_after: float, message: str) -> None:
        self.reason = reason
        self.retry_after = retry_after
        super().__init__(message)


class StoreFull(TwoFactorError):
    """The store has no room left for this change; reads still work."""


class StoreUnavailable(TwoFactorError):
    """The store cannot be used right now; nothing is known to have changed.

    Args:
        message: an English sentence for the operator's log, never for the caller.
        reason: a stable UPPER_SNAKE name, e.g. "DATABASE_UNREACHABLE", "KEY_NOT_LOADED".
        retry_after: seconds after which a retry may succeed.
    """

    def __init__(
        self,
        message: str = "the store cannot be used",
        reason: str = "STORE_UNAVAILABLE",
        retry_after: float = 1.0,
    ) -> None:
        self.reason = reason
        self.retry_after = retry_after
        super().__init__(message)
