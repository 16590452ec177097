"""Pure conversions between the API's protobuf messages and the domain's types."""

from __future__ import annotations

import enum
from typing import Any, Protocol, TypeVar

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from twofa.v1 import twofa_pb2 as pb

from ..core.errors import FieldViolation, InvalidArgument
from ..core.importing import AuthenticatorEntry
from ..core.models import (
    Enforcement,
    Frequency,
    Method,
    MethodStatus,
    NoticeKind,
    Policy,
    UserRef,
    UserStatus,
    Verdict,
)
from ..core.policy import policy_numbers

E = TypeVar("E", bound=enum.Enum)


class UserScoped(Protocol):
    """Any request naming a user."""

    @property
    def tenant_id(self) -> str: ...

    @property
    def user_id(self) -> str: ...


def user_ref(request: UserScoped) -> UserRef:
    return UserRef(request.tenant_id, request.user_id)


def to_domain_enum(kind: type[E], value: int, field: str) -> E:
    """Maps a proto enum number to the domain enum of the same meaning.

    Raises:
        InvalidArgument: naming `field` when this version knows no such number.
    """
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(member.name for member in kind)
        raise InvalidArgument(
            [FieldViolation(field, f"is {value}, an unknown value; allowed: {allowed}")]
        ) from None


def method_from_pb(value: int, field: str = "method") -> Method:
    return to_domain_enum(Method, value, field)


def enum_number(value: enum.Enum) -> Any:
    """A domain enum as the proto enum number of the same meaning (the numbers match)."""
    return value.value


def timestamp(unix_seconds: float | None) -> Timestamp | None:
    if unix_seconds is None:
        return None
    stamp = Timestamp()
    stamp.FromMicroseconds(round(unix_seconds * 1e6))
    return stamp


def duration(seconds: float | None) -> Duration | None:
    if seconds is None:
        return None
    span = Duration()
    span.FromMicroseconds(round(seconds * 1e6))
    return span


def verdict_fields(verdict: Verdict) -> dict[str, Any]:
    """The verdict fields shared by VerifyCode and the set-up confirmations."""
    return {
        "result": enum_number(verdict.result),
        "reason": enum_number(verdict.reason),
        "attempts_remaining": verdict.attempts_remaining,
        "retry_after": duration(verdict.retry_after),
        "locked_until": timestamp(verdict.locked_until),
        "warning": verdict.warning,
        "clock_offset_seconds": verdict.clock_offset_seconds,
    }


def method_status_to_pb(status: MethodStatus) -> pb.MethodStatus:
    return pb.MethodStatus(
        method=enum_number(status.method),
        state=enum_number(status.state),
        enabled_at=timestamp(status.enabled_at),
        reset_pending=status.reset_pending,
        pending_expires_at=timestamp(status.pending_expires_at),
    )


def user_status_to_pb(status: UserStatus) -> pb.UserStatus:
    return pb.UserStatus(
        methods=[method_status_to_pb(m) for m in status.methods],
        masked_email=status.masked_email,
        backup_codes_remaining=status.backup_codes_remaining,
        failed_attempts=status.failed_attempts,
        locked_until=timestamp(status.locked_until),
        trusted_device_count=status.trusted_device_count,
        enrolled=status.enrolled,
    )


def policy_to_pb(policy: Policy) -> pb.Policy:
    return pb.Policy(**policy_numbers(policy))


_OPTIONAL_POLICY_FIELDS = tuple(
    field.name for field in pb.Policy.DESCRIPTOR.fields if field.has_presence
)


def policy_from_pb(message: pb.Policy) -> tuple[Policy, frozenset[str]]:
    """The policy a request carries, and the names of the fields it left unset.

    Only fields added after the first version can be unset (proto3 `optional`); an
    unset one stands for the configured default, which the use case fills in.
    """
    defaults = Policy()
    unset = frozenset(name for name in _OPTIONAL_POLICY_FIELDS if not message.HasField(name))
    policy = Policy(
        enforcement=to_domain_enum(Enforcement, message.enforcement, "policy.enforcement"),
        frequency=to_domain_enum(Frequency, message.frequency, "policy.frequency"),
        trusted_device_days=message.trusted_device_days,
        max_attempts=message.max_attempts,
        warn_after_failures=message.warn_after_failures,
        lockout_seconds=message.lockout_seconds,
        warning_text=message.warning_text,
        email_code_ttl_seconds=message.email_code_ttl_seconds,
        allowed_methods=tuple(
            method_from_pb(m, "policy.allowed_methods") for m in message.allowed_methods
        ),
        disabled_notices=tuple(
            to_domain_enum(NoticeKind, n, "policy.disabled_notices")
            for n in message.disabled_notices
        ),
        **{
            name: getattr(defaults, name) if name in unset else getattr(message, name)
            for name in _OPTIONAL_POLICY_FIELDS
        },
    )
    return policy, unset


_ALGORITHM_NAMES = {
    pb.TOTP_ALGORITHM_UNSPECIFIED: "",
    pb.TOTP_ALGORITHM_SHA1: "SHA1",
    pb.TOTP_ALGORITHM_SHA256: "SHA256",
    pb.TOTP_ALGORITHM_SHA512: "SHA512",
}


def authenticator_entry_from_pb(message: pb.ImportedAuthenticator) -> AuthenticatorEntry:
    return AuthenticatorEntry(
        user_id=message.user_id,
        secret=message.secret_base32,
        digits=message.digits,
        period=message.period_seconds,
        # A number this version does not know fails core's check, which lists the names.
        algorithm=_ALGORITHM_NAMES.get(message.algorithm, str(message.algorithm)),
        last_used_step=(message.last_used_step if message.HasField("last_used_step") else None),
    )
