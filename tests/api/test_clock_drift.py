"""A phone whose clock is off, through the API: CLOCK_DRIFT, learning the offset, the metric.

An app code right for another time within ten minutes (outside the ±1-step window) is
refused as CLOCK_DRIFT with `clock_offset_seconds` and counted as a failure; a second
code in a row at the same offset is accepted and the window follows that clock. Codes
come from the tests' own RFC 6238 (support/totp.py).
"""

from __future__ import annotations

import pytest

from twofa_client import MethodState, TwoFactorClient, VerifyReason, VerifyResult
from twofa_server.app import Application

from ..support.clock import FixedClock
from ..support.enroll import enroll_app
from ..support.metrics import scrape, value
from ..support.totp import totp_code, wrong_code

T, U = "acme", "alice"
DRIFT, WRONG = VerifyReason.CLOCK_DRIFT, VerifyReason.WRONG_CODE


def enrolled(client: TwoFactorClient, clock: FixedClock) -> str:
    """An enrolled user, twenty minutes after the set-up: any step tested is fresh."""
    return enroll_app(client, clock, T, U, advance=1200).secret


@pytest.mark.parametrize(("steps", "seconds"), [(4, 120), (-10, -300)], ids=["+120", "-300"])
def test_a_code_minutes_off_is_counted_as_clock_drift_and_a_second_in_a_row_is_accepted(
    client: TwoFactorClient, clock: FixedClock, steps: int, seconds: int
) -> None:
    secret = enrolled(client, clock)
    first = client.verify_code(T, U, totp_code(secret, clock.now(), steps))
    assert (first.result, first.reason) == (VerifyResult.REJECTED, DRIFT)
    assert first.clock_offset_seconds == seconds
    assert first.attempts_remaining == 4  # a failure like any other
    assert client.get_user_status(T, U).failed_attempts == 1

    clock.advance(30)
    second = client.verify_code(T, U, totp_code(secret, clock.now(), steps))
    assert (second.result, second.reason) == (VerifyResult.ACCEPTED, VerifyReason.OK)
    assert second.clock_offset_seconds == seconds
    assert second.attempts_remaining == 5
    assert client.get_user_status(T, U).failed_attempts == 0

    # The window now follows the phone: its next codes are accepted at once...
    clock.advance(30)
    third = client.verify_code(T, U, totp_code(secret, clock.now(), steps))
    assert third.accepted and third.clock_offset_seconds == seconds
    # ...and a code of the server's own time is the one that is off.
    clock.advance(600)
    true_time = client.verify_code(T, U, totp_code(secret, clock.now()))
    assert (true_time.reason, true_time.clock_offset_seconds) == (DRIFT, 0)


def test_at_ten_minutes_a_code_is_still_drift_beyond_it_is_a_wrong_code(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    secret = enrolled(client, clock)
    edge = client.verify_code(T, U, totp_code(secret, clock.now(), 20))
    assert (edge.reason, edge.clock_offset_seconds) == (DRIFT, 600)
    for steps in (21, -21, 21):  # never accepted, even twice in a row at one offset
        beyond = client.verify_code(T, U, totp_code(secret, clock.now(), steps))
        assert (beyond.result, beyond.reason) == (VerifyResult.REJECTED, WRONG)
        assert beyond.clock_offset_seconds is None
        clock.advance(30)
    assert client.get_user_status(T, U).failed_attempts == 4


def test_the_replay_guard_holds_for_drifted_codes(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    secret = enrolled(client, clock)
    seen = totp_code(secret, clock.now(), 4)
    # The same drifted code twice (an observed code replayed): a pair needs two steps.
    assert client.verify_code(T, U, seen).reason is DRIFT
    assert client.verify_code(T, U, seen).reason is DRIFT
    clock.advance(30)
    accepted = totp_code(secret, clock.now(), 4)
    assert client.verify_code(T, U, accepted).accepted
    assert client.verify_code(T, U, accepted).reason is VerifyReason.CODE_REUSED
    # Right for a phone running late, but older than the code just accepted.
    behind = client.verify_code(T, U, totp_code(secret, clock.now(), -5))
    assert behind.reason is WRONG
    assert not client.verify_code(T, U, totp_code(secret, clock.now() + 30, -5)).accepted


@pytest.mark.lmdb_only  # one server's /metrics (a fleet's would be one per instance)
def test_the_clock_offset_histogram_observes_every_app_code_that_matched(
    app: Application, client: TwoFactorClient, clock: FixedClock
) -> None:
    secret = enrolled(client, clock)
    before = scrape(app)
    assert value(before, "twofa_clock_offset_seconds_count") == 0
    assert client.verify_code(T, U, totp_code(secret, clock.now(), 4)).reason is DRIFT
    clock.advance(30)
    assert client.verify_code(T, U, totp_code(secret, clock.now(), 4)).accepted
    clock.advance(30)
    assert client.verify_code(T, U, wrong_code(secret, clock.now())).reason is WRONG  # no offset
    clock.advance(600)
    assert client.verify_code(T, U, totp_code(secret, clock.now(), -10)).reason is DRIFT

    after = scrape(app)
    assert value(after, "twofa_clock_offset_seconds_count") == 3
    # (No _sum: prometheus_client leaves it out of a histogram with negative buckets.)
    buckets = {
        le: value(after, "twofa_clock_offset_seconds_bucket", le=le)
        for le in ("-300.0", "-120.0", "60.0", "120.0", "+Inf")
    }
    assert buckets == {"-300.0": 1, "-120.0": 1, "60.0": 1, "120.0": 3, "+Inf": 3}


def test_a_setup_confirmed_with_a_drifted_code_stays_pending(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    setup = client.begin_authenticator_setup(T, U)
    for _ in range(2):  # not even a second one in a row: a new secret starts centred
        refused = client.confirm_authenticator_setup(T, U, totp_code(setup.secret, clock.now(), 4))
        assert (refused.result, refused.reason) == (VerifyResult.REJECTED, DRIFT)
        assert refused.clock_offset_seconds == 120
        assert refused.backup_codes == ()
        clock.advance(30)
    status = client.get_user_status(T, U)
    assert status.failed_attempts == 2
    assert status.methods[0].state is MethodState.PENDING
    confirmed = client.confirm_authenticator_setup(T, U, totp_code(setup.secret, clock.now()))
    assert confirmed.accepted and confirmed.clock_offset_seconds == 0
