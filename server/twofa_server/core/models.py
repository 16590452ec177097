"""The domain's vocabulary: enums, the per-user state and the answers use cases give."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from .otp import TotpParameters


class Method(enum.Enum):
    """A way of proving the second factor (numbered as in the API)."""

    UNSPECIFIED = 0
    AUTHENTICATOR_APP = 1
    EMAIL = 2
    BACKUP_CODE = 3


SETUP_METHODS = (Method.AUTHENTICATOR_APP, Method.EMAIL)

# A set-up (authenticator app or email) not confirmed within this time is void.
PENDING_SETUP_SECONDS = 15 * 60


class MethodState(enum.Enum):
    DISABLED = 1
    PENDING = 2
    ENABLED = 3


class VerifyResult(enum.Enum):
    ACCEPTED = 1
    REJECTED = 2
    LOCKED_OUT = 3


class VerifyReason(enum.Enum):
    OK = 1
    WRONG_CODE = 2
    CODE_REUSED = 3
    CODE_EXPIRED = 4
    NO_ACTIVE_CODE = 5
    MALFORMED_CODE = 6
    TOO_MANY_ATTEMPTS = 7
    LOCKED = 8
    CLOCK_DRIFT = 9  # right code for another time: the phone's clock is off


class DeviceTokenStatus(enum.Enum):
    NOT_REQUESTED = 0
    ISSUED = 1
    POLICY_EVERY_LOGIN = 2
    CODE_NOT_ACCEPTED = 3
    ALREADY_ISSUED = 4  # a replayed answer: the first call got the token


class LoginDecision(enum.Enum):
    REQUIRED = 1
    NOT_REQUIRED = 2
    ENROLLMENT_REQUIRED = 3


class LoginReason(enum.Enum):
    NOT_ENROLLED_OPTIONAL = 1
    NOT_ENROLLED_REQUIRED = 2
    TRUSTED_DEVICE = 3
    EVERY_LOGIN_POLICY = 4
    DEVICE_NOT_TRUSTED = 5
    LOCKED_OUT = 6


class Enforcement(enum.Enum):
    # UNSPECIFIED stands for a value a request left out or that this version
    # does not know; policy validation refuses it.
    UNSPECIFIED = 0
    OPTIONAL = 1
    REQUIRED = 2


class Frequency(enum.Enum):
    UNSPECIFIED = 0
    EVERY_LOGIN = 1
    TRUSTED_DEVICE = 2


class NoticeKind(enum.Enum):
    """A security notice (core/notices.py), which a tenant may turn off (numbered as in the API)."""

    UNSPECIFIED = 0
    METHOD_DISABLED = 1
    RESET_CONFIRMED = 2
    BACKUP_CODES_REGENERATED = 3
    LOCKED_OUT = 4
    DEVICE_TRUSTED = 5
    BACKUP_CODE_USED = 6


NOTICE_KINDS = tuple(kind for kind in NoticeKind if kind is not NoticeKind.UNSPECIFIED)


@dataclass(frozen=True, slots=True)
class UserRef:
    """Who a request is about: a user inside a tenant, both opaque to twofa."""

    tenant_id: str
    user_id: str


@dataclass(frozen=True, slots=True)
class Policy:
    """A tenant's 2FA policy (DESIGN §5); ranges are checked by `policy.validate_policy`."""

    enforcement: Enforcement = Enforcement.OPTIONAL
    frequency: Frequency = Frequency.EVERY_LOGIN
    trusted_device_days: int = 14
    max_attempts: int = 5
    warn_after_failures: int = 3
    lockout_seconds: int = 300
    warning_text: str = "Please try again in five minutes."
    email_code_ttl_seconds: int = 600
    # Empty means every set-up method is allowed.
    allowed_methods: tuple[Method, ...] = ()
    # Each lockout that follows another without a success in between lasts twice as
    # long as the one before, up to max_lockout_seconds (NIST SP 800-63B 5.2.2).
    lockout_escalation: bool = True
    max_lockout_seconds: int = 86400
    # A Reset or new set-up while a method is enabled, turning a method off and new
    # backup codes need a current code (core/proof.py); off: twofa trusts its caller.
    require_proof_for_changes: bool = False
    # Whether new backup codes are also emailed; off, they are only returned (once).
    email_backup_codes: bool = True
    # Security notices the tenant does not send (core/notices.py); empty: all are sent.
    disabled_notices: tuple[NoticeKind, ...] = ()
    # The tenant's mail letterhead (core/letterhead.py); empty: the configured mail.*
    # value. The brand is also the authenticator app's issuer label by default.
    brand: str = ""
    sender_name: str = ""
    sender_address: str = ""
    language: str = ""

    def allows(self, method: Method) -> bool:
        return not self.allowed_methods or method in self.allowed_methods

    def sends(self, notice: NoticeKind) -> bool:
        return notice not in self.disabled_notices


# --- mutable state, loaded and saved inside one store transaction -------------


def method_state(enabled: bool, pending_live: bool) -> MethodState:
    """A method is ENABLED once confirmed (a pending Reset does not change that)."""
    if enabled:
        return MethodState.ENABLED
    return MethodState.PENDING if pending_live else MethodState.DISABLED


@dataclass(slots=True)
class Authenticator:
    """A user's TOTP app: the enabled secret and/or one awaiting confirmation.

    Attributes:
        params: digits, period and algorithm of the user's app (imported users may
            differ from the default); a later set-up keeps them.
        drift_steps: the window's centre, in steps from the server's clock: the offset
            of a phone whose clock is off, learnt from two codes in a row.
        drift_candidate: the offset of the last code that matched outside the window
            (CLOCK_DRIFT), waiting for a second one at the same offset; None: none.
        drift_candidate_step: the step that code matched.
    """

    secret: bytes | None = None
    # RFC 6238 §5.2: a code is accepted only for a step later than this one.
    last_step: int = 0
    enabled_at: float | None = None
    pending_secret: bytes | None = None
    pending_expires_at: float = 0.0
    params: TotpParameters = field(default_factory=TotpParameters)
    drift_steps: int = 0
    drift_candidate: int | None = None
    drift_candidate_step: int = 0

    def state(self, now: float) -> MethodState:
        return method_state(self.secret is not None, self.pending_live(now))

    def pending_live(self, now: float) -> bool:
        return self.pending_secret is not None and now < self.pending_expires_at


@dataclass(slots=True)
class EmailCode:
    """An outstanding email code: only its keyed digest is kept."""

    digest: bytes
    expires_at: float


@dataclass(slots=True)
class EmailMethod:
    """A user's email method: the enabled address, a pending one, outstanding codes."""

    address: str | None = None
    enabled_at: float | None = None
    pending_address: str | None = None
    pending_expires_at: float = 0.0
    # One code per purpose; a new code of a purpose supersedes the previous one.
    setup_code: EmailCode | None = None
    login_code: EmailCode | None = None
    # When codes were sent in the last hour, oldest first (cooldown and hourly cap).
    sent_at: list[float] = field(default_factory=list)

    def state(self, now: float) -> MethodState:
        return method_state(self.address is not None, self.pending_live(now))

    def pending_live(self, now: float) -> bool:
        return self.pending_address is not None and now < self.pending_expires_at


@dataclass(slots=True)
class TrustedDevice:
    """A device the user chose to remember; only a keyed digest of its token is kept."""

    device_id: str
    digest: bytes
    label: str
    created_at: float
    last_used_at: float


@dataclass(slots=True)
class Attempts:
    """The one failed-attempt budget shared by every code type.

    Attributes:
        failures: failures since the last success, unlock or served lockout.
        last_failure_at: when the last failure happened.
        locked_until: the end of the current lockout, or of the last one once served.
        lockouts: lockouts in a row without a success in between (the escalation level).
    """

    failures: int = 0
    last_failure_at: float = 0.0
    locked_until: float = 0.0
    lockouts: int = 0


@dataclass(slots=True)
class Replay:
    """The answer to a code sent with an idempotency key, kept a few minutes for its retries.

    It holds nothing secret: a retry gets the verdict again, never a second device
    token or the backup codes.

    Attributes:
        key_digest: keyed digest of the idempotency key, bound to the user.
        request_digest: keyed digest of what was asked (which use case, which code).
        expires_at: when a retry no longer gets this answer.
        verdict: the first call's verdict.
        backup_codes_remaining: as the first answer said.
        device_token_status: as the first answer said.
        device_token_expires_at: when the first call's device token expires, if issued.
    """

    key_digest: bytes
    request_digest: bytes
    expires_at: float
    verdict: Verdict
    backup_codes_remaining: int = 0
    device_token_status: DeviceTokenStatus = DeviceTokenStatus.NOT_REQUESTED
    device_token_expires_at: float | None = None


@dataclass(slots=True)
class UserState:
    """Everything twofa keeps about one user's second factor."""

    authenticator: Authenticator = field(default_factory=Authenticator)
    attempts: Attempts = field(default_factory=Attempts)
    email: EmailMethod = field(default_factory=EmailMethod)
    # Keyed digests of the unused backup codes.
    backup_codes: list[bytes] = field(default_factory=list)
    devices: list[TrustedDevice] = field(default_factory=list)
    # Recent answers to codes sent with an idempotency key (replays.py).
    replays: list[Replay] = field(default_factory=list)

    def enabled_methods(self) -> tuple[Method, ...]:
        enabled = []
        if self.authenticator.secret is not None:
            enabled.append(Method.AUTHENTICATOR_APP)
        if self.email.address is not None:
            enabled.append(Method.EMAIL)
        return tuple(enabled)

    def is_empty(self) -> bool:
        """True when nothing about the user is worth keeping."""
        return self == UserState()


# --- answers ---------------------------------------------------------------------


class MailKind(enum.Enum):
    SETUP_CODE = "setup_code"
    LOGIN_CODE = "login_code"
    BACKUP_CODES = "backup_codes"
    # Security notices: what happened and when; never a code, a token or an address.
    METHOD_DISABLED = "method_disabled"
    RESET_CONFIRMED = "reset_confirmed"
    BACKUP_CODES_REGENERATED = "backup_codes_regenerated"
    LOCKED_OUT = "locked_out"
    DEVICE_TRUSTED = "device_trusted"
    BACKUP_CODE_USED = "backup_code_used"

    @property
    def is_notice(self) -> bool:
        return self.name in NoticeKind.__members__

    @classmethod
    def of_notice(cls, notice: NoticeKind) -> MailKind:
        return cls[notice.name]


@dataclass(frozen=True, slots=True)
class Letterhead:
    """Whose name a message goes out in: the tenant's policy values when it queued;
    an empty value stands for the configured default (mail.brand, mail.sender_name,
    mail.from, mail.language) when it is sent."""

    brand: str = ""
    sender_name: str = ""
    sender_address: str = ""
    language: str = ""


@dataclass(frozen=True, slots=True)
class NoticeFacts:
    """What a security notice reports, besides its kind.

    Attributes:
        at: when it happened.
        method: the method turned off or reset (METHOD_DISABLED, RESET_CONFIRMED).
        until: when the lockout ends (LOCKED_OUT).
        device_label: the label the application gave the new trusted device (DEVICE_TRUSTED);
            never its token.
        remaining: backup codes left (BACKUP_CODE_USED).
    """

    at: float
    method: Method | None = None
    until: float | None = None
    device_label: str = ""
    remaining: int | None = None


@dataclass(frozen=True, slots=True)
class Mail:
    """A message to send, queued in the outbox in the transaction that made its codes or
    the change it reports."""

    kind: MailKind
    recipient: str
    # One six-digit code, or the backup codes (XXXX-XXXX-XXXX); none in a notice.
    codes: tuple[str, ...]
    # When the code stops working (the outbox drops it then); None for backup codes
    # and notices.
    expires_at: float | None
    # Stable per outbox record, so a retried send is recognisable as the same message.
    message_id: str = ""
    letterhead: Letterhead = Letterhead()
    # What a notice reports; None for the messages that carry codes.
    notice: NoticeFacts | None = None


@dataclass(frozen=True, slots=True)
class QueuedMail:
    """A message in the outbox, with its delivery bookkeeping."""

    id: bytes
    mail: Mail
    created_at: float
    attempts: int
    next_attempt_at: float


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer to a submitted code (VerifyCode and the set-up confirmations)."""

    result: VerifyResult
    reason: VerifyReason
    method: Method
    attempts_remaining: int
    locked_until: float | None = None
    retry_after: float | None = None
    warning: str = ""
    # The app's code matched this far (in seconds) from the server's time: set when
    # accepted, and with CLOCK_DRIFT (so the application can say "check the time").
    clock_offset_seconds: int | None = None

    @property
    def accepted(self) -> bool:
        return self.result is VerifyResult.ACCEPTED


@dataclass(frozen=True, slots=True)
class MethodStatus:
    method: Method
    state: MethodState
    enabled_at: float | None
    reset_pending: bool
    pending_expires_at: float | None


@dataclass(frozen=True, slots=True)
class UserStatus:
    methods: tuple[MethodStatus, ...]
    masked_email: str
    backup_codes_remaining: int
    failed_attempts: int
    locked_until: float | None
    trusted_device_count: int

    @property
    def enrolled(self) -> bool:
        return any(m.state is MethodState.ENABLED for m in self.methods)


@dataclass(frozen=True, slots=True)
class AuthenticatorSetup:
    """A new pending TOTP secret, to show once (QR code rendering is the caller's)."""

    secret: bytes
    otpauth_uri: str
    expires_at: float
    is_reset: bool


@dataclass(frozen=True, slots=True)
class SetupConfirmation:
    verdict: Verdict
    backup_codes: tuple[str, ...] = ()
    replayed: bool = False  # the answer to an earlier call with the same idempotency key


@dataclass(frozen=True, slots=True)
class Verification:
    """VerifyCode's answer: the verdict, what it leaves, and a device token if one was issued."""

    verdict: Verdict
    backup_codes_remaining: int
    device_token_status: DeviceTokenStatus = DeviceTokenStatus.NOT_REQUESTED
    device_token: str = ""
    device_token_expires_at: float | None = None
    replayed: bool = False  # the answer to an earlier call with the same idempotency key


@dataclass(frozen=True, slots=True)
class LoginEvaluation:
    """EvaluateLogin's answer."""

    decision: LoginDecision
    reason: LoginReason
    available_methods: tuple[Method, ...]
    backup_codes_remaining: int
    locked_until: float | None = None
    retry_after: float | None = None
    device_expires_at: float | None = None


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """A trusted device as ListTrustedDevices shows it (never its token)."""

    device_id: str
    label: str
    created_at: float
    last_used_at: float
    expires_at: float


@dataclass(frozen=True, slots=True)
class CodeSent:
    """An email code queued for delivery (BeginEmailSetup, SendLoginCode)."""

    masked_email: str
    code_expires_at: float
    resend_available_at: float
    # Set by BeginEmailSetup: when the pending address expires, and whether it replaces one.
    pending_expires_at: float | None = None
    is_reset: bool = False


@dataclass(frozen=True, slots=True)
class BackupCodes:
    codes: tuple[str, ...]
    emailed_to: str  # masked; empty when no address was known


@dataclass(frozen=True, slots=True)
class PolicyInfo:
    policy: Policy
    is_default: bool
