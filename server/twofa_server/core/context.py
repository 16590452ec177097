"""What every use case shares: its dependencies and the steps all of them repeat."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from . import attempts as budget
from . import devices, email
from .codes import backup_code_digest, new_backup_codes
from .errors import FailedPrecondition, RateLimited
from .events import Event, EventSink, EventType, NoEvents
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
from .ports import Clock, Hasher, Random, Store, Transaction
from .validation import normalize_code

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """What the use cases take from configuration."""

    default_policy: Policy
    default_issuer: str


class UseCaseContext:
    """The dependencies of the use cases, and the steps they share."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        random: Random,
        hasher: Hasher,
        settings: ServiceSettings,
        mail_queued: Callable[[], None] = lambda: None,
        events: EventSink | None = None,
    ) -> None:
        """
        Args:
            store, clock, random, hasher: the outside world.
            settings: defaults from configuration.
            mail_queued: called after a transaction that queued mail has committed,
                so delivery starts at once instead of at its next poll.
            events: where security events go once their transaction has committed.
        """
        self._store = store
        self._clock = clock
        self._random = random
        self._hasher = hasher
        self._settings = settings
        self._mail_queued = mail_queued
        self._events: EventSink = events or NoEvents()

    def _policy(self, tx: Transaction, tenant_id: str) -> Policy:
        return tx.get_policy(tenant_id) or self._settings.default_policy

    def _check_code(
        self,
        state: UserState,
        policy: Policy,
        now: float,
        method: Method,
        check: budget.CodeCheck,
    ) -> Verdict:
        """Runs a code check under the attempt budget; the caller stores `state` either way.

        The failure that uses up the budget also voids every outstanding email
        code, so a lockout cannot be sat out with a code in hand.
        """
        verdict, state.attempts = budget.check_code(state.attempts, now, policy, method, check)
        if verdict.reason is VerifyReason.TOO_MANY_ATTEMPTS:
            email.void_codes(state.email)
        return verdict

    def _issue_backup_codes(
        self, tx: Transaction, user: UserRef, state: UserState, notify_email: str
    ) -> tuple[tuple[str, ...], str]:
        """Replaces the user's backup codes and queues them by email.

        Returns the codes (to show once) and the address they go to: the enabled
        email address, else `notify_email`, else none ("").
        """
        codes = new_backup_codes(self._random)
        state.backup_codes = [
            backup_code_digest(self._hasher, user, normalize_code(code)) for code in codes
        ]
        recipient = state.email.address or notify_email
        if recipient:
            tx.enqueue_mail(user, Mail(MailKind.BACKUP_CODES, recipient, codes, expires_at=None))
        return codes, recipient

    def _write(self, work: Callable[[Transaction], T], events: list[Event]) -> T:
        """Runs `work` in one write transaction; publishes the events it recorded in
        `events` only once the transaction has committed."""
        result = self._store.write(work)
        if events:
            self._events.publish(events)
        return result

    def _write_and_notify(self, work: Callable[[Transaction], T], events: list[Event]) -> T:
        """A write that may queue mail: delivery is woken once it has committed.

        Waking it when nothing was queued costs one empty look at the outbox.
        """
        result = self._write(work, events)
        self._mail_queued()
        return result


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


def with_method(verdict: Verdict, method: Method) -> Verdict:
    return dataclasses.replace(verdict, method=method)


def verdict_events(
    user: UserRef, verdict: Verdict, accepted: EventType, rejected: EventType
) -> list[Event]:
    """The events of a checked code: accepted or rejected, and the lockout it caused."""
    kind = accepted if verdict.accepted else rejected
    result, reason = verdict.result.name.lower(), verdict.reason.name.lower()
    events = [Event(kind, user.tenant_id, user.user_id, verdict.method, result, reason)]
    if verdict.reason is VerifyReason.TOO_MANY_ATTEMPTS:
        events.append(Event(EventType.LOCKOUT, user.tenant_id, user.user_id, verdict.method))
    return events


def devices_revoked(user: UserRef, count: int, reason: str) -> Event:
    return Event(EventType.DEVICE_REVOKED, user.tenant_id, user.user_id, reason=reason, count=count)
