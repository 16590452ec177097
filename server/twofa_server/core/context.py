"""What every use case shares: its dependencies and the steps all of them repeat."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from . import attempts as budget
from . import devices, email
from .authenticator import Check
from .codes import (
    CodeShape,
    Proof,
    TypedCode,
    backup_code_digest,
    email_code_digest,
    new_backup_codes,
    read_code,
)
from .errors import FailedPrecondition, RateLimited
from .events import Event, EventType
from .letterhead import letterhead_of
from .models import (
    SETUP_METHODS,
    Mail,
    MailKind,
    Method,
    MethodStatus,
    Policy,
    UserRef,
    UserState,
    UserStatus,
    Verdict,
    VerifyReason,
)
from .ports import Clock, Hasher, Random, Transaction


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """What the use cases take from configuration."""

    default_policy: Policy
    default_issuer: str
    # The domains a tenant's sender_address may use (mail.sender_domains); empty: any.
    sender_domains: tuple[str, ...] = ()


class UseCaseContext:
    """The dependencies of the use cases, and the steps they share.

    A use case checks its request and prepares what needs no store, then returns
    its transaction as Work (core/work.py) for the caller to run.
    """

    def __init__(
        self,
        clock: Clock,
        random: Random,
        hasher: Hasher,
        settings: ServiceSettings,
    ) -> None:
        """
        Args:
            clock, random, hasher: the outside world.
            settings: defaults from configuration.
        """
        self._clock = clock
        self._random = random
        self._hasher = hasher
        self._settings = settings

    def _policy(self, tx: Transaction, tenant_id: str) -> Policy:
        return tx.get_policy(tenant_id) or self._settings.default_policy

    def _code_digest(self, user: UserRef, typed: TypedCode) -> bytes:
        """The keyed digest an email or backup code is stored as (computed before the
        transaction, so it is not repeated if the transaction runs again)."""
        if typed.shape is CodeShape.SIX_DIGITS:
            return email_code_digest(self._hasher, user, typed.text)
        if typed.shape is CodeShape.BACKUP_CODE:
            return backup_code_digest(self._hasher, user, typed.text)
        return b""

    def _proof(self, user: UserRef, proof_code: str) -> Proof | None:
        """A change request's proof code, read and hashed outside the transaction."""
        if not proof_code:
            return None
        typed = read_code(proof_code)
        return Proof(typed, self._code_digest(user, typed))

    def _issue_backup_codes(
        self, tx: Transaction, user: UserRef, state: UserState, policy: Policy, notify_email: str
    ) -> tuple[tuple[str, ...], str]:
        """Replaces the user's backup codes and queues them by email, if the policy emails them.

        Returns the codes (to show once) and the address they go to: the enabled
        email address, else `notify_email`, else none ("", also when the policy's
        email_backup_codes is off).
        """
        codes = new_backup_codes(self._random)
        state.backup_codes = [
            backup_code_digest(self._hasher, user, read_code(code).text) for code in codes
        ]
        recipient = (state.email.address or notify_email) if policy.email_backup_codes else ""
        if recipient:
            mail = Mail(
                MailKind.BACKUP_CODES,
                recipient,
                codes,
                expires_at=None,
                letterhead=letterhead_of(policy),
            )
            tx.enqueue_mail(user, mail)
        return codes, recipient


def record_attempt(
    state: UserState,
    policy: Policy,
    now: float,
    method: Method,
    check: Check,
) -> Verdict:
    """Applies a checked code's outcome to the user's budget and returns the verdict.

    The failure that uses up the budget also voids every outstanding email code,
    so a lockout cannot be sat out with a code in hand.
    """
    verdict, state.attempts = budget.record(state.attempts, now, policy, method, check.reason)
    if verdict.reason is VerifyReason.TOO_MANY_ATTEMPTS:
        email.void_codes(state.email)
    if check.offset_seconds is not None:
        verdict = dataclasses.replace(verdict, clock_offset_seconds=check.offset_seconds)
    return verdict


def require_allowed(policy: Policy, method: Method) -> None:
    """Refuses a set-up method the tenant's policy does not allow."""
    if method in SETUP_METHODS and not policy.allows(method):
        raise FailedPrecondition(
            method.name,
            "METHOD_NOT_ALLOWED",
            f"the tenant's policy does not allow {method.name} "
            f"(allowed_methods: {', '.join(m.name for m in policy.allowed_methods)})",
        )


def require_send_allowed(state: UserState, policy: Policy, now: float) -> None:
    """Refuses to send an email code while locked out or inside the send limits."""
    locked_until = budget.locked_until(state.attempts, now)
    if locked_until is not None:
        raise RateLimited(
            "LOCKED_OUT",
            locked_until - now,
            "the user is locked out after too many failed attempts; no code is sent until "
            "the lockout ends",
        )
    limit = email.send_limit(state.email, now)
    if limit is not None:
        reason, allowed_at = limit
        raise RateLimited(
            reason,
            allowed_at - now,
            f"too soon for another code: codes can be sent once every "
            f"{email.RESEND_COOLDOWN_SECONDS} s and {email.MAX_SENDS_PER_HOUR} times an hour",
        )


def status_of(state: UserState, now: float, policy: Policy) -> UserStatus:
    """The user's status as GetUserStatus shows it, without secrets."""
    app, mail = state.authenticator, state.email
    app_pending, mail_pending = app.pending_live(now), mail.pending_live(now)
    methods = (
        MethodStatus(
            Method.AUTHENTICATOR_APP,
            app.state(now),
            enabled_at=app.enabled_at if app.secret is not None else None,
            reset_pending=app.secret is not None and app_pending,
            pending_expires_at=app.pending_expires_at if app_pending else None,
        ),
        MethodStatus(
            Method.EMAIL,
            mail.state(now),
            enabled_at=mail.enabled_at if mail.address is not None else None,
            reset_pending=mail.address is not None and mail_pending,
            pending_expires_at=mail.pending_expires_at if mail_pending else None,
        ),
    )
    return UserStatus(
        methods=methods,
        masked_email=email.mask(mail.address) if mail.address else "",
        backup_codes_remaining=len(state.backup_codes),
        failed_attempts=budget.counted_failures(state.attempts, now, policy),
        locked_until=budget.locked_until(state.attempts, now),
        trusted_device_count=len(devices.live(state.devices, policy, now)),
    )


def verdict_events(
    user: UserRef, verdict: Verdict, accepted: EventType, rejected: EventType
) -> list[Event]:
    """The events of a checked code: accepted or rejected, and the lockout it caused."""
    kind = accepted if verdict.accepted else rejected
    result, reason = verdict.result.name.lower(), verdict.reason.name.lower()
    until = verdict.locked_until
    events = [
        Event(
            kind,
            user.tenant_id,
            user.user_id,
            verdict.method,
            result,
            reason,
            locked_until=until,
            clock_offset_seconds=verdict.clock_offset_seconds,
        )
    ]
    if verdict.reason is VerifyReason.TOO_MANY_ATTEMPTS:
        events.append(
            Event(
                EventType.LOCKOUT, user.tenant_id, user.user_id, verdict.method, locked_until=until
            )
        )
    return events


def devices_revoked(user: UserRef, count: int, reason: str) -> Event:
    return Event(EventType.DEVICE_REVOKED, user.tenant_id, user.user_id, reason=reason, count=count)
