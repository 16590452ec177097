"""Trusted devices: "remember this device" tokens, their expiry, eviction and lookup.

A token is 32 random bytes, handed to the application once (URL-safe base64) to
keep in a cookie; twofa keeps only a keyed digest bound to the user. A device is
trusted while `now < created + trusted_device_days` of the tenant's *current*
policy, and never while the policy asks at every login.
"""

from __future__ import annotations

import base64
import re

from .codes import bound_to_user, find_digest
from .models import Frequency, Policy, TrustedDevice, UserRef
from .ports import Hasher, Random

TOKEN_BYTES = 32
MAX_TOKEN_CHARS = 256
MAX_DEVICES_PER_USER = 50
# last_used_at is refreshed at most this often, so that a login with a trusted
# device is a read, not a durable write, almost every time.
LAST_USED_RESOLUTION_SECONDS = 3600
_DAY = 86400
_PURPOSE = b"twofa-device"
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")


def new_token(random: Random) -> tuple[str, bytes]:
    """A fresh token: the text for the cookie and its raw bytes."""
    raw = random.token_bytes(TOKEN_BYTES)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii"), raw


def parse_token(token: str) -> bytes | None:
    """The raw bytes of a token spelled exactly as issued; None for anything else.

    Base64 decoding forgives other alphabets and stray low bits, so the token
    is re-encoded and compared: one token, one spelling.
    """
    if not _TOKEN_SHAPE.fullmatch(token):
        return None
    raw = base64.urlsafe_b64decode(token + "=")
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != token:
        return None
    return raw


def token_digest(hasher: Hasher, user: UserRef, raw: bytes) -> bytes:
    """The stored form of a token, bound to its user: another user's token never matches."""
    return hasher.digest(_PURPOSE, bound_to_user(user, raw))


def expires_at(device: TrustedDevice, policy: Policy) -> float:
    return device.created_at + policy.trusted_device_days * _DAY


def is_expired(device: TrustedDevice, policy: Policy, now: float) -> bool:
    return now >= expires_at(device, policy)


def trusts(policy: Policy) -> bool:
    return policy.frequency is Frequency.TRUSTED_DEVICE


def find(devices: list[TrustedDevice], digest: bytes) -> TrustedDevice | None:
    """The device holding `digest`, comparing every entry in constant time."""
    index = find_digest([device.digest for device in devices], digest)
    return None if index is None else devices[index]


def add(devices: list[TrustedDevice], device: TrustedDevice) -> int:
    """Adds a device, evicting the oldest beyond MAX_DEVICES_PER_USER; returns how many went."""
    devices.append(device)
    devices.sort(key=lambda d: d.created_at)
    evicted = max(len(devices) - MAX_DEVICES_PER_USER, 0)
    del devices[:evicted]
    return evicted


def live(devices: list[TrustedDevice], policy: Policy, now: float) -> list[TrustedDevice]:
    """The devices not expired under `policy`, newest first."""
    return sorted(
        (d for d in devices if not is_expired(d, policy, now)),
        key=lambda d: d.created_at,
        reverse=True,
    )
