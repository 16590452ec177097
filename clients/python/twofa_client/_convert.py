"""Conversions between the generated ``twofa.v1`` messages and the client's types.

Every proto-to-Python mapping lives here so that the client methods stay one line each.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from twofa.v1 import twofa_pb2 as pb

from .types import (
    AuthenticatorSetup,
    BackupCodes,
    DeviceTokenStatus,
    DisableResult,
    EmailSetup,
    Enforcement,
    Frequency,
    ImportedAuthenticator,
    LoginCodeSent,
    LoginDecision,
    LoginEvaluation,
    LoginReason,
    Method,
    MethodState,
    MethodStatus,
    Notice,
    Policy,
    PolicyInfo,
    QrImages,
    SetupConfirmation,
    TrustedDevice,
    UserStatus,
    Verification,
    VerifyReason,
    VerifyResult,
)

_E = TypeVar("_E", bound=enum.Enum)

#: The names of Policy's fields, which are also the proto field names and mask paths.
POLICY_FIELDS: frozenset[str] = frozenset(pb.Policy.DESCRIPTOR.fields_by_name)
#: The Policy fields that name the tenant's letterhead (text; unset: the server's default).
_LETTERHEAD = ("brand", "sender_name", "sender_address", "language")
#: The Policy fields that switch a behaviour on or off (unset: the server's default).
_SWITCHES = ("lockout_escalation", "require_proof_for_changes", "email_backup_codes")


# ------------------------------------------------------------------- scalars


def enum_from_pb(cls: type[_E], value: int) -> _E:
    """The member of ``cls`` with proto number ``value``; UNSPECIFIED for unknown numbers."""
    try:
        return cls(value)
    except ValueError:
        return cls["UNSPECIFIED"]


def methods_from_pb(values: Iterable[int]) -> tuple[Method, ...]:
    """A repeated Method field as a tuple of Method."""
    return tuple(enum_from_pb(Method, v) for v in values)


def timestamp(ts: Timestamp) -> datetime:
    """A Timestamp the server always sets, as an aware UTC datetime."""
    return ts.ToDatetime(tzinfo=UTC)


def optional_timestamp(msg: Message, field: str) -> datetime | None:
    """The Timestamp field ``field`` of ``msg`` as an aware UTC datetime, None when unset."""
    if not msg.HasField(field):
        return None
    value = getattr(msg, field)
    assert isinstance(value, Timestamp)
    return timestamp(value)


def optional_duration(msg: Message, field: str) -> timedelta | None:
    """The Duration field ``field`` of ``msg`` as a timedelta, None when unset."""
    if not msg.HasField(field):
        return None
    value = getattr(msg, field)
    assert isinstance(value, Duration)
    return value.ToTimedelta()


# ------------------------------------------------------------------- messages


def method_status(msg: pb.MethodStatus) -> MethodStatus:
    """MethodStatus message to dataclass."""
    return MethodStatus(
        method=enum_from_pb(Method, msg.method),
        state=enum_from_pb(MethodState, msg.state),
        enabled_at=optional_timestamp(msg, "enabled_at"),
        reset_pending=msg.reset_pending,
        pending_expires_at=optional_timestamp(msg, "pending_expires_at"),
    )


def user_status(msg: pb.UserStatus) -> UserStatus:
    """UserStatus message to dataclass."""
    return UserStatus(
        methods=tuple(method_status(m) for m in msg.methods),
        masked_email=msg.masked_email,
        backup_codes_remaining=msg.backup_codes_remaining,
        failed_attempts=msg.failed_attempts,
        locked_until=optional_timestamp(msg, "locked_until"),
        trusted_device_count=msg.trusted_device_count,
        enrolled=msg.enrolled,
    )


def disable_result(msg: pb.DisableMethodResponse) -> DisableResult:
    """DisableMethodResponse to dataclass."""
    return DisableResult(changed=msg.changed, status=user_status(msg.status))


def authenticator_setup(msg: pb.BeginAuthenticatorSetupResponse) -> AuthenticatorSetup:
    """BeginAuthenticatorSetupResponse to dataclass."""
    return AuthenticatorSetup(
        secret=msg.secret,
        otpauth_uri=msg.otpauth_uri,
        qr_png=msg.qr_png,
        qr_svg=msg.qr_svg,
        expires_at=timestamp(msg.expires_at),
        is_reset=msg.is_reset,
    )


def _optional(msg: Message, name: str) -> Any:
    """The scalar field ``name`` of ``msg`` (one with presence), None when unset."""
    return getattr(msg, name) if msg.HasField(name) else None


def setup_confirmation(
    msg: pb.ConfirmAuthenticatorSetupResponse | pb.ConfirmEmailSetupResponse,
) -> SetupConfirmation:
    """Confirm{Authenticator,Email}SetupResponse (identical shapes) to dataclass."""
    return SetupConfirmation(
        result=enum_from_pb(VerifyResult, msg.result),
        reason=enum_from_pb(VerifyReason, msg.reason),
        attempts_remaining=msg.attempts_remaining,
        retry_after=optional_duration(msg, "retry_after"),
        locked_until=optional_timestamp(msg, "locked_until"),
        warning=msg.warning,
        clock_offset_seconds=_optional(msg, "clock_offset_seconds"),
        backup_codes=tuple(msg.backup_codes),
        replayed=msg.replayed,
    )


def verification(msg: pb.VerifyCodeResponse) -> Verification:
    """VerifyCodeResponse to dataclass; an empty device token becomes None."""
    return Verification(
        result=enum_from_pb(VerifyResult, msg.result),
        reason=enum_from_pb(VerifyReason, msg.reason),
        attempts_remaining=msg.attempts_remaining,
        retry_after=optional_duration(msg, "retry_after"),
        locked_until=optional_timestamp(msg, "locked_until"),
        warning=msg.warning,
        clock_offset_seconds=_optional(msg, "clock_offset_seconds"),
        method=enum_from_pb(Method, msg.method),
        backup_codes_remaining=msg.backup_codes_remaining,
        device_token=msg.device_token or None,
        device_token_expires_at=optional_timestamp(msg, "device_token_expires_at"),
        device_token_status=enum_from_pb(DeviceTokenStatus, msg.device_token_status),
        replayed=msg.replayed,
    )


def email_setup(msg: pb.BeginEmailSetupResponse) -> EmailSetup:
    """BeginEmailSetupResponse to dataclass."""
    return EmailSetup(
        masked_email=msg.masked_email,
        code_expires_at=timestamp(msg.code_expires_at),
        expires_at=timestamp(msg.expires_at),
        resend_available_at=timestamp(msg.resend_available_at),
        is_reset=msg.is_reset,
    )


def login_code_sent(msg: pb.SendLoginCodeResponse) -> LoginCodeSent:
    """SendLoginCodeResponse to dataclass."""
    return LoginCodeSent(
        masked_email=msg.masked_email,
        code_expires_at=timestamp(msg.code_expires_at),
        resend_available_at=timestamp(msg.resend_available_at),
    )


def login_evaluation(msg: pb.EvaluateLoginResponse) -> LoginEvaluation:
    """EvaluateLoginResponse to dataclass."""
    return LoginEvaluation(
        decision=enum_from_pb(LoginDecision, msg.decision),
        reason=enum_from_pb(LoginReason, msg.reason),
        available_methods=methods_from_pb(msg.available_methods),
        backup_codes_remaining=msg.backup_codes_remaining,
        locked_until=optional_timestamp(msg, "locked_until"),
        retry_after=optional_duration(msg, "retry_after"),
        device_expires_at=optional_timestamp(msg, "device_expires_at"),
    )


def backup_codes(msg: pb.RegenerateBackupCodesResponse) -> BackupCodes:
    """RegenerateBackupCodesResponse to dataclass."""
    return BackupCodes(codes=tuple(msg.backup_codes), emailed_to=msg.emailed_to)


def trusted_device(msg: pb.TrustedDevice) -> TrustedDevice:
    """TrustedDevice message to dataclass."""
    return TrustedDevice(
        device_id=msg.device_id,
        label=msg.label,
        created_at=timestamp(msg.created_at),
        last_used_at=optional_timestamp(msg, "last_used_at"),
        expires_at=timestamp(msg.expires_at),
    )


def policy(msg: pb.Policy) -> Policy:
    """Policy message to dataclass."""
    return Policy(
        enforcement=enum_from_pb(Enforcement, msg.enforcement),
        frequency=enum_from_pb(Frequency, msg.frequency),
        trusted_device_days=msg.trusted_device_days,
        max_attempts=msg.max_attempts,
        warn_after_failures=msg.warn_after_failures,
        lockout_seconds=msg.lockout_seconds,
        warning_text=msg.warning_text,
        email_code_ttl_seconds=msg.email_code_ttl_seconds,
        allowed_methods=methods_from_pb(msg.allowed_methods),
        max_lockout_seconds=_optional(msg, "max_lockout_seconds"),
        disabled_notices=tuple(enum_from_pb(Notice, n) for n in msg.disabled_notices),
        **{name: _optional(msg, name) for name in (*_SWITCHES, *_LETTERHEAD)},
    )


def policy_info(msg: pb.GetPolicyResponse) -> PolicyInfo:
    """GetPolicyResponse to dataclass."""
    return PolicyInfo(policy=policy(msg.policy), is_default=msg.is_default)


# ------------------------------------------------------------------- requests


def policy_to_pb(value: Policy) -> pb.Policy:
    """Policy dataclass to message."""
    return pb.Policy(
        enforcement=enforcement_to_pb(value.enforcement),
        frequency=frequency_to_pb(value.frequency),
        trusted_device_days=value.trusted_device_days,
        max_attempts=value.max_attempts,
        warn_after_failures=value.warn_after_failures,
        lockout_seconds=value.lockout_seconds,
        warning_text=value.warning_text,
        email_code_ttl_seconds=value.email_code_ttl_seconds,
        allowed_methods=[method_to_pb(m, "allowed_methods") for m in value.allowed_methods],
        lockout_escalation=value.lockout_escalation,
        max_lockout_seconds=value.max_lockout_seconds,
        require_proof_for_changes=value.require_proof_for_changes,
        email_backup_codes=value.email_backup_codes,
        disabled_notices=[notice_to_pb(n, "disabled_notices") for n in value.disabled_notices],
        brand=value.brand,
        sender_name=value.sender_name,
        sender_address=value.sender_address,
        language=value.language,
    )


def policy_fields_to_pb(fields: dict[str, object]) -> pb.Policy:
    """Some Policy fields (by proto name) to a message holding just those values.

    Raises TypeError for an unknown field name or a value of the wrong type.
    """
    unknown = sorted(set(fields) - POLICY_FIELDS)
    if unknown:
        raise TypeError(f"unknown Policy field(s): {', '.join(unknown)}")
    msg = pb.Policy()
    for name, value in fields.items():
        if name == "allowed_methods":
            if isinstance(value, str | bytes | Method) or not isinstance(value, Iterable):
                raise TypeError("allowed_methods must be a sequence of Method")
            msg.allowed_methods.extend(method_to_pb(m, name) for m in value)
        elif name == "enforcement":
            msg.enforcement = enforcement_to_pb(value)
        elif name == "frequency":
            msg.frequency = frequency_to_pb(value)
        elif name == "disabled_notices":
            if isinstance(value, str | bytes | Notice) or not isinstance(value, Iterable):
                raise TypeError("disabled_notices must be a sequence of Notice")
            msg.disabled_notices.extend(notice_to_pb(n, name) for n in value)
        elif name in _SWITCHES:
            if not isinstance(value, bool):
                raise TypeError(f"{name} must be a bool")
            setattr(msg, name, value)
        elif name in ("warning_text", *_LETTERHEAD):
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a str")
            setattr(msg, name, value)
        else:
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{name} must be an int")
            setattr(msg, name, value)
    return msg


def method_to_pb(value: object, name: str = "method") -> pb.Method:
    """A Method member as the proto enum value; TypeError for anything else."""
    return cast("pb.Method", _number(Method, value, name))


def qr_images_to_pb(value: object, name: str = "qr_images") -> pb.QrImages:
    """A QrImages member as the proto enum value; TypeError for anything else."""
    return cast("pb.QrImages", _number(QrImages, value, name))


def notice_to_pb(value: object, name: str = "notice") -> pb.Notice:
    """A Notice member as the proto enum value; TypeError for anything else."""
    return cast("pb.Notice", _number(Notice, value, name))


def enforcement_to_pb(value: object, name: str = "enforcement") -> pb.Enforcement:
    """An Enforcement member as the proto enum value; TypeError for anything else."""
    return cast("pb.Enforcement", _number(Enforcement, value, name))


def frequency_to_pb(value: object, name: str = "frequency") -> pb.Frequency:
    """A Frequency member as the proto enum value; TypeError for anything else."""
    return cast("pb.Frequency", _number(Frequency, value, name))


def _number(cls: type[enum.Enum], value: object, name: str) -> int:
    """The proto number of enum member ``value``; TypeError when it is not a ``cls``."""
    if not isinstance(value, cls):
        raise TypeError(f"{name} must be a {cls.__name__} member, not {type(value).__name__}")
    number = value.value
    assert isinstance(number, int)
    return number


def imported_authenticator_to_pb(value: ImportedAuthenticator) -> pb.ImportedAuthenticator:
    algorithm = value.algorithm.upper().replace("-", "")
    if algorithm not in ("SHA1", "SHA256", "SHA512"):
        raise ValueError(f"algorithm must be SHA1, SHA256 or SHA512, not {value.algorithm!r}")
    message = pb.ImportedAuthenticator(
        user_id=value.user_id,
        secret_base32=value.secret_base32,
        digits=value.digits,
        period_seconds=value.period_seconds,
        algorithm=f"TOTP_ALGORITHM_{algorithm}",
    )
    if value.last_used_step is not None:
        message.last_used_step = value.last_used_step
    return message
