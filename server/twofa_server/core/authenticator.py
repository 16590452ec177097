"""The authenticator app's life cycle: pending set-up, confirmation, verification, clock drift.

Pure functions over a user's `Authenticator` state; the caller runs them inside
one store transaction and under the attempt budget.

A phone whose clock is off is the first cause of "my code doesn't work". A code
outside the accepted window (±1 step around the window's centre) but within ±10
minutes of the server's time is still refused and counted, as CLOCK_DRIFT with
the offset, so the application can say "check the time on your phone". A second
code in a row at the same offset is accepted and re-centres the window there
(privacyIDEA's automatic resync, bounded to ±10 minutes); the replay guard
(only steps after the last accepted one) is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import otp
from .models import PENDING_SETUP_SECONDS, Authenticator, VerifyReason

DRIFT_REACH_SECONDS = 600  # how far from the server's time a code is still recognised


@dataclass(frozen=True, slots=True)
class Check:
    """How a code fared: the reason, and for a code that matched some step, how far
    (in seconds) that step is from the server's time."""

    reason: VerifyReason
    offset_seconds: int | None = None


def begin_setup(app: Authenticator, secret: bytes, now: float) -> None:
    """Makes `secret` the pending one, replacing any earlier pending secret.

    An enabled secret stays as it is: during a Reset it keeps working until
    the new one is confirmed.
    """
    app.pending_secret = secret
    app.pending_expires_at = now + PENDING_SETUP_SECONDS


def confirm_setup(app: Authenticator, code: str, now: float) -> Check:
    """Enables the pending secret if `code` matches it; the code's step counts as used.

    A code of another time is CLOCK_DRIFT (the phone's clock is off), never accepted:
    a new secret starts with a centred window.
    """
    pending = app.pending_secret
    assert pending is not None and app.pending_live(now), "caller checks for a pending set-up"
    params = app.params
    steps = otp.matching_steps(pending, code, now, params=params)
    if steps:
        app.secret, app.last_step, app.enabled_at = pending, steps[0], now
        app.pending_secret, app.pending_expires_at = None, 0.0
        app.drift_steps, app.drift_candidate = 0, None
        return Check(VerifyReason.OK, _offset(steps[0], now, params))
    far = _far_steps(pending, code, now, params, centre=0)
    if far:
        return Check(VerifyReason.CLOCK_DRIFT, _offset(far[0], now, params))
    return Check(VerifyReason.WRONG_CODE)


def verify(app: Authenticator, code: str, now: float) -> Check:
    """Checks `code` against the enabled secret and records its step as used.

    Only steps later than the last accepted one are accepted (RFC 6238 §5.2): a
    code of an earlier or equal step is CODE_REUSED.
    """
    secret = app.secret
    assert secret is not None, "caller checks that the app is enabled"
    params = app.params
    window = otp.matching_steps(secret, code, now, params=params, center=app.drift_steps)
    fresh = [step for step in window if step > app.last_step]
    if fresh:
        app.last_step, app.drift_candidate = fresh[0], None
        return Check(VerifyReason.OK, _offset(fresh[0], now, params))
    if window:
        app.drift_candidate = None
        return Check(VerifyReason.CODE_REUSED)
    far = _far_steps(secret, code, now, params, centre=app.drift_steps)
    fresh_far = [step for step in far if step > app.last_step]
    if not fresh_far:  # nothing, or a stale code from before the last accepted one
        app.drift_candidate = None
        return Check(VerifyReason.WRONG_CODE)
    step = fresh_far[0]
    offset = step - otp.time_step(now, params.period)
    if app.drift_candidate == offset and step > app.drift_candidate_step:
        # The second code in a row at this offset: follow the phone's clock.
        app.drift_steps, app.last_step, app.drift_candidate = offset, step, None
        return Check(VerifyReason.OK, offset * params.period)
    app.drift_candidate, app.drift_candidate_step = offset, step
    return Check(VerifyReason.CLOCK_DRIFT, offset * params.period)


def _far_steps(
    secret: bytes, code: str, now: float, params: otp.TotpParameters, centre: int
) -> tuple[int, ...]:
    """The steps within DRIFT_REACH_SECONDS of the server's time, outside the accepted
    window around `centre`, whose code is `code`."""
    current = otp.time_step(now, params.period)
    reach = DRIFT_REACH_SECONDS // params.period
    outside = (
        step
        for step in range(current - reach, current + reach + 1)
        if abs(step - (current + centre)) > 1
    )
    return otp.steps_matching(secret, code, outside, params)


def _offset(step: int, now: float, params: otp.TotpParameters) -> int:
    return (step - otp.time_step(now, params.period)) * params.period
