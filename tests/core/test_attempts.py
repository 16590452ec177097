"""The attempt budget as pure functions (gate, then record): counting, warning, lockout, expiry."""

from __future__ import annotations

import pytest

from twofa_server.core.attempts import counted_failures, escalating, gate, record
from twofa_server.core.housekeeping import purge_expired
from twofa_server.core.models import (
    Attempts,
    Method,
    Policy,
    UserState,
    Verdict,
    VerifyReason,
    VerifyResult,
)

POLICY = Policy()  # 5 attempts, warning from the 3rd failure, 300 s lockout
DAY = 86400
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


def run(failures: int, policy: Policy = POLICY) -> tuple[list[Verdict], Attempts]:
    attempts, verdicts = Attempts(), []
    for i in range(failures):
        verdict, attempts = attempt(attempts, NOW + i, policy, VerifyReason.WRONG_CODE)
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
def test_without_escalation_failures_lapse_after_a_quiet_lockout_period(
    gap: float, counted: int
) -> None:
    policy = Policy(lockout_escalation=False)
    _, attempts = run(4, policy)
    assert counted_failures(attempts, attempts.last_failure_at + gap, policy) == counted


@pytest.mark.parametrize(("gap", "counted"), [(300, 4), (DAY - 1, 4), (DAY, 0)])
def test_with_escalation_failures_count_as_long_as_the_longest_lockout(
    gap: float, counted: int
) -> None:
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


# --- escalation: each lockout after another without a success lasts twice as long -------


def guess_until_locked(
    attempts: Attempts, now: float, policy: Policy = POLICY
) -> tuple[Verdict, Attempts]:
    """An attacker's wrong codes from `now`, one a second, until the budget locks."""
    for i in range(policy.max_attempts):
        verdict, attempts = attempt(attempts, now + i, policy, VerifyReason.WRONG_CODE)
        if verdict.result is VerifyResult.LOCKED_OUT:
            return verdict, attempts
    raise AssertionError("no lockout")


def lockouts_in_a_row(count: int, policy: Policy = POLICY) -> list[float]:
    """The lengths of `count` lockouts, each sat out and followed at once by more guesses."""
    attempts, now, lengths = Attempts(), NOW, []
    for _ in range(count):
        verdict, attempts = guess_until_locked(attempts, now, policy)
        assert verdict.locked_until is not None and verdict.retry_after is not None
        assert verdict.retry_after == verdict.locked_until - (now + policy.max_attempts - 1)
        lengths.append(verdict.retry_after)
        now = attempts.locked_until + 1
    return lengths


def test_each_lockout_after_another_doubles_up_to_a_day() -> None:
    assert lockouts_in_a_row(12) == [
        300,
        600,
        1200,
        2400,
        4800,
        9600,
        19200,
        38400,
        76800,
        DAY,
        DAY,
        DAY,
    ]


def test_without_escalation_every_lockout_is_the_same() -> None:
    fixed = Policy(lockout_escalation=False)
    assert lockouts_in_a_row(6, fixed) == [300] * 6


def test_the_ceiling_is_max_lockout_seconds() -> None:
    capped = Policy(max_lockout_seconds=1000)
    assert lockouts_in_a_row(5, capped) == [300, 600, 1000, 1000, 1000]


def test_a_hundred_consecutive_failures_take_about_twelve_days() -> None:
    """NIST SP 800-63B §5.2.2 caps consecutive failures at 100; an attacker who guesses
    again the moment each lockout ends needs about 12 days for them under the defaults."""

    def hundred_failures(policy: Policy) -> float:
        """Seconds from the first to the 100th failure: a guess a second while not locked."""
        attempts, now, failures = Attempts(), NOW, 0
        while True:
            if gate(attempts, now, policy, APP) is not None:
                now = attempts.locked_until + 1  # a second after the lockout ends
                continue
            _, attempts = record(attempts, now, policy, APP, VerifyReason.WRONG_CODE)
            failures += 1
            if failures == 100:
                return now - NOW
            now += 1

    elapsed = hundred_failures(POLICY)
    # 19 lockouts sat out: 300 s doubling to a day, then a day each (plus a second a guess).
    lockouts = 300 + 600 + 1200 + 2400 + 4800 + 9600 + 19200 + 38400 + 76800 + 10 * DAY
    assert lockouts <= elapsed < lockouts + 200
    assert 11.5 * DAY < elapsed < 12.5 * DAY
    # A fixed five-minute lockout would have allowed them in under two hours.
    assert hundred_failures(Policy(lockout_escalation=False)) < 2 * 3600


def test_guesses_spaced_to_dodge_the_lockout_do_not_beat_the_escalation() -> None:
    """Four wrong codes, then a pause just longer than lockout_seconds, again and again."""
    attempts, now, failures, locked = Attempts(), NOW, 0, 0
    while failures < 100:
        if gate(attempts, now, POLICY, APP) is not None:
            now = attempts.locked_until + 1
            continue
        verdict, attempts = record(attempts, now, POLICY, APP, VerifyReason.WRONG_CODE)
        failures += 1
        locked += verdict.result is VerifyResult.LOCKED_OUT
        now += 1 if failures % 4 else POLICY.lockout_seconds + 1
    assert now - NOW > 10 * DAY, f"100 failures in {(now - NOW) / 3600:.1f} h, {locked} lockouts"


def escalated(lockouts: int) -> Attempts:
    """The budget right after the `lockouts`-th lockout in a row."""
    attempts, now = Attempts(), NOW
    for _ in range(lockouts):
        _, attempts = guess_until_locked(attempts, now)
        now = attempts.locked_until + 1
    return attempts


def test_a_success_restarts_the_escalation() -> None:
    attempts = escalated(3)  # the next would last 2400 s
    _, attempts = attempt(attempts, attempts.locked_until + 1, POLICY, VerifyReason.OK)
    assert attempts == Attempts()
    assert guess_until_locked(attempts, NOW + DAY)[0].retry_after == 300


@pytest.mark.parametrize(
    ("quiet", "next_lockout"),
    [(5, 2400), (DAY - 1, 2400), (DAY, 300), (3 * DAY, 300)],
)
def test_a_quiet_period_of_max_lockout_seconds_restarts_the_escalation(
    quiet: float, next_lockout: float
) -> None:
    """`quiet`: from the end of the last lockout to the failure that locks again."""
    attempts = escalated(3)
    locking_at = attempts.locked_until + quiet
    assert escalating(attempts, locking_at, POLICY) == (3 if next_lockout == 2400 else 0)
    verdict, _ = guess_until_locked(attempts, locking_at - 4)  # five guesses, a second apart
    assert verdict.locked_until == locking_at + next_lockout


def test_a_failure_between_lockouts_does_not_restart_the_escalation() -> None:
    attempts = escalated(2)
    # One failure an hour after the lockout, then nothing for longer than lockout_seconds:
    # it still counts, and the escalation level stays, until a quiet day.
    _, attempts = attempt(attempts, attempts.locked_until + 3600, POLICY, VerifyReason.WRONG_CODE)
    assert counted_failures(attempts, attempts.last_failure_at + 600, POLICY) == 1
    verdict, _ = guess_until_locked(attempts, attempts.last_failure_at + 600)
    assert verdict.retry_after == 1200


def test_the_sweeper_keeps_the_escalation_state() -> None:
    attempts = escalated(3)
    state = UserState(attempts=attempts)
    state.authenticator.secret = b"k" * 20  # an enrolled user: the record stays
    # An hour after the lockout ended: failures lapsed, escalation not.
    purge_expired(state, POLICY, attempts.locked_until + 3600)
    assert state.attempts.lockouts == 3
    verdict, _ = guess_until_locked(state.attempts, attempts.locked_until + 3600)
    assert verdict.retry_after == 2400
    # After a quiet day there is nothing left to keep.
    purge_expired(state, POLICY, attempts.locked_until + DAY)
    assert state.attempts == Attempts()
