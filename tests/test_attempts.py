"""The attempt budget as a pure function: counting, warning, lockout, expiry."""

from __future__ import annotations

import pytest

from twofa_server.core.attempts import check_code, counted_failures, remaining
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


def fail() -> VerifyReason:
    return VerifyReason.WRONG_CODE


def succeed() -> VerifyReason:
    return VerifyReason.OK


def run(failures: int) -> tuple[list[Verdict], Attempts]:
    attempts, verdicts = Attempts(), []
    for i in range(failures):
        verdict, attempts = check_code(attempts, NOW + i, POLICY, Method.AUTHENTICATOR_APP, fail)
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


def test_while_locked_codes_are_not_checked_and_the_lock_is_not_extended() -> None:
    _, locked = run(5)
    called = []

    def check() -> VerifyReason:
        called.append(1)
        return VerifyReason.OK

    verdict, after = check_code(locked, NOW + 100, POLICY, Method.AUTHENTICATOR_APP, check)
    assert called == []
    assert verdict.result is VerifyResult.LOCKED_OUT
    assert verdict.reason is VerifyReason.LOCKED
    assert after is locked
    assert verdict.retry_after == pytest.approx(locked.locked_until - (NOW + 100))


def test_after_the_lockout_a_fresh_budget() -> None:
    _, locked = run(5)
    later = locked.locked_until
    assert remaining(locked, later, POLICY) == 5
    verdict, _ = check_code(locked, later, POLICY, Method.AUTHENTICATOR_APP, fail)
    assert verdict.result is VerifyResult.REJECTED
    assert verdict.attempts_remaining == 4


def test_success_resets_the_count() -> None:
    _, attempts = run(4)
    verdict, after = check_code(attempts, NOW + 10, POLICY, Method.AUTHENTICATOR_APP, succeed)
    assert verdict.result is VerifyResult.ACCEPTED
    assert after == Attempts()


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
        verdict, attempts = check_code(attempts, NOW + i, policy, Method.EMAIL, fail)
        results.append(verdict)
    assert results[-1].result is VerifyResult.LOCKED_OUT
    assert all(v.result is VerifyResult.REJECTED for v in results[:-1])
    assert [bool(v.warning) for v in results] == [i + 1 >= warn_after for i in range(max_attempts)]
