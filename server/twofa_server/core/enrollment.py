"""Enrollment use cases: set up, confirm and replace methods, and backup codes."""

from __future__ import annotations

from collections.abc import Callable

from . import authenticator, email, otp
from .codes import email_code_digest, new_email_code
from .context import (
    UseCaseContext,
    devices_revoked,
    require_allowed,
    require_send_allowed,
    verdict_events,
)
from .errors import FailedPrecondition
from .events import Event, EventType
from .models import (
    AuthenticatorSetup,
    BackupCodes,
    CodeSent,
    EmailCode,
    Mail,
    MailKind,
    Method,
    SetupConfirmation,
    UserRef,
    UserState,
    VerifyReason,
)
from .ports import Transaction
from .validation import (
    MAX_ACCOUNT_NAME_CHARS,
    MAX_ISSUER_CHARS,
    Violations,
    check_code,
    check_email,
    check_user,
    normalize_code,
)

_OTP_LABEL_FORBIDDEN = ":"


def _user_event(kind: EventType, user: UserRef, reason: str = "") -> Event:
    return Event(kind, user.tenant_id, user.user_id, reason=reason)


def _begun(user: UserRef, method: Method, is_reset: bool) -> Event:
    reason = "reset" if is_reset else ""
    return Event(EventType.SETUP_BEGUN, user.tenant_id, user.user_id, method, reason=reason)


def _no_pending_setup(method: Method) -> FailedPrecondition:
    begin = {Method.AUTHENTICATOR_APP: "BeginAuthenticatorSetup", Method.EMAIL: "BeginEmailSetup"}
    return FailedPrecondition(
        method.name,
        "NO_PENDING_SETUP",
        f"no {method.name} set-up is pending: begin one with {begin[method]} "
        "(a pending set-up expires after 15 minutes)",
    )


class EnrollmentUseCases(UseCaseContext):
    # --- authenticator app -----------------------------------------------------------

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
        events: list[Event] = []

        def work(tx: Transaction) -> AuthenticatorSetup:
            require_allowed(self._policy(tx, user.tenant_id), Method.AUTHENTICATOR_APP)
            state = tx.get_user(user) or UserState()
            app = state.authenticator
            authenticator.begin_setup(app, secret, now)
            tx.put_user(user, state)
            events.append(_begun(user, Method.AUTHENTICATOR_APP, app.secret is not None))
            return AuthenticatorSetup(
                secret=secret,
                otpauth_uri=otp.provisioning_uri(secret, account_name, issuer),
                expires_at=app.pending_expires_at,
                is_reset=app.secret is not None,
            )

        return self._write(work, events)

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
        events: list[Event] = []

        def work(tx: Transaction) -> SetupConfirmation:
            require_allowed(self._policy(tx, user.tenant_id), Method.AUTHENTICATOR_APP)
            state = tx.get_user(user) or UserState()
            if not state.authenticator.pending_live(now):
                raise _no_pending_setup(Method.AUTHENTICATOR_APP)
            return self._confirm(
                tx,
                user,
                state,
                Method.AUTHENTICATOR_APP,
                notify_email,
                now,
                lambda: authenticator.confirm_setup(state.authenticator, digits, now),
                events,
            )

        return self._write_and_notify(work, events)

    # --- email -----------------------------------------------------------------------

    def begin_email_setup(self, user: UserRef, address: str) -> CodeSent:
        """Sends a code to `address`, which becomes the pending one.

        While email is enabled this is the Reset flow: the enabled address keeps
        working until the new one is confirmed.

        Raises:
            RateLimited: inside the resend cooldown, over the hourly cap, or locked out.
        """
        violations = Violations()
        check_user(violations, user)
        check_email(violations, "email", address, required=True)
        violations.raise_if_any()
        code = new_email_code(self._random)
        digest = email_code_digest(self._hasher, user, code)
        now = self._clock.now()
        events: list[Event] = []

        def work(tx: Transaction) -> CodeSent:
            policy = self._policy(tx, user.tenant_id)
            require_allowed(policy, Method.EMAIL)
            state = tx.get_user(user) or UserState()
            require_send_allowed(state, policy, now)
            mail = state.email
            email.begin_setup(mail, address, now)
            expires_at = now + policy.email_code_ttl_seconds
            mail.setup_code = EmailCode(digest, expires_at)
            email.record_send(mail, now)
            tx.enqueue_mail(user, Mail(MailKind.SETUP_CODE, address, (code,), expires_at))
            tx.put_user(user, state)
            events.append(_begun(user, Method.EMAIL, mail.address is not None))
            return CodeSent(
                masked_email=email.mask(address),
                code_expires_at=expires_at,
                resend_available_at=email.next_send_at(mail, now),
                pending_expires_at=mail.pending_expires_at,
                is_reset=mail.address is not None,
            )

        return self._write_and_notify(work, events)

    def confirm_email_setup(self, user: UserRef, code: str) -> SetupConfirmation:
        """Enables the pending address if `code` is the one sent to it."""
        violations = Violations()
        check_user(violations, user)
        check_code(violations, code)
        violations.raise_if_any()
        digest = email_code_digest(self._hasher, user, normalize_code(code))
        now = self._clock.now()
        events: list[Event] = []

        def work(tx: Transaction) -> SetupConfirmation:
            require_allowed(self._policy(tx, user.tenant_id), Method.EMAIL)
            state = tx.get_user(user) or UserState()
            if not state.email.pending_live(now):
                raise _no_pending_setup(Method.EMAIL)
            return self._confirm(
                tx,
                user,
                state,
                Method.EMAIL,
                "",
                now,
                lambda: email.confirm_setup(state.email, digest, now),
                events,
            )

        return self._write_and_notify(work, events)

    # --- shared by both confirmations ---------------------------------------------------

    def _confirm(
        self,
        tx: Transaction,
        user: UserRef,
        state: UserState,
        method: Method,
        notify_email: str,
        now: float,
        check: Callable[[], VerifyReason],
        events: list[Event],
    ) -> SetupConfirmation:
        """Checks a confirmation code under the budget.

        The first method brings backup codes; confirming a Reset (the method was
        already enabled) revokes every trusted device, since the old factor may
        be in someone else's hands.
        """
        policy = self._policy(tx, user.tenant_id)
        first_method = not state.enabled_methods()
        is_reset = method in state.enabled_methods()
        verdict = self._check_code(state, policy, now, method, check)
        events.extend(
            verdict_events(user, verdict, EventType.SETUP_CONFIRMED, EventType.SETUP_REJECTED)
        )
        codes: tuple[str, ...] = ()
        if verdict.accepted:
            if first_method:
                codes, _ = self._issue_backup_codes(tx, user, state, notify_email)
                events.append(_user_event(EventType.BACKUP_CODES_ISSUED, user, reason="first"))
            if is_reset and state.devices:
                events.append(devices_revoked(user, len(state.devices), "reset"))
                state.devices.clear()
        tx.put_user(user, state)
        return SetupConfirmation(verdict, codes)

    # --- backup codes --------------------------------------------------------------------

    def regenerate_backup_codes(self, user: UserRef, notify_email: str = "") -> BackupCodes:
        """Replaces the whole set of backup codes in one transaction and emails the new set."""
        violations = Violations()
        check_user(violations, user)
        check_email(violations, "notify_email", notify_email, required=False)
        violations.raise_if_any()
        events = [_user_event(EventType.BACKUP_CODES_ISSUED, user, reason="regenerated")]

        def work(tx: Transaction) -> BackupCodes:
            state = tx.get_user(user) or UserState()
            if not state.enabled_methods():
                raise FailedPrecondition(
                    "user",
                    "NOT_ENROLLED",
                    "backup codes exist only while a method is enabled; enable one first",
                )
            codes, recipient = self._issue_backup_codes(tx, user, state, notify_email)
            tx.put_user(user, state)
            return BackupCodes(codes, email.mask(recipient) if recipient else "")

        return self._write_and_notify(work, events)
