"""Housekeeping: what has expired is removed, so the store does not grow without bound."""

from __future__ import annotations

from . import attempts as budget
from . import devices, replays
from .models import Attempts, Policy, UserState

_HOUR = 3600


def purge_expired(state: UserState, policy: Policy, now: float) -> bool:
    """Removes the user's expired pending set-ups, email codes, send history, devices and
    kept answers for retries.

    Returns whether anything was removed. A user left with nothing is then
    deleted by the store.
    """
    before = (
        state.authenticator.pending_secret,
        state.email.pending_address,
        state.email.setup_code,
        state.email.login_code,
        list(state.email.sent_at),
        len(state.devices),
        state.attempts,
        len(state.replays),
    )
    app, mail = state.authenticator, state.email
    replays.purge(state.replays, now)
    if app.pending_secret is not None and not app.pending_live(now):
        app.pending_secret, app.pending_expires_at = None, 0.0
    if mail.pending_address is not None and not mail.pending_live(now):
        mail.pending_address, mail.pending_expires_at = None, 0.0
    if mail.setup_code is not None and now >= mail.setup_code.expires_at:
        mail.setup_code = None
    if mail.login_code is not None and now >= mail.login_code.expires_at:
        mail.login_code = None
    mail.sent_at = [sent for sent in mail.sent_at if sent > now - _HOUR]
    state.devices = [d for d in state.devices if not devices.is_expired(d, policy, now)]
    tries = state.attempts
    if (
        budget.locked_until(tries, now) is None
        and not budget.counted_failures(tries, now, policy)
        and not budget.escalating(tries, now, policy)
    ):
        state.attempts = Attempts()
    after = (
        app.pending_secret,
        mail.pending_address,
        mail.setup_code,
        mail.login_code,
        mail.sent_at,
        len(state.devices),
        state.attempts,
        len(state.replays),
    )
    return after != before
