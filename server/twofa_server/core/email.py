"""The email method's life cycle and its send limits (DESIGN §4).

Pure functions over a user's `EmailMethod`; codes arrive already hashed, the
caller runs these inside one store transaction.
"""

from __future__ import annotations

import hmac

from .models import PENDING_SETUP_SECONDS, EmailCode, EmailMethod, VerifyReason

RESEND_COOLDOWN_SECONDS = 60
MAX_SENDS_PER_HOUR = 10
_HOUR = 3600


def send_limit(email: EmailMethod, now: float) -> tuple[str, float] | None:
    """Which send limit holds at `now` ("RESEND_COOLDOWN" or "HOURLY_SEND_LIMIT") and until
    when; None when a code may be sent now.

    The cooldown throttles re-sends while a code is outstanding: once the last code was
    used (a set-up confirmed, a login code accepted) or voided, the next one may go at
    once, e.g. the first login code right after enrollment. The hourly cap counts every
    send regardless.
    """
    recent = [sent for sent in email.sent_at if sent > now - _HOUR]
    if len(recent) >= MAX_SENDS_PER_HOUR:
        return "HOURLY_SEND_LIMIT", recent[-MAX_SENDS_PER_HOUR] + _HOUR
    if recent and recent[-1] + RESEND_COOLDOWN_SECONDS > now and outstanding(email, now):
        return "RESEND_COOLDOWN", recent[-1] + RESEND_COOLDOWN_SECONDS
    return None


def outstanding(email: EmailMethod, now: float) -> bool:
    """Whether a code sent by email is still waiting to be used."""
    return any(
        slot is not None and now < slot.expires_at for slot in (email.setup_code, email.login_code)
    )


def next_send_at(email: EmailMethod, now: float) -> float:
    """When another code may be sent (now, if nothing holds it back)."""
    limit = send_limit(email, now)
    return now if limit is None else limit[1]


def record_send(email: EmailMethod, now: float) -> None:
    email.sent_at = [sent for sent in email.sent_at if sent > now - _HOUR] + [now]


def begin_setup(email: EmailMethod, address: str, now: float) -> None:
    """Makes `address` the pending one; an enabled address keeps working meanwhile."""
    email.pending_address = address
    email.pending_expires_at = now + PENDING_SETUP_SECONDS


def check_code(slot: EmailCode | None, digest: bytes, now: float) -> VerifyReason:
    """Compares a typed code's digest with the outstanding code of one purpose."""
    if slot is None:
        return VerifyReason.NO_ACTIVE_CODE
    if not hmac.compare_digest(slot.digest, digest):
        return VerifyReason.WRONG_CODE
    return VerifyReason.OK if now < slot.expires_at else VerifyReason.CODE_EXPIRED


def confirm_setup(email: EmailMethod, digest: bytes, now: float) -> VerifyReason:
    """Enables the pending address if `digest` is its setup code's; the code is used up."""
    assert email.pending_address is not None and email.pending_live(now), "caller checks"
    reason = check_code(email.setup_code, digest, now)
    if reason is VerifyReason.OK:
        email.address, email.enabled_at = email.pending_address, now
        email.pending_address, email.pending_expires_at = None, 0.0
        email.setup_code = None
    return reason


def verify_login_code(email: EmailMethod, digest: bytes, now: float) -> VerifyReason:
    """Checks a login code; an accepted code is used up."""
    reason = check_code(email.login_code, digest, now)
    if reason is VerifyReason.OK:
        email.login_code = None
    return reason


def void_codes(email: EmailMethod) -> None:
    """Used when the attempt budget runs out: no outstanding code survives a lockout."""
    email.setup_code = email.login_code = None


def mask(address: str) -> str:
    """Shows enough of an address to recognise it: "j***@example.com"."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"
