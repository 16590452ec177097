"""Login use cases: send an email code, and verify any code under the attempt budget."""

from __future__ import annotations

from collections.abc import Callable

from . import authenticator, devices, email
from .codes import (
    backup_code_digest,
    email_code_digest,
    find_digest,
    looks_like_backup_code,
    looks_like_six_digits,
    new_email_code,
)
from .context import (
    UseCaseContext,
    devices_revoked,
    require_allowed,
    require_send_allowed,
    verdict_events,
    with_method,
)
from .errors import FailedPrecondition
from .events import Event, EventType
from .models import (
    CodeSent,
    DeviceTokenStatus,
    EmailCode,
    Mail,
    MailKind,
    Method,
    Policy,
    TrustedDevice,
    UserRef,
    UserState,
    Verdict,
    Verification,
    VerifyReason,
)
from .ports import Transaction
from .validation import (
    MAX_DEVICE_LABEL_CHARS,
    Violations,
    check_code,
    check_user,
    normalize_code,
    validate_user,
)

# When several checks fail, the most telling reason is reported.
_REASON_RANK = (
    VerifyReason.CODE_REUSED,
    VerifyReason.CODE_EXPIRED,
    VerifyReason.WRONG_CODE,
    VerifyReason.NO_ACTIVE_CODE,
    VerifyReason.MALFORMED_CODE,
)

Check = Callable[[], VerifyReason]


class VerificationUseCases(UseCaseContext):
    def send_login_code(self, user: UserRef) -> CodeSent:
        """Sends a new login code to the user's enabled address; it supersedes the last one.

        Raises:
            FailedPrecondition: email is not enabled (or not allowed by the policy).
            RateLimited: inside the resend cooldown, over the hourly cap, or locked out.
        """
        validate_user(user)
        code = new_email_code(self._random)
        digest = email_code_digest(self._hasher, user, code)
        now = self._clock.now()
        events = [Event(EventType.EMAIL_CODE_SENT, user.tenant_id, user.user_id, Method.EMAIL)]

        def work(tx: Transaction) -> CodeSent:
            policy = self._policy(tx, user.tenant_id)
            state = tx.get_user(user) or UserState()
            address = state.email.address
            if address is None:
                raise FailedPrecondition(
                    Method.EMAIL.name, "METHOD_NOT_ENABLED", "the user has no enabled EMAIL"
                )
            require_allowed(policy, Method.EMAIL)
            require_send_allowed(state, policy, now)
            expires_at = now + policy.email_code_ttl_seconds
            state.email.login_code = EmailCode(digest, expires_at)
            email.record_send(state.email, now)
            tx.enqueue_mail(user, Mail(MailKind.LOGIN_CODE, address, (code,), expires_at))
            tx.put_user(user, state)
            return CodeSent(
                masked_email=email.mask(address),
                code_expires_at=expires_at,
                resend_available_at=email.next_send_at(state.email, now),
            )

        return self._write_and_notify(work, events)

    def verify_code(
        self,
        user: UserRef,
        code: str,
        method: Method = Method.UNSPECIFIED,
        remember_device: bool = False,
        device_label: str = "",
    ) -> Verification:
        """Checks a code under the attempt budget; a wrong code is a verdict, not an error.

        Args:
            method: what the code is; UNSPECIFIED infers it from the code's shape.
            remember_device: issue a trusted-device token if the code is accepted
                and the tenant's policy trusts devices.
            device_label: how the device shows in ListTrustedDevices.

        Raises:
            FailedPrecondition: the user has no enabled method, or not the one named.
        """
        violations = Violations()
        check_user(violations, user)
        check_code(violations, code)
        violations.check_text(
            "device_label", device_label, max_chars=MAX_DEVICE_LABEL_CHARS, required=False
        )
        violations.raise_if_any()
        normalized = normalize_code(code)
        label = device_label
        now = self._clock.now()
        events: list[Event] = []

        def work(tx: Transaction) -> Verification:
            policy = self._policy(tx, user.tenant_id)
            state = tx.get_user(user) or UserState()
            checks = self._checks(state, policy, user, method, normalized, now)
            used = checks[0][0]

            def check_all() -> VerifyReason:
                # Every candidate is tried; one attempt however many there are.
                nonlocal used
                failures = []
                for candidate, check in checks:
                    reason = check()
                    if reason is VerifyReason.OK:
                        used = candidate
                        return reason
                    failures.append((candidate, reason))
                used, reason = min(failures, key=lambda f: _REASON_RANK.index(f[1]))
                return reason

            verdict = with_method(self._check_code(state, policy, now, used, check_all), used)
            events.extend(
                verdict_events(
                    user, verdict, EventType.VERIFICATION_ACCEPTED, EventType.VERIFICATION_REJECTED
                )
            )
            if verdict.accepted and used is Method.BACKUP_CODE:
                events.append(
                    Event(
                        EventType.BACKUP_CODE_USED,
                        user.tenant_id,
                        user.user_id,
                        used,
                        count=len(state.backup_codes),
                    )
                )
            status, token, expires = DeviceTokenStatus.NOT_REQUESTED, "", None
            if remember_device:
                status, token, expires = self._remember(
                    state, user, policy, verdict, label, now, events
                )
            tx.put_user(user, state)
            return Verification(verdict, len(state.backup_codes), status, token, expires)

        return self._write(work, events)

    def _remember(
        self,
        state: UserState,
        user: UserRef,
        policy: Policy,
        verdict: Verdict,
        label: str,
        now: float,
        events: list[Event],
    ) -> tuple[DeviceTokenStatus, str, float | None]:
        """Issues a trusted-device token after an accepted code, if the policy trusts devices."""
        if not verdict.accepted:
            return DeviceTokenStatus.CODE_NOT_ACCEPTED, "", None
        if not devices.trusts(policy):
            return DeviceTokenStatus.POLICY_EVERY_LOGIN, "", None
        token, raw = devices.new_token(self._random)
        device = TrustedDevice(
            device_id=self._random.token_bytes(8).hex(),
            digest=devices.token_digest(self._hasher, user, raw),
            label=label,
            created_at=now,
            last_used_at=now,
        )
        evicted = devices.add(state.devices, device)
        events.append(Event(EventType.DEVICE_TRUSTED, user.tenant_id, user.user_id, verdict.method))
        if evicted:
            events.append(devices_revoked(user, evicted, "evicted"))
        return DeviceTokenStatus.ISSUED, token, devices.expires_at(device, policy)

    def _checks(
        self,
        state: UserState,
        policy: Policy,
        user: UserRef,
        requested: Method,
        code: str,
        now: float,
    ) -> list[tuple[Method, Check]]:
        """The checks a code goes through: for the method named, or those its shape fits."""
        enabled = state.enabled_methods()
        if not enabled:
            raise FailedPrecondition(
                "user",
                "NOT_ENROLLED",
                "the user has no enabled 2FA method to verify a code against",
            )
        if requested is Method.UNSPECIFIED:
            if looks_like_backup_code(code):
                candidates: tuple[Method, ...] = (Method.BACKUP_CODE,)
            elif looks_like_six_digits(code):
                candidates = tuple(m for m in enabled if policy.allows(m))
                if not candidates:
                    require_allowed(policy, enabled[0])  # says which method is not allowed
            else:
                candidates = ()
            if not candidates:
                return [(enabled[0], lambda: VerifyReason.MALFORMED_CODE)]
        else:
            if requested is Method.BACKUP_CODE and not state.backup_codes:
                raise FailedPrecondition(
                    requested.name, "NO_BACKUP_CODES", "the user has no backup codes left"
                )
            if requested is not Method.BACKUP_CODE and requested not in enabled:
                raise FailedPrecondition(
                    requested.name,
                    "METHOD_NOT_ENABLED",
                    f"the user has no enabled {requested.name}",
                )
            require_allowed(policy, requested)
            candidates = (requested,)
        return [(m, self._check_for(m, state, user, code, now)) for m in candidates]

    def _check_for(
        self, method: Method, state: UserState, user: UserRef, code: str, now: float
    ) -> Check:
        if method is Method.AUTHENTICATOR_APP:
            return lambda: authenticator.verify(state.authenticator, code, now)
        if method is Method.EMAIL:
            if not looks_like_six_digits(code):
                return lambda: VerifyReason.MALFORMED_CODE
            digest = email_code_digest(self._hasher, user, code)
            return lambda: email.verify_login_code(state.email, digest, now)
        return lambda: self._use_backup_code(state, user, code)

    def _use_backup_code(self, state: UserState, user: UserRef, code: str) -> VerifyReason:
        if not looks_like_backup_code(code):
            return VerifyReason.MALFORMED_CODE
        if not state.backup_codes:
            return VerifyReason.NO_ACTIVE_CODE
        index = find_digest(state.backup_codes, backup_code_digest(self._hasher, user, code))
        if index is None:
            return VerifyReason.WRONG_CODE
        del state.backup_codes[index]
        return VerifyReason.OK
