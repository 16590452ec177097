"""The attempt budget as pure functions (gate, then record): counting, warning, lockout, expiry."""

from __future__ import annotations

import pytest

from twofa_server.core.attempts import counted_failures, gate, record
from twofa_server.core.models import (
    Attempts,
    Method,
    Policy,
    Verdict,
    VerifyReason,
    VerifyResult,
)

POLICY = Policy()  # 5 attempts, warning from the 3rd failure, 300 s lockout
NOW = 1_000_000.0


APP = Method.AUTHENTICATOR_APP


def attempt(
    attempts: Attempts, now: float, policy: Policy, reason: VerifyReason
) -> tuple[Verdict, Attempts]:
    """One code through the gate and, if it lets it through, recorded with `reason`."""
    refused = gate(attempts, now, policy, APP)
    if refused is not None:
        return refused, attempts
    return record(attempts, now, policy, APP, reason)


def run(failures: int) -> tuple[list[Verdict], Attempts]:
    attempts, verdicts = Attempts(), []
    for i in range(failures):
        verdict, attempts = attempt(attempts, NOW + i, POLICY, VerifyReason.WRONG_CODE)
        verdicts.append(verdict)
    return verdicts, attempts


def test_five_failures_lock_with_warnings_from_the_third() -> None:
    verdicts, attempts = run(5)
    assert [v.result for v in verdicts] == [VerifyResult.REJECTED] * 4 + [VerifyResult.LOCKED_OUT]
    assert [v.attempts_remaining for v in verdicts] == [4, 3, 2, 1, 0]
    assert [bool(v.warning) for v in verdicts] == [False, False, True, True, True]
    assert verdicts[2].warning == "Please try again in five minutes."
    assert verdicts[4].reason is VerifyReason.TOO_MANY_ATTEMPTS
    assert verdicts[4].locked_until == NOW + 4 + 300
    assert verdicts[4].retry_after == 300
    assert attempts.locked_until == NOW + 4 + 300


def test_while_locked_the_gate_refuses_and_the_lock_is_not_extended() -> None:
    _, locked = run(5)
    verdict = gate(locked, NOW + 100, POLICY, APP)
    assert verdict is not None
    assert verdict.result is VerifyResult.LOCKED_OUT
    assert verdict.reason is VerifyReason.LOCKED
    assert verdict.locked_until == locked.locked_until
    assert verdict.retry_after == pytest.approx(locked.locked_until - (NOW + 100))


def test_the_gate_lets_codes_through_when_not_locked() -> None:
    _, four_failures = run(4)
    assert gate(Attempts(), NOW, POLICY, APP) is None
    assert gate(four_failures, NOW + 4, POLICY, APP) is None


def test_after_the_lockout_a_fresh_budget() -> None:
    _, locked = run(5)
    later = locked.locked_until
    assert gate(locked, later, POLICY, APP) is None
    assert counted_failures(locked, later, POLICY) == 0
    verdict, _ = attempt(locked, later, POLICY, VerifyReason.WRONG_CODE)
    assert verdict.result is VerifyResult.REJECTED
    assert verdict.attempts_remaining == 4


def test_success_resets_the_count() -> None:
    _, attempts = run(4)
    verdict, after = attempt(attempts, NOW + 10, POLICY, VerifyReason.OK)
    assert verdict.result is VerifyResult.ACCEPTED
    assert verdict.attempts_remaining == POLICY.max_attempts
    assert after == Attempts()


@pytest.mark.parametrize(
    "reason",
    [VerifyReason.WRONG_CODE, VerifyReason.CODE_REUSED, VerifyReason.MALFORMED_CODE],
)
def test_every_failure_reason_counts_and_is_reported(reason: VerifyReason) -> None:
    verdict, after = record(Attempts(), NOW, POLICY, Method.EMAIL, reason)
    assert verdict.reason is reason and verdict.method is Method.EMAIL
    assert after.failures == 1 and after.last_failure_at == NOW


@pytest.mark.parametrize(("gap", "counted"), [(0, 4), (299, 4), (300, 0), (10_000, 0)])
def test_failures_lapse_after_a_quiet_lockout_period(gap: float, counted: int) -> None:
    _, attempts = run(4)
    assert counted_failures(attempts, attempts.last_failure_at + gap, POLICY) == counted


@pytest.mark.parametrize(("max_attempts", "warn_after"), [(1, 1), (3, 2), (20, 20)])
def test_policy_limits_take_effect(max_attempts: int, warn_after: int) -> None:
    policy = Policy(max_attempts=max_attempts, warn_after_failures=warn_after)
    attempts = Attempts()
    results = []
    for i in range(max_attempts):
        verdict, attempts = attempt(attempts, NOW + i, policy, VerifyReason.WRONG_CODE)
        results.append(verdict)
    assert results[-1].result is VerifyResult.LOCKED_OUT
    assert all(v.result is VerifyResult.REJECTED for v in results[:-1])
    assert [bool(v.warning) for v in results] == [i + 1 >= warn_after for i in range(max_attempts)]
