"""The authenticator app's rules in core/authenticator.py: clock drift and TOTP parameters.

A code right for another time within ten minutes is CLOCK_DRIFT with its offset; a
second one in a row at the same offset is accepted and re-centres the window; the
replay guard holds throughout. Codes come from the tests' own RFC 6238 (support/totp.py).
"""

from __future__ import annotations

import pytest

from twofa_server.core import authenticator
from twofa_server.core.authenticator import Check
from twofa_server.core.models import Authenticator, Method, UserRef, UserState, VerifyReason
from twofa_server.core.otp import TotpParameters

from ..support.clock import START
from ..support.totp import totp_at, wrong_code_at
from .fakes import ALICE, Core

KEY = b"12345678901234567890"
NOW = START  # step-aligned
STEP = int(NOW // 30)
OK, DRIFT, WRONG = VerifyReason.OK, VerifyReason.CLOCK_DRIFT, VerifyReason.WRONG_CODE


def enabled(params: TotpParameters | None = None, last_step: int = STEP - 60) -> Authenticator:
    """An enabled app whose last accepted step lies far enough back for any drift tested."""
    params = params or TotpParameters()
    return Authenticator(secret=KEY, last_step=last_step, enabled_at=0.0, params=params)


def code(now: float, offset_steps: int, params: TotpParameters | None = None) -> str:
    p = params or TotpParameters()
    return totp_at(KEY, now, offset_steps, digits=p.digits, period=p.period, algorithm=p.algorithm)


def verify(app: Authenticator, now: float, offset_steps: int) -> Check:
    return authenticator.verify(app, code(now, offset_steps, app.params), now)


# --- recognising a drifting clock ---------------------------------------------------------


@pytest.mark.parametrize("offset", [2, 4, 10, 20, -2, -4, -10, -20])
def test_a_code_of_another_time_within_ten_minutes_is_clock_drift_with_its_offset(
    offset: int,
) -> None:
    app = enabled()
    assert verify(app, NOW, offset) == Check(DRIFT, offset * 30)
    assert (app.last_step, app.drift_steps) == (STEP - 60, 0)  # nothing accepted, nothing learnt


@pytest.mark.parametrize("offset", [21, -21, 40, -40])
def test_a_code_beyond_ten_minutes_is_a_wrong_code(offset: int) -> None:
    app = enabled(last_step=STEP - 100)
    assert verify(app, NOW, offset) == Check(WRONG)
    assert verify(app, NOW + 30, offset) == Check(WRONG)  # a second one in a row too
    assert (app.last_step, app.drift_steps, app.drift_candidate) == (STEP - 100, 0, None)


def test_a_second_code_in_a_row_at_the_same_offset_is_accepted_and_recentres_the_window() -> None:
    app = enabled()
    assert verify(app, NOW, 4) == Check(DRIFT, 120)
    assert verify(app, NOW + 30, 4) == Check(OK, 120)
    assert (app.drift_steps, app.last_step) == (4, STEP + 5)
    # Later codes at that offset are accepted directly, with the window's ±1 around it.
    assert verify(app, NOW + 60, 4) == Check(OK, 120)
    assert verify(app, NOW + 90, 5) == Check(OK, 150)
    # A code at the server's own time is now outside the window: CLOCK_DRIFT (offset 0),
    # once its step is later than the last accepted one.
    later = NOW + 600
    assert verify(app, later, 0) == Check(DRIFT, 0)
    assert verify(app, later + 30, 0) == Check(OK, 0)  # and two in a row follow it back
    assert app.drift_steps == 0


def test_the_second_code_must_match_the_first_ones_offset() -> None:
    app = enabled()
    assert verify(app, NOW, 4) == Check(DRIFT, 120)
    assert verify(app, NOW + 30, 6) == Check(DRIFT, 180)
    assert verify(app, NOW + 60, 6) == Check(OK, 180)


def test_a_wrong_code_between_two_drifted_ones_starts_the_pair_again() -> None:
    app = enabled()
    assert verify(app, NOW, 4) == Check(DRIFT, 120)
    assert authenticator.verify(app, wrong_code_at(KEY, NOW), NOW + 30) == Check(WRONG)
    assert verify(app, NOW + 60, 4) == Check(DRIFT, 120)
    assert verify(app, NOW + 90, 4) == Check(OK, 120)


# --- the replay guard holds -------------------------------------------------------------


def test_the_same_drifted_code_sent_twice_is_not_accepted() -> None:
    app = enabled()
    seen = code(NOW, 4)
    assert authenticator.verify(app, seen, NOW) == Check(DRIFT, 120)
    assert authenticator.verify(app, seen, NOW) == Check(DRIFT, 120)
    # A step later the same code is one step nearer: another offset, still not accepted.
    assert authenticator.verify(app, seen, NOW + 30) == Check(DRIFT, 90)
    assert app.last_step == STEP - 60


def test_a_drifted_code_of_a_step_already_used_is_never_accepted() -> None:
    app = enabled()
    assert verify(app, NOW, 0) == Check(OK, 0)
    assert app.last_step == STEP
    # Five steps back: right for a phone running late, but older than the accepted code.
    assert verify(app, NOW, -5) == Check(WRONG)
    assert verify(app, NOW + 30, -5) == Check(WRONG)
    assert (app.last_step, app.drift_steps) == (STEP, 0)


def test_after_recentring_the_accepted_steps_stay_used() -> None:
    app = enabled()
    verify(app, NOW, 4)
    assert verify(app, NOW + 30, 4) == Check(OK, 120)
    assert verify(app, NOW + 30, 4) == Check(VerifyReason.CODE_REUSED)
    # The step at the server's time lies before the accepted one: simply wrong.
    assert verify(app, NOW + 30, 0) == Check(WRONG)


# --- set-up confirmations -----------------------------------------------------------------


def test_a_pending_setup_confirmed_with_drifted_codes_is_never_enabled() -> None:
    app = Authenticator()
    authenticator.begin_setup(app, KEY, NOW)
    for now in (NOW, NOW + 30, NOW + 60):
        assert authenticator.confirm_setup(app, code(now, 4), now) == Check(DRIFT, 120)
    assert (app.secret, app.pending_secret) == (None, KEY)
    assert authenticator.confirm_setup(app, code(NOW + 90, 0), NOW + 90) == Check(OK, 0)
    enabled_now = app.secret, app.pending_secret, app.drift_steps
    assert enabled_now == (KEY, None, 0)


# --- other parameters: eight digits, 60-second steps, SHA-256 / SHA-512 ---------------------

EIGHT_60_SHA256 = TotpParameters(digits=8, period=60, algorithm="sha256")


def test_eight_digit_sha256_60_second_codes_verify_and_drift_in_their_own_steps() -> None:
    step = int(NOW // 60)
    app = enabled(EIGHT_60_SHA256, last_step=step - 30)
    assert len(code(NOW, 0, EIGHT_60_SHA256)) == 8
    assert verify(app, NOW, 0) == Check(OK, 0)
    assert verify(app, NOW, 1) == Check(OK, 60)
    assert verify(app, NOW, 3) == Check(DRIFT, 180)  # ten minutes are ten 60-second steps
    assert verify(app, NOW, 10) == Check(DRIFT, 600)
    assert verify(app, NOW, 11) == Check(WRONG)
    # The same step's code under the default parameters is not this app's code.
    assert authenticator.verify(app, code(NOW + 120, 0), NOW + 120) == Check(WRONG)


EIGHT_30_SHA512 = TotpParameters(digits=8, period=30, algorithm="sha512")


def test_a_user_with_other_parameters_verifies_and_sets_up_again_with_them(core: Core) -> None:
    """The parameters live in the user's record: the check and a later set-up's URI use them."""
    state = UserState(authenticator=enabled(EIGHT_30_SHA512))
    core.store.state.users[ALICE] = state
    eight = code(NOW, 0, EIGHT_30_SHA512)
    assert core.do(core.service.verify_code(ALICE, eight)).verdict.accepted
    six = code(NOW + 30, 0)  # what a default app would show: not this user's shape
    answer = core.do(core.service.verify_code(ALICE, six, Method.AUTHENTICATOR_APP))
    assert answer.verdict.reason is VerifyReason.MALFORMED_CODE

    reset = core.do(core.service.begin_authenticator_setup(ALICE, "", ""))
    assert reset.is_reset
    assert reset.otpauth_uri.endswith("&algorithm=SHA512&digits=8&period=30")
    new = totp_at(reset.secret, NOW, digits=8, algorithm="sha512")
    confirmed = core.do(core.service.confirm_authenticator_setup(ALICE, new))
    assert confirmed.verdict.accepted
    assert core.store.user(ALICE).authenticator.params == EIGHT_30_SHA512


def test_another_user_keeps_the_default_parameters(core: Core) -> None:
    other = UserRef("acme", "bob")
    setup = core.do(core.service.begin_authenticator_setup(other, "", ""))
    assert setup.otpauth_uri.endswith("&algorithm=SHA1&digits=6&period=30")
