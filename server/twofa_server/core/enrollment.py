"""Enrollment use cases: set up, confirm and replace methods, and backup codes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import attempts, authenticator, email, notices, otp, replays
from . import proof as proofs
from .authenticator import Check
from .codes import TypedCode, email_code_digest, new_email_code, read_code
from .context import (
    UseCaseContext,
    devices_revoked,
    record_attempt,
    require_allowed,
    require_send_allowed,
    verdict_events,
)
from .errors import FailedPrecondition
from .events import Event, EventType
from .letterhead import letterhead_of
from .models import (
    AuthenticatorSetup,
    BackupCodes,
    CodeSent,
    EmailCode,
    Mail,
    MailKind,
    Method,
    NoticeFacts,
    NoticeKind,
    Policy,
    Replay,
    SetupConfirmation,
    UserRef,
    UserState,
    Verdict,
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
)
from .work import Done, Work

_OTP_LABEL_FORBIDDEN = ":"


@dataclass(frozen=True, slots=True)
class _Before:
    """What a confirmation needs to know of the user as they were before it."""

    methods: tuple[Method, ...]  # enabled
    address: str | None  # the enabled email address


def _user_event(kind: EventType, user: UserRef, reason: str = "") -> Event:
    return Event(kind, user.tenant_id, user.user_id, reason=reason)


def _begun(user: UserRef, method: Method, is_reset: bool) -> Event:
    reason = "reset" if is_reset else ""
    return Event(EventType.SETUP_BEGUN, user.tenant_id, user.user_id, method, reason=reason)


def _replayed(replay: Replay, now: float) -> SetupConfirmation:
    return SetupConfirmation(replays.verdict_now(replay, now), replayed=True)


def _replay_from_read(
    user: UserRef, idempotency: replays.Idempotency | None, now: float
) -> Callable[[Transaction], Done[SetupConfirmation] | None] | None:
    """A retry's answer from a read, without a write (None: the work has no key)."""
    if idempotency is None:
        return None

    def read(tx: Transaction) -> Done[SetupConfirmation] | None:
        state = tx.get_user(user)
        replay = replays.find(state.replays, idempotency, now) if state is not None else None
        return None if replay is None else Done(_replayed(replay, now))

    return read


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
        self, user: UserRef, account_name: str, issuer: str, proof_code: str = ""
    ) -> Work[AuthenticatorSetup]:
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
        violations.check_text(
            "issuer",
            issuer or self._settings.default_issuer,
            max_chars=MAX_ISSUER_CHARS,
            forbidden=_OTP_LABEL_FORBIDDEN,
        )
        proofs.check_field(violations, proof_code)
        violations.raise_if_any()
        secret = otp.generate_secret(self._random.token_bytes)
        proof = self._proof(user, proof_code)
        now = self._clock.now()

        def run(tx: Transaction) -> Done[AuthenticatorSetup]:
            policy = self._policy(tx, user.tenant_id)
            require_allowed(policy, Method.AUTHENTICATOR_APP)
            state = tx.get_user(user) or UserState()
            events, refusal = proofs.check_or_refuse(tx, user, state, policy, proof, now)
            if refusal is not None:
                return refusal
            app = state.authenticator
            authenticator.begin_setup(app, secret, now)
            tx.put_user(user, state)
            is_reset = app.secret is not None
            # The tenant's brand is the label unless the caller names one (both follow
            # the issuer's rules); the user's own parameters (imported users may differ).
            label = issuer or policy.brand or self._settings.default_issuer
            uri = otp.provisioning_uri(secret, account_name, label, app.params)
            setup = AuthenticatorSetup(secret, uri, app.pending_expires_at, is_reset)
            return Done(setup, [*events, _begun(user, Method.AUTHENTICATOR_APP, is_reset)])

        return Work(run, user)

    def confirm_authenticator_setup(
        self, user: UserRef, code: str, notify_email: str = "", idempotency_key: str = ""
    ) -> Work[SetupConfirmation]:
        """Enables the pending TOTP secret if `code` is right; the code's step counts as used.

        Args:
            notify_email: where backup codes go when this is the first method and
                email is not enabled (optional).
            idempotency_key: makes a retry of this submission safe (core/replays.py).
        """
        violations = Violations()
        check_user(violations, user)
        check_code(violations, code)
        check_email(violations, "notify_email", notify_email, required=False)
        replays.check_key(violations, idempotency_key)
        violations.raise_if_any()
        typed = read_code(code)
        return self._confirm(
            user,
            Method.AUTHENTICATOR_APP,
            typed,
            idempotency_key,
            "confirm:app",
            notify_email,
            lambda state, now: authenticator.confirm_setup(state.authenticator, typed.text, now),
        )

    # --- email -----------------------------------------------------------------------

    def begin_email_setup(
        self, user: UserRef, address: str, proof_code: str = ""
    ) -> Work[CodeSent]:
        """Sends a code to `address`, which becomes the pending one.

        While email is enabled this is the Reset flow: the enabled address keeps
        working until the new one is confirmed.

        Raises:
            RateLimited: inside the resend cooldown, over the hourly cap, or locked out.
        """
        violations = Violations()
        check_user(violations, user)
        check_email(violations, "email", address, required=True)
        proofs.check_field(violations, proof_code)
        violations.raise_if_any()
        code = new_email_code(self._random)
        digest = email_code_digest(self._hasher, user, code)
        proof = self._proof(user, proof_code)
        now = self._clock.now()

        def run(tx: Transaction) -> Done[CodeSent]:
            policy = self._policy(tx, user.tenant_id)
            require_allowed(policy, Method.EMAIL)
            state = tx.get_user(user) or UserState()
            require_send_allowed(state, policy, now)
            events, refusal = proofs.check_or_refuse(tx, user, state, policy, proof, now)
            if refusal is not None:
                return refusal
            mail = state.email
            email.begin_setup(mail, address, now)
            expires_at = now + policy.email_code_ttl_seconds
            mail.setup_code = EmailCode(digest, expires_at)
            email.record_send(mail, now)
            letter = Mail(
                MailKind.SETUP_CODE, address, (code,), expires_at, letterhead=letterhead_of(policy)
            )
            tx.enqueue_mail(user, letter)
            tx.put_user(user, state)
            is_reset = mail.address is not None
            sent = CodeSent(
                masked_email=email.mask(address),
                code_expires_at=expires_at,
                resend_available_at=email.next_send_at(mail, now),
                pending_expires_at=mail.pending_expires_at,
                is_reset=is_reset,
            )
            return Done(sent, [*events, _begun(user, Method.EMAIL, is_reset)])

        return Work(run, user)

    def confirm_email_setup(
        self, user: UserRef, code: str, idempotency_key: str = ""
    ) -> Work[SetupConfirmation]:
        """Enables the pending address if `code` is the one sent to it.

        Args:
            idempotency_key: makes a retry of this submission safe (core/replays.py).
        """
        violations = Violations()
        check_user(violations, user)
        check_code(violations, code)
        replays.check_key(violations, idempotency_key)
        violations.raise_if_any()
        typed = read_code(code)
        digest = email_code_digest(self._hasher, user, typed.text)
        return self._confirm(
            user,
            Method.EMAIL,
            typed,
            idempotency_key,
            "confirm:email",
            "",
            lambda state, now: Check(email.confirm_setup(state.email, digest, now)),
        )

    # --- shared by both confirmations ---------------------------------------------------

    def _confirm(
        self,
        user: UserRef,
        method: Method,
        typed: TypedCode,
        idempotency_key: str,
        scope: str,
        notify_email: str,
        confirm: Callable[[UserState, float], Check],
    ) -> Work[SetupConfirmation]:
        """Checks `typed` against the method's pending setup under the attempt budget;
        `confirm` checks a code of the method's shape (and enables the method if right)."""
        now = self._clock.now()
        idempotency = replays.of_request(self._hasher, user, idempotency_key, scope, typed.text)

        def run(tx: Transaction) -> Done[SetupConfirmation]:
            policy = self._policy(tx, user.tenant_id)
            require_allowed(policy, method)
            state = tx.get_user(user) or UserState()
            replay = replays.find(state.replays, idempotency, now)
            if replay is not None:
                return Done(_replayed(replay, now))
            pending = state.authenticator if method is Method.AUTHENTICATOR_APP else state.email
            if not pending.pending_live(now):
                raise _no_pending_setup(method)
            before = _Before(state.enabled_methods(), state.email.address)
            verdict = attempts.gate(state.attempts, now, policy, method)
            if verdict is None:
                outcome = Check(VerifyReason.MALFORMED_CODE)
                if typed.fits(method, state.authenticator.params.digits):
                    outcome = confirm(state, now)
                verdict = record_attempt(state, policy, now, method, outcome)
            if idempotency is not None:
                replays.remember(state.replays, replays.new(idempotency, now, verdict), now)
            return self._confirmed(tx, user, state, policy, verdict, before, notify_email, now)

        return Work(run, user, answer_from_read=_replay_from_read(user, idempotency, now))

    def _confirmed(
        self,
        tx: Transaction,
        user: UserRef,
        state: UserState,
        policy: Policy,
        verdict: Verdict,
        before: _Before,
        notify_email: str,
        now: float,
    ) -> Done[SetupConfirmation]:
        """Finishes a checked confirmation and stores the user.

        The first method brings backup codes; confirming a Reset (the method was
        enabled before) revokes every trusted device, since the old factor may be
        in someone else's hands, and tells the address enabled before.
        """
        events = verdict_events(user, verdict, EventType.SETUP_CONFIRMED, EventType.SETUP_REJECTED)
        codes: tuple[str, ...] = ()
        if verdict.accepted:
            if not before.methods:
                codes, _ = self._issue_backup_codes(tx, user, state, policy, notify_email)
                events.append(_user_event(EventType.BACKUP_CODES_ISSUED, user, reason="first"))
            if verdict.method in before.methods:
                facts = NoticeFacts(at=now, method=verdict.method)
                notices.notify(tx, user, policy, before.address, NoticeKind.RESET_CONFIRMED, facts)
                if state.devices:
                    events.append(devices_revoked(user, len(state.devices), "reset"))
                    state.devices.clear()
        notices.after_code(tx, user, state, policy, verdict, now)
        tx.put_user(user, state)
        return Done(SetupConfirmation(verdict, codes), events)

    # --- backup codes --------------------------------------------------------------------

    def regenerate_backup_codes(
        self, user: UserRef, notify_email: str = "", proof_code: str = ""
    ) -> Work[BackupCodes]:
        """Replaces the whole set of backup codes in one transaction and emails the new set."""
        violations = Violations()
        check_user(violations, user)
        check_email(violations, "notify_email", notify_email, required=False)
        proofs.check_field(violations, proof_code)
        violations.raise_if_any()
        proof = self._proof(user, proof_code)
        now = self._clock.now()

        def run(tx: Transaction) -> Done[BackupCodes]:
            state = tx.get_user(user) or UserState()
            if not state.enabled_methods():
                raise FailedPrecondition(
                    "user",
                    "NOT_ENROLLED",
                    "backup codes exist only while a method is enabled; enable one first",
                )
            policy = self._policy(tx, user.tenant_id)
            events, refusal = proofs.check_or_refuse(tx, user, state, policy, proof, now)
            if refusal is not None:
                return refusal
            address = state.email.address
            codes, recipient = self._issue_backup_codes(tx, user, state, policy, notify_email)
            if recipient != address:  # else the new codes' own message tells that address
                facts = NoticeFacts(at=now)
                kind = NoticeKind.BACKUP_CODES_REGENERATED
                notices.notify(tx, user, policy, address, kind, facts)
            tx.put_user(user, state)
            issued = BackupCodes(codes, email.mask(recipient) if recipient else "")
            regenerated = _user_event(EventType.BACKUP_CODES_ISSUED, user, "regenerated")
            return Done(issued, [*events, regenerated])

        return Work(run, user)
