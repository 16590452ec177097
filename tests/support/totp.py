"""RFC 6238 TOTP for tests, written independently of the server's core/otp.py.

Tests compute the codes a person would read off the app with these, never with the
server's own implementation, so that a bug there cannot hide itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct

STEP_SECONDS = 30


def secret_bytes(secret_b32: str) -> bytes:
    """The raw key of a base32 secret as the API shows it (without padding)."""
    return base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))


def totp_at(
    key: bytes,
    unix_seconds: float,
    offset_steps: int = 0,
    *,
    digits: int = 6,
    period: int = STEP_SECONDS,
    algorithm: str = "sha1",
) -> str:
    """RFC 6238 TOTP of a raw key, `offset_steps` steps from now.

    By default what every authenticator app computes (SHA-1, 6 digits, 30 s); `digits`,
    `period` and `algorithm` ("sha1", "sha256", "sha512") are the otpauth URI's parameters.
    """
    counter = int(unix_seconds // period) + offset_steps
    mac = hmac.new(key, struct.pack(">Q", counter), getattr(hashlib, algorithm)).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def totp_code(secret_b32: str, unix_seconds: float, offset_steps: int = 0) -> str:
    """RFC 6238 TOTP (SHA-1, 6 digits, 30 s) of a base32 secret, as the app shows it."""
    return totp_at(secret_bytes(secret_b32), unix_seconds, offset_steps)


def other_code(code: str) -> str:
    """A six-digit code that is not `code`."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


# The server recognises a code of another time within ten minutes (CLOCK_DRIFT).
DRIFT_REACH_STEPS = 600 // STEP_SECONDS


def wrong_code_at(key: bytes, unix_seconds: float) -> str:
    """A six-digit code that matches no step within ten minutes of now (raw key): neither
    accepted nor taken for a drifting clock, whatever window the server has learnt."""
    reach = range(-DRIFT_REACH_STEPS, DRIFT_REACH_STEPS + 1)
    valid = {totp_at(key, unix_seconds, k) for k in reach}
    for candidate in range(1_000_000):
        code = f"{(candidate * 7919) % 1_000_000:06d}"
        if code not in valid:
            return code
    raise AssertionError("unreachable")


def wrong_code(secret_b32: str, unix_seconds: float) -> str:
    """A six-digit code that matches no step within ten minutes of now (see wrong_code_at)."""
    return wrong_code_at(secret_bytes(secret_b32), unix_seconds)
