"""The attempt budget: failures of every code type count together, then a lockout.

Rules (DESIGN §4): `max_attempts` failures lock the user for `lockout_seconds`;
while locked, codes are not checked and the lock is not extended; a success,
the end of a lockout or an administrator's unlock starts a fresh budget.
Failures also lapse after a quiet spell without another failure, so a user is
not punished for a typo last month: `lockout_seconds` without escalation (an
attacker gains nothing by waiting, the lockout already allows `max_attempts`
tries per `lockout_seconds`), `max_lockout_seconds` with it.

Escalation (policy `lockout_escalation`): a lockout that follows another without
a success in between lasts twice as long as that one, up to `max_lockout_seconds`,
so that guessing cannot go on at a steady rate for the account's lifetime
(NIST SP 800-63B §5.2.2 caps consecutive failures at 100; with the defaults, 100
failures take about 12 days). Failures must then count for as long as the
longest lockout: were they forgotten after `lockout_seconds`, an attacker who
paused five minutes after every `max_attempts - 1` guesses would never be locked
out, and never escalate. A success, an unlock, or a quiet period as long as
`max_lockout_seconds` after the last lockout ended starts the escalation again.

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
    if attempts.last_failure_at < attempts.locked_until <= now:
        return 0  # the lockout has been served, and no failure came since
    if now - attempts.last_failure_at >= failures_lapse_after(policy):
        return 0
    return attempts.failures


def failures_lapse_after(policy: Policy) -> float:
    """How long failures count without another one (see the module's docstring)."""
    return policy.max_lockout_seconds if policy.lockout_escalation else policy.lockout_seconds


def escalating(attempts: Attempts, now: float, policy: Policy) -> int:
    """The lockouts in a row that still count towards the next one's length at `now`."""
    if not policy.lockout_escalation or not attempts.lockouts:
        return 0
    if now - attempts.locked_until >= policy.max_lockout_seconds:
        return 0  # a quiet period as long as the longest lockout: start again
    return attempts.lockouts


def lockout_seconds(policy: Policy, earlier_lockouts: int) -> float:
    """How long a lockout lasts after `earlier_lockouts` in a row (0: the first)."""
    if not policy.lockout_escalation:
        return policy.lockout_seconds
    ceiling = max(policy.max_lockout_seconds, policy.lockout_seconds)
    # min() first: 2**n must not grow without bound for a very persistent attacker.
    return min(policy.lockout_seconds << min(earlier_lockouts, 32), ceiling)


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
    earlier = escalating(attempts, now, policy)
    if failures >= policy.max_attempts:
        until = now + lockout_seconds(policy, earlier)
        after = Attempts(failures, now, locked_until=until, lockouts=earlier + 1)
        return _locked(method, VerifyReason.TOO_MANY_ATTEMPTS, until, now, policy), after
    verdict = Verdict(
        VerifyResult.REJECTED,
        reason,
        method,
        attempts_remaining=policy.max_attempts - failures,
        warning=policy.warning_text if failures >= policy.warn_after_failures else "",
    )
    # The last lockout's end and the escalation level stay: they decide the next one.
    return verdict, Attempts(failures, now, attempts.locked_until, earlier)


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
