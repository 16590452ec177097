"""Plain Python types for the twofa API: enums and frozen response dataclasses.

Every enum mirrors the proto enum of the same name, without its prefix
(``METHOD_AUTHENTICATOR_APP`` becomes ``Method.AUTHENTICATOR_APP``); member values
are the proto numbers. A value the client does not know (a newer server) is read
as the enum's ``UNSPECIFIED`` member.

Timestamps are timezone-aware UTC datetimes and durations are timedeltas; a field
the server may leave unset is ``None`` when it is.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = [
    "AuthenticatorSetup",
    "BackupCodes",
    "DeviceTokenStatus",
    "DisableResult",
    "EmailSetup",
    "Enforcement",
    "Frequency",
    "LoginCodeSent",
    "LoginDecision",
    "LoginEvaluation",
    "LoginReason",
    "Method",
    "MethodState",
    "MethodStatus",
    "Notice",
    "Policy",
    "PolicyInfo",
    "QrImages",
    "SetupConfirmation",
    "TrustedDevice",
    "UserStatus",
    "Verdict",
    "Verification",
    "VerifyReason",
    "VerifyResult",
]


# --------------------------------------------------------------------------- enums


class Method(enum.Enum):
    """A way of proving the second factor."""

    UNSPECIFIED = 0
    AUTHENTICATOR_APP = 1
    EMAIL = 2
    BACKUP_CODE = 3


class QrImages(enum.Enum):
    """Which images of the QR code ``begin_authenticator_setup`` asks the server for."""

    UNSPECIFIED = 0  # both, as the server does when the field is not set
    PNG_AND_SVG = 1
    PNG = 2
    SVG = 3
    NONE = 4  # the URI and secret only, for an application that draws the code itself


class MethodState(enum.Enum):
    """Where a method is in its life cycle."""

    UNSPECIFIED = 0
    DISABLED = 1
    PENDING = 2
    ENABLED = 3


class VerifyResult(enum.Enum):
    """The verdict on a submitted code."""

    UNSPECIFIED = 0
    ACCEPTED = 1
    REJECTED = 2
    LOCKED_OUT = 3


class VerifyReason(enum.Enum):
    """Why a code was accepted or refused (for logs and UX hints)."""

    UNSPECIFIED = 0
    OK = 1
    WRONG_CODE = 2
    CODE_REUSED = 3
    CODE_EXPIRED = 4
    NO_ACTIVE_CODE = 5
    MALFORMED_CODE = 6
    TOO_MANY_ATTEMPTS = 7
    LOCKED = 8
    CLOCK_DRIFT = 9
    """Right code for another time: the phone's clock is off by ``clock_offset_seconds``."""


class Enforcement(enum.Enum):
    """Whether a tenant's users must use 2FA."""

    UNSPECIFIED = 0
    OPTIONAL = 1
    REQUIRED = 2


class Frequency(enum.Enum):
    """How often a tenant's users are asked for the second factor."""

    UNSPECIFIED = 0
    EVERY_LOGIN = 1
    TRUSTED_DEVICE = 2


class LoginDecision(enum.Enum):
    """EvaluateLogin's answer."""

    UNSPECIFIED = 0
    REQUIRED = 1
    NOT_REQUIRED = 2
    ENROLLMENT_REQUIRED = 3


class LoginReason(enum.Enum):
    """Why EvaluateLogin decided as it did."""

    UNSPECIFIED = 0
    NOT_ENROLLED_OPTIONAL = 1
    NOT_ENROLLED_REQUIRED = 2
    TRUSTED_DEVICE = 3
    EVERY_LOGIN_POLICY = 4
    DEVICE_NOT_TRUSTED = 5
    LOCKED_OUT = 6


class DeviceTokenStatus(enum.Enum):
    """Why VerifyCode did or did not issue a trusted-device token."""

    UNSPECIFIED = 0
    ISSUED = 1
    POLICY_EVERY_LOGIN = 2
    CODE_NOT_ACCEPTED = 3
    ALREADY_ISSUED = 4
    """A replayed answer (same idempotency key): the first call got the token."""


class ImportResult(enum.Enum):
    """What ImportAuthenticators did for one user."""

    UNSPECIFIED = 0
    IMPORTED = 1
    """The user had no app enabled; now the imported one is."""
    REPLACED = 2
    """The user's enabled app was replaced (replace_existing)."""
    UNCHANGED = 3
    """The user already had this secret with these parameters (a re-run)."""
    ALREADY_ENROLLED = 4
    """The user has another app enabled and keeps it."""


class Notice(enum.Enum):
    """A security notice twofa emails to the user's enabled address; a tenant may turn each
    off (``Policy.disabled_notices``)."""

    UNSPECIFIED = 0
    METHOD_DISABLED = 1
    RESET_CONFIRMED = 2
    BACKUP_CODES_REGENERATED = 3
    LOCKED_OUT = 4
    DEVICE_TRUSTED = 5
    BACKUP_CODE_USED = 6


# ---------------------------------------------------------------------- messages


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """A tenant's 2FA policy (ranges are checked by the server)."""

    enforcement: Enforcement
    frequency: Frequency
    trusted_device_days: int
    max_attempts: int
    warn_after_failures: int
    lockout_seconds: int
    warning_text: str
    email_code_ttl_seconds: int
    allowed_methods: tuple[Method, ...] = ()
    """Methods users may set up and use; empty means both."""
    lockout_escalation: bool | None = None
    """Each lockout after another (no success between) lasts twice as long; None: default."""
    max_lockout_seconds: int | None = None
    """The longest an escalating lockout grows to; None: the server's default."""
    require_proof_for_changes: bool | None = None
    """Sensitive changes need a current code (``proof_code``); None: the server's default."""
    email_backup_codes: bool | None = None
    """New backup codes are also emailed (off: only returned); None: the server's default."""
    disabled_notices: tuple[Notice, ...] = ()
    """Security notices this tenant's users do not get; empty means every notice is sent."""
    brand: str | None = None
    """Product name in messages and the apps' issuer label; None or "": the server's."""
    sender_name: str | None = None
    """Display name of the sender; None or "": ``brand``, else the server's."""
    sender_address: str | None = None
    """Address messages come from; None or "": the server's ``mail.from``."""
    language: str | None = None
    """Language of messages ("en", "de"); None or "": the server's ``mail.language``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyInfo:
    """The policy in force for a tenant, and whether it is the configured default."""

    policy: Policy
    is_default: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class MethodStatus:
    """One method's state for a user."""

    method: Method
    state: MethodState
    enabled_at: datetime | None
    reset_pending: bool
    pending_expires_at: datetime | None

    @property
    def enabled(self) -> bool:
        """True when the method is confirmed and in use."""
        return self.state is MethodState.ENABLED


@dataclass(frozen=True, slots=True, kw_only=True)
class UserStatus:
    """Everything twofa knows about a user's second factor, without secrets."""

    methods: tuple[MethodStatus, ...]
    masked_email: str
    backup_codes_remaining: int
    failed_attempts: int
    locked_until: datetime | None
    trusted_device_count: int
    enrolled: bool

    @property
    def enabled_methods(self) -> tuple[Method, ...]:
        """The methods whose state is ENABLED."""
        return tuple(m.method for m in self.methods if m.state is MethodState.ENABLED)

    def method(self, method: Method) -> MethodStatus | None:
        """The status entry of ``method``, or None when the server sent none."""
        for entry in self.methods:
            if entry.method is method:
                return entry
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class DisableResult:
    """DisableMethod's answer: whether anything changed, and the status afterwards."""

    changed: bool
    status: UserStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthenticatorSetup:
    """A pending authenticator-app set-up: the secret, its URI and QR code."""

    secret: str
    otpauth_uri: str
    qr_png: bytes
    qr_svg: str
    expires_at: datetime
    is_reset: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """The fields shared by every answer to a submitted code."""

    result: VerifyResult
    reason: VerifyReason
    attempts_remaining: int
    retry_after: timedelta | None
    locked_until: datetime | None
    warning: str
    """The policy's warning text from the warn_after_failures-th failure on; else empty."""
    clock_offset_seconds: int | None = None
    """How far from the server's time an app code was (set when accepted, and with
    CLOCK_DRIFT); negative: the phone is behind."""

    @property
    def accepted(self) -> bool:
        """True when the code was accepted."""
        return self.result is VerifyResult.ACCEPTED

    @property
    def locked_out(self) -> bool:
        """True when the user is locked out (codes are not checked until locked_until)."""
        return self.result is VerifyResult.LOCKED_OUT


@dataclass(frozen=True, slots=True, kw_only=True)
class SetupConfirmation(Verdict):
    """The answer to a set-up confirmation; backup codes when this was the first method."""

    backup_codes: tuple[str, ...]
    replayed: bool = False
    """The answer to an earlier call with the same idempotency key; nothing changed now."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Verification(Verdict):
    """VerifyCode's answer; a wrong code is a verdict, not an exception."""

    method: Method
    backup_codes_remaining: int
    device_token: str | None
    device_token_expires_at: datetime | None
    device_token_status: DeviceTokenStatus
    replayed: bool = False
    """The answer to an earlier call with the same idempotency key; nothing changed now."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EmailSetup:
    """A pending email set-up: where the code went and when things expire."""

    masked_email: str
    code_expires_at: datetime
    expires_at: datetime
    resend_available_at: datetime
    is_reset: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class LoginCodeSent:
    """A login code was emailed."""

    masked_email: str
    code_expires_at: datetime
    resend_available_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class LoginEvaluation:
    """EvaluateLogin's answer: whether this login needs the second factor, and why."""

    decision: LoginDecision
    reason: LoginReason
    available_methods: tuple[Method, ...]
    backup_codes_remaining: int
    locked_until: datetime | None
    retry_after: timedelta | None
    device_expires_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class BackupCodes:
    """A new set of backup codes (shown once) and the masked address they were emailed to."""

    codes: tuple[str, ...]
    emailed_to: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustedDevice:
    """A device the user chose to trust (its token is never returned again)."""

    device_id: str
    label: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportedAuthenticator:
    """One user's existing authenticator app, to move in from another 2FA system.

    The secret is sent to the server and nowhere else; keep it out of logs.
    """

    user_id: str
    secret_base32: str = field(repr=False)
    digits: int = 6
    """6 or 8."""
    period_seconds: int = 30
    """30 or 60."""
    algorithm: str = "SHA1"
    """SHA1, SHA256 or SHA512."""
    last_used_step: int | None = None
    """The last time step (Unix time // period) a code was accepted for, if known."""
