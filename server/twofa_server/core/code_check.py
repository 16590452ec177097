"""Checking a typed code: the methods it is checked as, and the check that uses it up.

VerifyCode and the proof a sensitive change may require (core/proof.py) check
codes the same way: the method named, or those the code's shape fits, all in
one attempt.
"""

from __future__ import annotations

from . import attempts, authenticator, email
from .authenticator import Check
from .codes import CodeShape, TypedCode, use_backup_code
from .context import record_attempt, require_allowed
from .errors import FailedPrecondition
from .models import Method, Policy, UserState, Verdict, VerifyReason

# When a code fits several methods and fails them all, the most telling reason is reported.
REASON_RANK = (
    VerifyReason.CLOCK_DRIFT,
    VerifyReason.CODE_REUSED,
    VerifyReason.CODE_EXPIRED,
    VerifyReason.WRONG_CODE,
    VerifyReason.NO_ACTIVE_CODE,
    VerifyReason.MALFORMED_CODE,
)


def candidates(
    state: UserState, policy: Policy, requested: Method, typed: TypedCode
) -> tuple[Method, ...]:
    """The methods a code is checked as: the one named, or those its shape fits.

    A code that fits none is still checked (as the first enabled method), so it
    counts against the budget as MALFORMED_CODE.
    """
    enabled = state.enabled_methods()
    if not enabled:
        raise FailedPrecondition(
            "user", "NOT_ENROLLED", "the user has no enabled 2FA method to verify a code against"
        )
    if requested is Method.BACKUP_CODE:
        if not state.backup_codes:
            raise FailedPrecondition(
                requested.name, "NO_BACKUP_CODES", "the user has no backup codes left"
            )
        return (requested,)
    if requested is not Method.UNSPECIFIED:
        if requested not in enabled:
            raise FailedPrecondition(
                requested.name, "METHOD_NOT_ENABLED", f"the user has no enabled {requested.name}"
            )
        require_allowed(policy, requested)
        return (requested,)
    if typed.shape is CodeShape.BACKUP_CODE:
        return (Method.BACKUP_CODE,)
    if typed.digits:
        fitting = tuple(m for m in enabled if typed.fits(m, state.authenticator.params.digits))
        allowed = tuple(m for m in fitting if policy.allows(m))
        if fitting and not allowed:
            require_allowed(policy, fitting[0])  # says which method is not allowed
        if allowed:
            return allowed
    return (enabled[0],)


def check_under_budget(
    state: UserState,
    policy: Policy,
    requested: Method,
    typed: TypedCode,
    digest: bytes,
    now: float,
) -> Verdict:
    """Checks a code as one attempt of the user's budget: refused unchecked while the
    budget refuses (a lockout), else checked as its candidates and counted."""
    methods = candidates(state, policy, requested, typed)
    verdict = attempts.gate(state.attempts, now, policy, methods[0])
    if verdict is None:
        used, outcome = check(state, methods, typed, digest, now)
        verdict = record_attempt(state, policy, now, used, outcome)
    return verdict


def check(
    state: UserState,
    candidates: tuple[Method, ...],
    typed: TypedCode,
    digest: bytes,
    now: float,
) -> tuple[Method, Check]:
    """Checks the code as each candidate; the first to accept it wins, and it uses it up.

    However many candidates there are, it is one attempt.
    """
    failures = []
    for method in candidates:
        outcome = check_as(method, state, typed, digest, now)
        if outcome.reason is VerifyReason.OK:
            return method, outcome
        failures.append((method, outcome))
    return min(failures, key=lambda failure: REASON_RANK.index(failure[1].reason))


def check_as(
    method: Method, state: UserState, typed: TypedCode, digest: bytes, now: float
) -> Check:
    if not typed.fits(method, state.authenticator.params.digits):
        return Check(VerifyReason.MALFORMED_CODE)
    if method is Method.AUTHENTICATOR_APP:
        return authenticator.verify(state.authenticator, typed.text, now)
    if method is Method.EMAIL:
        return Check(email.verify_login_code(state.email, digest, now))
    return Check(use_backup_code(state.backup_codes, digest))
