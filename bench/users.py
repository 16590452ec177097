"""The bench's enrolled users: ids and TOTP secrets derived from a seed, and their codes.

The loader (which writes the users into the store) and the load generator (which
types their codes) share nothing but the seed and the user count; each derives
the same secrets from them. The TOTP here is written independently of the
server's (RFC 6238: HMAC-SHA-1, 6 digits, 30 s steps), so a bug in one does not
hide in the other.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass

PERIOD_SECONDS = 30
SECRET_BYTES = 20
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
