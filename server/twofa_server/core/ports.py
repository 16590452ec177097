"""The small interfaces core needs from the outside world; core owns them."""

from __future__ import annotations

from typing import Protocol


class Clock(Protocol):
    """Wall-clock time."""

    def now(self) -> float:
        """Returns the current Unix time in seconds."""
        ...


class Random(Protocol):
    """A cryptographically secure source of randomness."""

    def token_bytes(self, n: int) -> bytes:
        """Returns `n` random bytes."""
        ...

    def below(self, n: int) -> int:
        """Returns a uniformly random integer in [0, n)."""
        ...


class Hasher(Protocol):
    """Keyed hashing of short secrets (codes, tokens) that are stored only hashed."""

    def digest(self, purpose: bytes, data: bytes) -> bytes:
        """Returns a 32-byte keyed hash of `data`, domain-separated by `purpose`.

        Args:
            purpose: at most 16 bytes naming what is hashed, e.g. b"backup-code".
            data: the secret to hash.
        """
        ...
