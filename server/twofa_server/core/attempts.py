"""The attempt budget: failures of every code type count together, then a lockout.

Rules (DESIGN §4): `max_attempts` failures lock the user for `lockout_seconds`;
while locked, codes are not checked and the lock is not extended; a success,
the end of a lockout or an administrator's unlock starts a fresh budget.
Failures also lapse after `lockout_seconds` without another failure: an
attacker gains nothing by that (the lockout already allows `max_attempts`
tries per `lockout_seconds`), and a user is not punished for a typo last month.
"""

from __future__ import annotations

from collections.abc import Callable

from .models import Attempts, Method, Policy, Verdict, VerifyReason, VerifyResult

# Checks a code and returns VerifyReason.OK (after recording whatever acceptance
# changes, e.g. the used time step) or why it failed.
CodeCheck = Callable[[], VerifyReason]


def locked_until(attempts: Attempts, now: float) -> float | None:
    """Returns the end of the user's lockout, or None when codes may be checked."""
    return attempts.locked_until if attempts.locked_until > now else None


def counted_failures(attempts: Attempts, now: float, policy: Policy) -> int:
    """Failures that still count against the budget at `now`."""
    if attempts.locked_until and attempts.locked_until <= now:
        return 0  # the lockout has been served
    if now - attempts.last_failure_at >= policy.lockout_seconds:
        return 0
    return attempts.failures


def _warning(failures: int, policy: Policy) -> str:
    return policy.warning_text if failures >= policy.warn_after_failures else ""


def check_code(
    attempts: Attempts,
    now: float,
    policy: Policy,
    method: Method,
    check: CodeCheck,
) -> tuple[Verdict, Attempts]:
    """Runs one code check under the budget and returns the verdict and the new budget.

    Args:
        attempts: the user's budget before this attempt.
        now: the current Unix time.
        policy: the tenant's policy.
        method: the method the code is checked as, reported in the verdict.
        check: checks the code and returns VerifyReason.OK (after recording
            whatever acceptance changes, e.g. the used time step) or why it
            failed. Not called while the user is locked out.

    Returns:
        The verdict, and the Attempts to store (the same object when unchanged).
    """
    until = locked_until(attempts, now)
    if until is not None:
        return _locked_verdict(method, VerifyReason.LOCKED, until, now, policy), attempts
    reason = check()
    if reason is VerifyReason.OK:
        verdict = Verdict(VerifyResult.ACCEPTED, reason, method, policy.max_attempts)
        return verdict, Attempts()
    failures = counted_failures(attempts, now, policy) + 1
    if failures >= policy.max_attempts:
        until = now + policy.lockout_seconds
        after = Attempts(failures=failures, last_failure_at=now, locked_until=until)
        return _locked_verdict(method, VerifyReason.TOO_MANY_ATTEMPTS, until, now, policy), after
    after = Attempts(failures=failures, last_failure_at=now)
    verdict = Verdict(
        VerifyResult.REJECTED,
        reason,
        method,
        attempts_remaining=policy.max_attempts - failures,
        warning=_warning(failures, policy),
    )
    return verdict, after


def _locked_verdict(
    method: Method, reason: VerifyReason, until: float, now: float, policy: Policy
) -> Verdict:
    return Verdict(
        VerifyResult.LOCKED_OUT,
        reason,
        method,
        attempts_remaining=0,
        locked_until=until,
        retry_after=until - now,
        warning=policy.warning_text,
    )


def remaining(attempts: Attempts, now: float, policy: Policy) -> int:
    """Attempts left before the lockout (0 while locked)."""
    if locked_until(attempts, now) is not None:
        return 0
    return max(policy.max_attempts - counted_failures(attempts, now, policy), 0)
