"""Login use cases: is a second factor needed, and the user's trusted devices."""

from __future__ import annotations

from . import attempts as budget
from . import devices
from .context import UseCaseContext, devices_revoked
from .events import Event, EventType
from .models import (
    DeviceInfo,
    Enforcement,
    LoginDecision,
    LoginEvaluation,
    LoginReason,
    Method,
    Policy,
    UserRef,
    UserState,
)
from .ports import Transaction
from .validation import Violations, check_user, validate_user
from .work import Done, Work


def _available(state: UserState, policy: Policy) -> tuple[Method, ...]:
    """The methods the user can use now: enabled and allowed, plus backup codes left."""
    methods = [m for m in state.enabled_methods() if policy.allows(m)]
    if state.backup_codes:
        methods.append(Method.BACKUP_CODE)
    return tuple(methods)


class LoginUseCases(UseCaseContext):
    def evaluate_login(self, user: UserRef, device_token: str = "") -> Work[LoginEvaluation]:
        """Decides whether this login needs the second factor; a read.

        A valid trusted-device token lets the login through (under a policy that
        trusts devices); an unknown, malformed or expired one is simply "not
        trusted". The device's last use is stored at most hourly, by a follow-up
        write the answer asks for.
        """
        violations = Violations()
        check_user(violations, user)
        if len(device_token) > devices.MAX_TOKEN_CHARS:
            violations.add(
                "device_token", f"is too long; at most {devices.MAX_TOKEN_CHARS} characters"
            )
        violations.raise_if_any()
        raw = devices.parse_token(device_token)
        digest = devices.token_digest(self._hasher, user, raw) if raw else None
        now = self._clock.now()

        def run(tx: Transaction) -> Done[LoginEvaluation]:
            policy = self._policy(tx, user.tenant_id)
            state = tx.get_user(user) or UserState()
            evaluation, touch = _evaluate(state, policy, digest, now)
            event = Event(
                EventType.LOGIN_EVALUATED,
                user.tenant_id,
                user.user_id,
                result=evaluation.decision.name.lower(),
                reason=evaluation.reason.name.lower(),
            )
            then = None if touch is None else _touch_device(user, touch, now)
            return Done(evaluation, [event], then)

        return Work(run, user, writes=False)

    def list_trusted_devices(self, user: UserRef) -> Work[list[DeviceInfo]]:
        """The user's devices that have not expired, newest first (never their tokens)."""
        validate_user(user)
        now = self._clock.now()

        def run(tx: Transaction) -> Done[list[DeviceInfo]]:
            policy = self._policy(tx, user.tenant_id)
            state = tx.get_user(user) or UserState()
            return Done(
                [
                    DeviceInfo(
                        d.device_id,
                        d.label,
                        d.created_at,
                        d.last_used_at,
                        devices.expires_at(d, policy),
                    )
                    for d in devices.live(state.devices, policy, now)
                ]
            )

        return Work(run, user, writes=False)

    def revoke_trusted_devices(self, user: UserRef, device_id: str, revoke_all: bool) -> Work[int]:
        """Revokes one device by id, or all of them; answers how many were revoked."""
        violations = Violations()
        check_user(violations, user)
        if bool(device_id) == revoke_all:
            violations.add("device_id", "give exactly one of device_id and all")
        elif device_id:
            violations.check_text("device_id", device_id, max_chars=64)
        violations.raise_if_any()

        def run(tx: Transaction) -> Done[int]:
            state = tx.get_user(user)
            if state is None:
                return Done(0)
            keep = [] if revoke_all else [d for d in state.devices if d.device_id != device_id]
            revoked = len(state.devices) - len(keep)
            if not revoked:
                return Done(0)
            state.devices = keep
            tx.put_user(user, state)
            return Done(revoked, [devices_revoked(user, revoked, "user")])

        return Work(run, user)


def _touch_device(user: UserRef, device_id: str, now: float) -> Work[None]:
    """Stores that a trusted device was used at `now` (if it is still there)."""

    def run(tx: Transaction) -> Done[None]:
        state = tx.get_user(user)
        if state is not None:
            for device in state.devices:
                if device.device_id == device_id:
                    device.last_used_at = now
                    tx.put_user(user, state)
        return Done(None)

    return Work(run, user)


def _evaluate(
    state: UserState, policy: Policy, digest: bytes | None, now: float
) -> tuple[LoginEvaluation, str | None]:
    """The decision, and the id of a trusted device whose last use should be stored."""
    available = _available(state, policy)
    remaining = len(state.backup_codes)
    if state.enabled_methods() and not available:
        # Every method the user set up is now disallowed and no backup code is left:
        # the only way forward is to enroll an allowed method.
        decision = LoginDecision.ENROLLMENT_REQUIRED
        return LoginEvaluation(decision, LoginReason.NOT_ENROLLED_REQUIRED, (), 0), None
    if not state.enabled_methods():
        if policy.enforcement is Enforcement.REQUIRED:
            decision = LoginDecision.ENROLLMENT_REQUIRED
            return LoginEvaluation(decision, LoginReason.NOT_ENROLLED_REQUIRED, (), 0), None
        decision = LoginDecision.NOT_REQUIRED
        return LoginEvaluation(decision, LoginReason.NOT_ENROLLED_OPTIONAL, (), 0), None
    if devices.trusts(policy) and digest is not None:
        device = devices.find(state.devices, digest)
        if device is not None and not devices.is_expired(device, policy, now):
            stale = now - device.last_used_at >= devices.LAST_USED_RESOLUTION_SECONDS
            evaluation = LoginEvaluation(
                LoginDecision.NOT_REQUIRED,
                LoginReason.TRUSTED_DEVICE,
                available,
                remaining,
                device_expires_at=devices.expires_at(device, policy),
            )
            return evaluation, device.device_id if stale else None
    locked_until = budget.locked_until(state.attempts, now)
    if locked_until is not None:
        evaluation = LoginEvaluation(
            LoginDecision.REQUIRED,
            LoginReason.LOCKED_OUT,
            available,
            remaining,
            locked_until=locked_until,
            retry_after=locked_until - now,
        )
        return evaluation, None
    reason = (
        LoginReason.DEVICE_NOT_TRUSTED if devices.trusts(policy) else LoginReason.EVERY_LOGIN_POLICY
    )
    return LoginEvaluation(LoginDecision.REQUIRED, reason, available, remaining), None
