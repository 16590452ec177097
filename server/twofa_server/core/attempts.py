"""The attempt budget: failures of every code type count together, then a lockout.

Rules (DESIGN §4): `max_attempts` failures lock the user for `lockout_seconds`;
while locked, codes are not checked and the lock is not extended; a success,
the end of a lockout or an administrator's unlock starts a fresh budget.
Failures also lapse after `lockout_seconds` without another failure: an
attacker gains nothing by that (the lockout already allows `max_attempts`
tries per `lockout_seconds`), and a user is not punished for a typo last month.

A use case asks `gate` before it checks a code, and tells `record` how the
check went (the shape of Authelia's Regulate and Mark).
"""

from __future__ import annotations

from .models import Attempts, Method, Policy, Verdict, VerifyReason, VerifyResult


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


def gate(attempts: Attempts, now: float, policy: Policy, method: Method) -> Verdict | None:
    """May a code be checked now? None when it may; else the LOCKED_OUT verdict to answer.

    Args:
        method: what the code would be checked as, reported in the verdict.
    """
    until = locked_until(attempts, now)
    if until is None:
        return None
    return _locked(method, VerifyReason.LOCKED, until, now, policy)


def record(
    attempts: Attempts, now: float, policy: Policy, method: Method, reason: VerifyReason
) -> tuple[Verdict, Attempts]:
    """Applies the outcome of a checked code to the budget.

    Args:
        attempts: the user's budget before this attempt (the gate let it through).
        method: what the code was checked as.
        reason: OK when the code was accepted, else why it failed.

    Returns:
        The verdict, and the Attempts to store.
    """
    if reason is VerifyReason.OK:
        return Verdict(VerifyResult.ACCEPTED, reason, method, policy.max_attempts), Attempts()
    failures = counted_failures(attempts, now, policy) + 1
    if failures >= policy.max_attempts:
        until = now + policy.lockout_seconds
        after = Attempts(failures=failures, last_failure_at=now, locked_until=until)
        return _locked(method, VerifyReason.TOO_MANY_ATTEMPTS, until, now, policy), after
    verdict = Verdict(
        VerifyResult.REJECTED,
        reason,
        method,
        attempts_remaining=policy.max_attempts - failures,
        warning=policy.warning_text if failures >= policy.warn_after_failures else "",
    )
    return verdict, Attempts(failures=failures, last_failure_at=now)


def _locked(
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
