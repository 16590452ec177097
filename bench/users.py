"""The bench's enrolled users: ids and TOTP secrets derived from a seed, and their codes.

The loader (which writes the users into the store) and the load generator (which
types their codes) share nothing but the seed and the user count; each derives
the same secrets from them. The TOTP here is written independently of the
server's (RFC 6238: HMAC-SHA-1, 6 digits, 30 s steps), so a bug in one does not
hide in the other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import struct
from dataclasses import dataclass

PERIOD_SECONDS = 30
SECRET_BYTES = 20
DEVICE_TOKEN_BYTES = 32  # as twofa issues them (core/devices.py)
# The bench tenant's policy: the most attempts the API allows, so that wrong-code
# load (capped below this per user, see book.py) never locks a user.
BENCH_MAX_ATTEMPTS = 20
_COUNTER = struct.Struct(">Q")
_WORD = struct.Struct(">I")


@dataclass(frozen=True, slots=True)
class Population:
    """Who the bench's users are: `count` users of one tenant, secrets derived from `seed`."""

    tenant_id: str
    count: int
    seed: bytes

    def user_id(self, index: int) -> str:
        """The user id of user `index` (0 <= index < count)."""
        return f"user-{index:07d}"

    def secret(self, index: int) -> bytes:
        """User `index`'s 20-byte TOTP secret: a keyed BLAKE2b of the index under the seed."""
        return hashlib.blake2b(
            index.to_bytes(8, "big"), key=self.seed, digest_size=SECRET_BYTES
        ).digest()

    def device_raw(self, index: int) -> bytes:
        """The 32 raw bytes of user `index`'s trusted-device token (another BLAKE2b domain)."""
        return hashlib.blake2b(
            index.to_bytes(8, "big"),
            key=self.seed,
            digest_size=DEVICE_TOKEN_BYTES,
            person=b"bench-device",
        ).digest()

    def device_token(self, index: int) -> str:
        """User `index`'s device token as the application's cookie holds it (URL-safe base64)."""
        return base64.urlsafe_b64encode(self.device_raw(index)).rstrip(b"=").decode("ascii")

    def order(self) -> list[int]:
        """Every user index once, consecutive ones far apart in the store's key order.

        The book hands users out in this order, not 0, 1, 2, ..., so that the
        requests of a row touch pages all over a big store's B-tree, as real
        logins would, instead of only the first few thousand users' pages.
        """
        stride = _golden_stride(self.count)
        return [slot * stride % self.count for slot in range(self.count)]


# The population of a server whose store holds nobody (one that answers health only).
NO_USERS = Population("none", 0, b"")


def _golden_stride(count: int) -> int:
    """A step coprime with `count` near count / golden ratio: a full, well-spread cycle."""
    stride = max(1, round(count * 0.6180339887))
    while math.gcd(stride, count) != 1:
        stride += 1
    return stride


def time_step(unix_seconds: float) -> int:
    """The TOTP time step of a Unix time (RFC 6238, T0 = 0)."""
    return int(unix_seconds // PERIOD_SECONDS)


def code_at_step(secret: bytes, step: int) -> str:
    """The 6-digit TOTP code of `secret` at time step `step`."""
    mac = hmac.digest(secret, _COUNTER.pack(step), "sha1")
    value: int = _WORD.unpack_from(mac, mac[-1] & 0x0F)[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def wrong_code(secret: bytes, step: int) -> str:
    """A 6-digit code that matches none of the steps `step - 2` .. `step + 2`.

    Two steps either side, not one, so that a step boundary passing between the
    client's clock read and the server's cannot make the code right.
    """
    taken = {code_at_step(secret, step + offset) for offset in range(-2, 3)}
    value = (int(code_at_step(secret, step)) + 500_000) % 1_000_000
    for _ in range(len(taken) + 1):  # at most len(taken) candidates can be taken
        candidate = f"{value:06d}"
        if candidate not in taken:
            return candidate
        value = (value + 1) % 1_000_000
    raise AssertionError("unreachable: more candidates than taken codes")
