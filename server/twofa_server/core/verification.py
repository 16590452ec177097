"""Login use cases: send an email code, and verify any code under the attempt budget."""

from __future__ import annotations

from . import attempts, code_check, devices, email, notices, replays
from .codes import (
    email_code_digest,
    new_email_code,
    read_code,
)
from .context import (
    UseCaseContext,
    devices_revoked,
    require_allowed,
    require_send_allowed,
    verdict_events,
)
from .errors import FailedPrecondition
from .events import Event, EventType
from .letterhead import letterhead_of
from .models import (
    CodeSent,
    DeviceTokenStatus,
    EmailCode,
    Mail,
    MailKind,
    Method,
    NoticeFacts,
    NoticeKind,
    Policy,
    Replay,
    TrustedDevice,
    UserRef,
    UserState,
    Verdict,
    Verification,
)
from .ports import Transaction
from .validation import MAX_DEVICE_LABEL_CHARS, Violations, check_code, check_user, validate_user
from .work import Done, Work


class VerificationUseCases(UseCaseContext):
    def send_login_code(self, user: UserRef) -> Work[CodeSent]:
        """Sends a new login code to the user's enabled address; it supersedes the last one.

        Raises (from the work):
            FailedPrecondition: email is not enabled (or not allowed by the policy).
            RateLimited: inside the resend cooldown, over the hourly cap, or locked out.
        """
        validate_user(user)
        code = new_email_code(self._random)
        digest = email_code_digest(self._hasher, user, code)
        now = self._clock.now()

        def run(tx: Transaction) -> Done[CodeSent]:
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
            mail = Mail(
                MailKind.LOGIN_CODE, address, (code,), expires_at, letterhead=letterhead_of(policy)
            )
            tx.enqueue_mail(user, mail)
            tx.put_user(user, state)
            sent = CodeSent(
                masked_email=email.mask(address),
                code_expires_at=expires_at,
                resend_available_at=email.next_send_at(state.email, now),
            )
            event = Event(EventType.EMAIL_CODE_SENT, user.tenant_id, user.user_id, Method.EMAIL)
            return Done(sent, [event])

        return Work(run, user)

    def verify_code(
        self,
        user: UserRef,
        code: str,
        method: Method = Method.UNSPECIFIED,
        remember_device: bool = False,
        device_label: str = "",
        idempotency_key: str = "",
    ) -> Work[Verification]:
        """Checks a code under the attempt budget; a wrong code is a verdict, not an error.

        Args:
            method: what the code is; UNSPECIFIED infers it from the code's shape.
            remember_device: issue a trusted-device token if the code is accepted
                and the tenant's policy trusts devices.
            device_label: how the device shows in ListTrustedDevices.
            idempotency_key: makes a retry of this submission safe (core/replays.py).

        Raises (from the work):
            FailedPrecondition: the user has no enabled method, or not the one named.
        """
        violations = Violations()
        check_user(violations, user)
        check_code(violations, code)
        violations.check_text(
            "device_label", device_label, max_chars=MAX_DEVICE_LABEL_CHARS, required=False
        )
        replays.check_key(violations, idempotency_key)
        violations.raise_if_any()
        typed = read_code(code)
        digest = self._code_digest(user, typed)
        asked = f"verify:{method.name}:{int(remember_device)}"
        idempotency = replays.of_request(self._hasher, user, idempotency_key, asked, typed.text)
        now = self._clock.now()

        def without_writing(tx: Transaction) -> Done[Verification] | None:
            # A retry's answer, and a locked-out user's refusal, come from a read:
            # neither counts an attempt, and hammering a locked user costs no write.
            policy = self._policy(tx, user.tenant_id)
            state = tx.get_user(user)
            if state is None:
                return None
            replay = replays.find(state.replays, idempotency, now)
            if replay is not None:
                return Done(_replayed(replay, now))
            if attempts.locked_until(state.attempts, now) is None:
                return None
            candidates = code_check.candidates(state, policy, method, typed)
            verdict = attempts.gate(state.attempts, now, policy, candidates[0])
            assert verdict is not None
            events = verdict_events(
                user, verdict, EventType.VERIFICATION_ACCEPTED, EventType.VERIFICATION_REJECTED
            )
            status = (
                DeviceTokenStatus.CODE_NOT_ACCEPTED
                if remember_device
                else DeviceTokenStatus.NOT_REQUESTED
            )
            return Done(Verification(verdict, len(state.backup_codes), status), events)

        def run(tx: Transaction) -> Done[Verification]:
            policy = self._policy(tx, user.tenant_id)
            state = tx.get_user(user) or UserState()
            replay = replays.find(state.replays, idempotency, now)
            if replay is not None:  # a retry that raced its first call
                return Done(_replayed(replay, now))
            verdict = code_check.check_under_budget(state, policy, method, typed, digest, now)
            events = verdict_events(
                user, verdict, EventType.VERIFICATION_ACCEPTED, EventType.VERIFICATION_REJECTED
            )
            if verdict.accepted and verdict.method is Method.BACKUP_CODE:
                events.append(
                    Event(
                        EventType.BACKUP_CODE_USED,
                        user.tenant_id,
                        user.user_id,
                        Method.BACKUP_CODE,
                        count=len(state.backup_codes),
                    )
                )
            notices.after_code(tx, user, state, policy, verdict, now)
            status, token, expires = DeviceTokenStatus.NOT_REQUESTED, "", None
            if remember_device:
                status, token, expires = self._remember(
                    state, user, policy, verdict, device_label, now, events
                )
            if status is DeviceTokenStatus.ISSUED:
                facts = NoticeFacts(at=now, device_label=device_label)
                kind = NoticeKind.DEVICE_TRUSTED
                notices.notify(tx, user, policy, state.email.address, kind, facts)
            left = len(state.backup_codes)
            if idempotency is not None:
                kept = replays.new(idempotency, now, verdict, left, status, expires)
                replays.remember(state.replays, kept, now)
            tx.put_user(user, state)
            return Done(Verification(verdict, left, status, token, expires), events)

        return Work(run, user, answer_from_read=without_writing)

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


def _replayed(replay: Replay, now: float) -> Verification:
    return Verification(
        replays.verdict_now(replay, now),
        replay.backup_codes_remaining,
        replays.token_status(replay),
        device_token_expires_at=replay.device_token_expires_at,
        replayed=True,
    )
