"""Moving in from another 2FA system: users' existing authenticator secrets.

An application that already gave its users authenticator apps (another 2FA
server, a library in its own code) hands twofa each user's secret and the app's
parameters; the user's app keeps working, nobody re-enrols. Each entry is checked
here, the same way for the ImportAuthenticators RPC and for `twofa user import`
(which reports the file's line numbers), before anything is stored.
"""

from __future__ import annotations

import base64
import binascii
import enum
from collections.abc import Sequence
from dataclasses import dataclass

from . import otp
from .authenticator import DRIFT_REACH_SECONDS
from .errors import FieldViolation
from .models import Authenticator, UserRef, UserState
from .validation import MAX_USER_ID_BYTES, Violations

# 80 bits is what Google Authenticator-era systems issued (16 base32 characters):
# refusing them would force the re-enrolment this exists to avoid. RFC 4226 asks
# for 128; twofa's own secrets have 160.
MIN_SECRET_BYTES = 10
MAX_SECRET_BYTES = 64
MAX_ENTRIES_PER_REQUEST = 1000


def _base32_chars(size: int) -> int:
    return -(-size * 8 // 5)


_BASE32_RULE = (
    f"must be the base32 secret (letters A-Z and digits 2-7; case, spaces, '-' and '=' "
    f"padding ignored) of {MIN_SECRET_BYTES}-{MAX_SECRET_BYTES} bytes "
    f"({_base32_chars(MIN_SECRET_BYTES)}-{_base32_chars(MAX_SECRET_BYTES)} characters)"
)
_ALGORITHMS = {name.upper(): name for name in otp.ALLOWED_ALGORITHMS}


@dataclass(frozen=True, slots=True)
class AuthenticatorEntry:
    """One user's authenticator as the other system kept it, unchecked.

    Attributes:
        user_id: the user in this tenant.
        secret: the shared secret in base32, as the app was given it.
        digits: code length, 6 or 8; 0 means 6.
        period: seconds per time step, 30 or 60; 0 means 30.
        algorithm: "SHA1", "SHA256" or "SHA512" (any case); empty means SHA1.
        last_used_step: the last time step (Unix time // period) a code was accepted
            for, when the other system knows it; None when it does not.
    """

    user_id: str
    secret: str
    digits: int = 0
    period: int = 0
    algorithm: str = ""
    last_used_step: int | None = None


@dataclass(frozen=True, slots=True)
class CheckedEntry:
    """An entry that passed every check, its secret decoded."""

    user: UserRef
    secret: bytes
    params: otp.TotpParameters
    last_step: int


class ImportResult(enum.Enum):
    """What importing one entry did."""

    IMPORTED = 1  # the user had no authenticator app enabled; now they have this one
    REPLACED = 2  # the user's enabled app was replaced (asked for with replace_existing)
    UNCHANGED = 3  # the user already had this very secret and parameters (a re-run)
    ALREADY_ENROLLED = 4  # the user has another app enabled; left as it was


def decode_secret(text: str) -> bytes | None:
    """The secret's bytes, or None when `text` is not base32 of an allowed length."""
    cleaned = "".join(text.split()).replace("-", "").rstrip("=").upper()
    if not cleaned.isascii():
        return None
    try:
        secret = base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
    except (binascii.Error, ValueError):
        return None
    if base64.b32encode(secret).decode("ascii").rstrip("=") != cleaned:
        return None  # bits left over at the end: characters were lost or mistyped
    return secret if MIN_SECRET_BYTES <= len(secret) <= MAX_SECRET_BYTES else None


def check_entry(
    violations: Violations, tenant_id: str, entry: AuthenticatorEntry, now: float, prefix: str = ""
) -> CheckedEntry | None:
    """Checks one entry; adds a violation for each bad field (named `prefix` + field).

    Returns:
        The checked entry, or None when any of its fields is wrong. A violation never
        quotes the secret.
    """
    before = len(violations)
    violations.check_text(prefix + "user_id", entry.user_id, max_bytes=MAX_USER_ID_BYTES)
    secret = decode_secret(entry.secret)
    if secret is None:
        problem = "is required" if not entry.secret.strip() else "is not usable"
        violations.add(prefix + "secret", f"{problem}; {_BASE32_RULE}")
    digits = entry.digits or otp.DIGITS
    if digits not in otp.ALLOWED_DIGITS:
        violations.add(prefix + "digits", f"is {entry.digits}; allowed: 6 or 8 (0 or unset: 6)")
    period = entry.period or otp.PERIOD_SECONDS
    if period not in otp.ALLOWED_PERIODS:
        violations.add(
            prefix + "period", f"is {entry.period}; allowed: 30 or 60 seconds (0 or unset: 30)"
        )
    algorithm = _ALGORITHMS.get(entry.algorithm.strip().upper().replace("-", "") or "SHA1")
    if algorithm is None:
        violations.add(
            prefix + "algorithm",
            "is not one of the allowed: SHA1, SHA256 or SHA512 (unset: SHA1)",
        )
    last_step = entry.last_used_step
    current = None
    if period in otp.ALLOWED_PERIODS:
        current = otp.time_step(now, period)
        # A phone's clock may run ahead by as much as twofa recognises as drift.
        latest = current + DRIFT_REACH_SECONDS // period
        if last_step is not None and not 0 <= last_step <= latest:
            violations.add(
                prefix + "last_used_step",
                f"is {last_step}; allowed: a time step (Unix time divided by the period) "
                f"from 0 to {latest} now, not a Unix time; unset when unknown",
            )
    if len(violations) > before or secret is None or algorithm is None or current is None:
        return None
    return CheckedEntry(
        UserRef(tenant_id, entry.user_id),
        secret,
        otp.TotpParameters(digits=digits, period=period, algorithm=algorithm),
        # Unknown: the current step counts as used, so a code just used with the other
        # system cannot be used again here (a user signing in during the import's own
        # half-minute waits for the next code).
        current if last_step is None else last_step,
    )


def check_entries(
    tenant_id: str, entries: Sequence[AuthenticatorEntry], now: float, field: str
) -> list[CheckedEntry]:
    """Checks a request's entries (each user at most once); raises InvalidArgument
    naming `field[i].name` for every bad one, so a bad request stores nothing."""
    violations = Violations()
    if not entries:
        violations.add(field, f"is empty; give 1-{MAX_ENTRIES_PER_REQUEST} entries")
    elif len(entries) > MAX_ENTRIES_PER_REQUEST:
        violations.add(
            field,
            f"has {len(entries)} entries; at most {MAX_ENTRIES_PER_REQUEST} per request "
            "(send the rest in further requests)",
        )
    checked = []
    first_index: dict[str, int] = {}
    for index, entry in enumerate(entries[: MAX_ENTRIES_PER_REQUEST + 1]):
        prefix = f"{field}[{index}]."
        one = check_entry(violations, tenant_id, entry, now, prefix)
        earlier = first_index.setdefault(entry.user_id, index)
        if earlier != index:
            violations.add(
                prefix + "user_id",
                f"repeats {field}[{earlier}]'s user; each user at most once per request",
            )
        elif one is not None:
            checked.append(one)
    violations.raise_if_any()
    return checked


def apply(
    state: UserState, entry: CheckedEntry, replace_existing: bool, now: float
) -> ImportResult:
    """Enables the imported app in `state` (unless kept as it was; see ImportResult)."""
    app = state.authenticator
    if app.secret is not None:
        if app.secret == entry.secret and app.params == entry.params:
            return ImportResult.UNCHANGED
        if not replace_existing:
            return ImportResult.ALREADY_ENROLLED
    result = ImportResult.IMPORTED if app.secret is None else ImportResult.REPLACED
    state.authenticator = Authenticator(
        secret=entry.secret, last_step=entry.last_step, enabled_at=now, params=entry.params
    )
    return result


def violations_of(entry: AuthenticatorEntry, tenant_id: str, now: float) -> list[FieldViolation]:
    """The violations of one entry alone (for reporting a file line by line)."""
    violations = Violations()
    check_entry(violations, tenant_id, entry, now)
    return list(violations)
