"""The authenticator app's life cycle: pending set-up, confirmation, verification.

Pure functions over a user's `Authenticator` state; the caller runs them inside
one store transaction and under the attempt budget.
"""

from __future__ import annotations

from . import otp
from .models import PENDING_SETUP_SECONDS, Authenticator, VerifyReason


def begin_setup(app: Authenticator, secret: bytes, now: float) -> None:
    """Makes `secret` the pending one, replacing any earlier pending secret.

    An enabled secret stays as it is: during a Reset it keeps working until
    the new one is confirmed.
    """
    app.pending_secret = secret
    app.pending_expires_at = now + PENDING_SETUP_SECONDS


def confirm_setup(app: Authenticator, code: str, now: float) -> VerifyReason:
    """Enables the pending secret if `code` matches it; the code's step counts as used."""
    pending = app.pending_secret
    assert pending is not None and app.pending_live(now), "caller checks for a pending set-up"
    reason, step = match(pending, code, now, after_step=0)
    if step is not None:
        app.secret, app.last_step, app.enabled_at = pending, step, now
        app.pending_secret, app.pending_expires_at = None, 0.0
    return reason


def verify(app: Authenticator, code: str, now: float) -> VerifyReason:
    """Checks `code` against the enabled secret and records its step as used."""
    assert app.secret is not None, "caller checks that the app is enabled"
    reason, step = match(app.secret, code, now, after_step=app.last_step)
    if step is not None:
        app.last_step = step
    return reason


def match(secret: bytes, code: str, now: float, after_step: int) -> tuple[VerifyReason, int | None]:
    """Checks a six-digit TOTP code; returns OK with the step to record as used, or why it failed.

    Only steps later than `after_step` are accepted (RFC 6238 §5.2); a code of
    an earlier or equal step is CODE_REUSED.
    """
    steps = otp.matching_steps(secret, code, now)
    fresh = [step for step in steps if step > after_step]
    if fresh:
        return VerifyReason.OK, fresh[0]
    return (VerifyReason.CODE_REUSED if steps else VerifyReason.WRONG_CODE), None
