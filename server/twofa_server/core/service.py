"""The use cases of twofa, each one store transaction; the API layer calls these."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from . import attempts as budget
from . import authenticator, otp
from .errors import FailedPrecondition
from .models import (
    SETUP_METHODS,
    Attempts,
    AuthenticatorSetup,
    Method,
    MethodState,
    MethodStatus,
    Policy,
    PolicyInfo,
    SetupConfirmation,
    UserRef,
    UserState,
    UserStatus,
    Verdict,
)
from .policy import check_policy, check_update_mask, merge_policy
from .ports import Clock, Random, Store, Transaction
from .validation import (
    MAX_ACCOUNT_NAME_CHARS,
    MAX_DEVICE_LABEL_CHARS,
    MAX_ISSUER_CHARS,
    Violations,
    check_code,
    check_email,
    check_tenant,
    check_user,
    normalize_code,
    validate_user,
)

_OTP_LABEL_FORBIDDEN = ":"


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """What the use cases take from configuration."""

    default_policy: Policy
    default_issuer: str


class TwoFactorService:
    """Enrollment, verification and administration of users' second factors."""

    def __init__(
        self, store: Store, clock: Clock, random: Random, settings: ServiceSettings
    ) -> None:
        self._store = store
        self._clock = clock
        self._random = random
        self._settings = settings

    # --- status ---------------------------------------------------------------

    def get_user_status(self, user: UserRef) -> UserStatus:
        validate_user(user)
        now = self._clock.now()
        return self._store.read(lambda tx: self._status(tx, user, now))

    def _status(self, tx: Transaction, user: UserRef, now: float) -> UserStatus:
        state = tx.get_user(user) or UserState()
        return _status_of(state, now, self._policy(tx, user.tenant_id))

    # --- authenticator app ------------------------------------------------------

    def begin_authenticator_setup(
        self, user: UserRef, account_name: str, issuer: str
    ) -> AuthenticatorSetup:
        """Creates a new pending TOTP secret (replacing any pending one).

        While the app is enabled this is the Reset flow: the enabled secret
        keeps working until the new one is confirmed.
        """
        violations = Violations()
        check_user(violations, user)
        if account_name:
            violations.check_text(
                "account_name",
                account_name,
                max_chars=MAX_ACCOUNT_NAME_CHARS,
                forbidden=_OTP_LABEL_FORBIDDEN,
            )
        elif _OTP_LABEL_FORBIDDEN in user.user_id or len(user.user_id) > MAX_ACCOUNT_NAME_CHARS:
            violations.add(
                "account_name",
                f"is required when user_id cannot serve as the app's label (over "
                f"{MAX_ACCOUNT_NAME_CHARS} characters, or holding ':')",
            )
        account_name = account_name or user.user_id
        issuer = issuer or self._settings.default_issuer
        violations.check_text(
            "issuer", issuer, max_chars=MAX_ISSUER_CHARS, forbidden=_OTP_LABEL_FORBIDDEN
        )
        violations.raise_if_any()
        secret = otp.generate_secret(self._random.token_bytes)
        now = self._clock.now()

        def work(tx: Transaction) -> AuthenticatorSetup:
            _require_allowed(self._policy(tx, user.tenant_id), Method.AUTHENTICATOR_APP)
            state = tx.get_user(user) or UserState()
            app = state.authenticator
            authenticator.begin_setup(app, secret, now)
            tx.put_user(user, state)
            return AuthenticatorSetup(
                secret=secret,
                otpauth_uri=otp.provisioning_uri(secret, account_name, issuer),
                expires_at=app.pending_expires_at,
                is_reset=app.secret is not None,
            )

        return self._store.write(work)

    def confirm_authenticator_setup(
        self, user: UserRef, code: str, notify_email: str = ""
    ) -> SetupConfirmation:
        """Enables the pending TOTP secret if `code` is right; the code's step counts as used.

        Args:
            notify_email: where backup codes go when this is the first method and
                email is not enabled (optional).
        """
        violations = Violations()
        check_user(violations, user)
        check_code(violations, code)
        check_email(violations, "notify_email", notify_email, required=False)
        violations.raise_if_any()
        digits = normalize_code(code)
        now = self._clock.now()

        def work(tx: Transaction) -> SetupConfirmation:
            policy = self._policy(tx, user.tenant_id)
            state = tx.get_user(user) or UserState()
            app = state.authenticator
            if app.pending_secret is None or not app.pending_live(now):
                raise FailedPrecondition(
                    Method.AUTHENTICATOR_APP.name,
                    "NO_PENDING_SETUP",
                    "no authenticator set-up is pending: begin one with "
                    "BeginAuthenticatorSetup (a pending set-up expires after 15 minutes)",
                )
            verdict = _check_and_store(
                tx,
                user,
                state,
                policy,
                now,
                Method.AUTHENTICATOR_APP,
                lambda: authenticator.confirm_setup(app, digits, now),
            )
            return SetupConfirmation(verdict)

        return self._store.write(work)

    # --- verification -------------------------------------------------------------

    def verify_code(
        self,
        user: UserRef,
        code: str,
        method: Method = Method.UNSPECIFIED,
        device_label: str = "",
    ) -> Verdict:
        """Checks a code under the attempt budget; a wrong code is a verdict, not an error."""
        violations = Violations()
        check_user(violations, user)
        check_code(violations, code)
        violations.check_text(
            "device_label", device_label, max_chars=MAX_DEVICE_LABEL_CHARS, required=False
        )
        violations.raise_if_any()
        normalized = normalize_code(code)
        now = self._clock.now()

        def work(tx: Transaction) -> Verdict:
            policy = self._policy(tx, user.tenant_id)
            state = tx.get_user(user) or UserState()
            chosen = _choose_method(state, method, normalized)
            _require_allowed(policy, chosen)
            return _check_and_store(
                tx,
                user,
                state,
                policy,
                now,
                chosen,
                lambda: authenticator.verify(state.authenticator, normalized, now),
            )

        return self._store.write(work)

    # --- turning methods off, administration ---------------------------------------

    def disable_method(self, user: UserRef, method: Method) -> tuple[bool, UserStatus]:
        """Turns a method off (enabled or pending); returns whether anything changed."""
        violations = Violations()
        check_user(violations, user)
        if method not in SETUP_METHODS:
            violations.add(
                "method",
                f"is {method.name}, not a method to turn off; allowed: "
                + ", ".join(m.name for m in SETUP_METHODS),
            )
        violations.raise_if_any()
        now = self._clock.now()

        def work(tx: Transaction) -> tuple[bool, UserStatus]:
            state = tx.get_user(user) or UserState()
            changed = False
            if method is Method.AUTHENTICATOR_APP:
                app = state.authenticator
                changed = app.secret is not None or app.pending_secret is not None
                state.authenticator = type(app)()
            if changed:
                tx.put_user(user, state)
            return changed, _status_of(state, now, self._policy(tx, user.tenant_id))

        return self._store.write(work)

    def unlock_user(self, user: UserRef) -> bool:
        """Clears the user's lockout and failed attempts; returns whether there were any."""
        validate_user(user)

        def work(tx: Transaction) -> bool:
            state = tx.get_user(user)
            if state is None or state.attempts == Attempts():
                return False
            state.attempts = Attempts()
            tx.put_user(user, state)
            return True

        return self._store.write(work)

    def delete_user(self, user: UserRef) -> bool:
        """Removes every record of the user; returns whether there was any."""
        validate_user(user)
        return self._store.write(lambda tx: tx.delete_user(user))

    # --- policy --------------------------------------------------------------------

    def get_policy(self, tenant_id: str) -> PolicyInfo:
        violations = Violations()
        check_tenant(violations, tenant_id)
        violations.raise_if_any()
        stored = self._store.read(lambda tx: tx.get_policy(tenant_id))
        if stored is None:
            return PolicyInfo(self._settings.default_policy, is_default=True)
        return PolicyInfo(stored, is_default=False)

    def update_policy(self, tenant_id: str, update: Policy, mask: Sequence[str]) -> Policy:
        """Changes the fields in `mask` (all fields when empty) after validating the result."""
        violations = Violations()
        check_tenant(violations, tenant_id)
        check_update_mask(violations, mask)
        violations.raise_if_any()

        def work(tx: Transaction) -> Policy:
            merged = merge_policy(self._policy(tx, tenant_id), update, mask)
            problems = Violations()
            check_policy(problems, merged)
            problems.raise_if_any()
            tx.put_policy(tenant_id, merged)
            return merged

        return self._store.write(work)

    def _policy(self, tx: Transaction, tenant_id: str) -> Policy:
        return tx.get_policy(tenant_id) or self._settings.default_policy


def _check_and_store(
    tx: Transaction,
    user: UserRef,
    state: UserState,
    policy: Policy,
    now: float,
    method: Method,
    check: budget.CodeCheck,
) -> Verdict:
    """Runs a code check under the attempt budget and stores the outcome either way."""
    verdict, state.attempts = budget.check_code(state.attempts, now, policy, method, check)
    tx.put_user(user, state)
    return verdict


def _require_allowed(policy: Policy, method: Method) -> None:
    if method in SETUP_METHODS and not policy.allows(method):
        raise FailedPrecondition(
            method.name,
            "METHOD_NOT_ALLOWED",
            f"the tenant's policy does not allow {method.name} "
            f"(allowed_methods: {', '.join(m.name for m in policy.allowed_methods)})",
        )


def _choose_method(state: UserState, requested: Method, code: str) -> Method:
    """Picks the method to check a code as: the requested one, or one the shape implies."""
    enabled = state.enabled_methods()
    if not enabled:
        raise FailedPrecondition(
            "user", "NOT_ENROLLED", "the user has no enabled 2FA method to verify a code against"
        )
    if requested is Method.UNSPECIFIED:
        return enabled[0]
    if requested not in enabled:
        raise FailedPrecondition(
            requested.name, "METHOD_NOT_ENABLED", f"the user has no enabled {requested.name}"
        )
    return requested


def _status_of(state: UserState, now: float, policy: Policy) -> UserStatus:
    app = state.authenticator
    pending = app.pending_live(now)
    methods = (
        MethodStatus(
            Method.AUTHENTICATOR_APP,
            app.state(now),
            enabled_at=app.enabled_at if app.secret is not None else None,
            reset_pending=app.secret is not None and pending,
            pending_expires_at=app.pending_expires_at if pending else None,
        ),
        MethodStatus(Method.EMAIL, MethodState.DISABLED, None, False, None),
    )
    return UserStatus(
        methods=methods,
        masked_email="",
        backup_codes_remaining=0,
        failed_attempts=budget.counted_failures(state.attempts, now, policy),
        locked_until=budget.locked_until(state.attempts, now),
        trusted_device_count=0,
    )
