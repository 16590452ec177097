"""Atomicity under concurrency: each use case is one store transaction."""

from __future__ import annotations

from collections import Counter

from twofa_client import TwoFactorClient, VerifyReason, VerifyResult

from ..support.at_once import verify_all_at_once
from ..support.clock import FixedClock
from ..support.enroll import enroll_app
from ..support.totp import totp_code, wrong_code

T, U = "acme", "alice"
CALLERS = 32


def test_one_valid_code_sent_32_times_at_once_is_accepted_exactly_once(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    secret = enroll_app(client, clock, T, U, advance=30).secret
    answers = verify_all_at_once(client, T, U, totp_code(secret, clock.now()), CALLERS)
    outcomes = Counter((a.result, a.reason) for a in answers)
    assert outcomes[(VerifyResult.ACCEPTED, VerifyReason.OK)] == 1
    # The 31 replays are failures; after 5 of them the user is locked out.
    assert sum(outcomes.values()) == CALLERS
    assert outcomes[(VerifyResult.REJECTED, VerifyReason.CODE_REUSED)] <= 4


def test_32_wrong_codes_at_once_count_exactly_max_attempts_before_the_lock(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    secret = enroll_app(client, clock, T, U, advance=30).secret
    answers = verify_all_at_once(client, T, U, wrong_code(secret, clock.now()), CALLERS)
    outcomes = Counter((a.result, a.reason) for a in answers)
    assert outcomes == {
        (VerifyResult.REJECTED, VerifyReason.WRONG_CODE): 4,
        (VerifyResult.LOCKED_OUT, VerifyReason.TOO_MANY_ATTEMPTS): 1,
        (VerifyResult.LOCKED_OUT, VerifyReason.LOCKED): CALLERS - 5,
    }
    assert sorted(a.attempts_remaining for a in answers)[-4:] == [1, 2, 3, 4]
    status = client.get_user_status(T, U)
    assert status.failed_attempts == 5
    lock_ends = {a.locked_until for a in answers if a.locked_until is not None}
    assert lock_ends == {status.locked_until}  # one lock, never extended
