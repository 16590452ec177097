"""Keyed BLAKE2b hashes of short secrets (codes and tokens stored only as digests)."""

from __future__ import annotations

import hashlib

DIGEST_SIZE = 32
_KEY_SIZE = 32
_MAX_PURPOSE_SIZE = 16  # BLAKE2b's personalization field


class KeyedHasher:
    """Keyed BLAKE2b, domain-separated by a purpose carried in the personalization field."""

    __slots__ = ("_bases", "_mac_key")

    def __init__(self, mac_key: bytes) -> None:
        """Prepares a hasher.

        Args:
            mac_key: the keyring's 32-byte MAC key.

        Raises:
            ValueError: the key is not 32 bytes.
        """
        if len(mac_key) != _KEY_SIZE:
            raise ValueError(f"mac_key must be {_KEY_SIZE} bytes, got {len(mac_key)}")
        self._mac_key = mac_key
        # Copying a keyed state is about twice as fast as keying a new one; purposes are
        # a handful of constants, so this stays small.
        self._bases: dict[bytes, hashlib.blake2b] = {}

    def digest(self, purpose: bytes, data: bytes) -> bytes:
        """Returns a 32-byte keyed hash of `data`, domain-separated by `purpose`.

        Args:
            purpose: at most 16 bytes naming what is hashed, e.g. b"backup-code".
            data: the secret to hash.

        Returns:
            BLAKE2b(data, key=mac_key, digest_size=32, person=purpose).

        Raises:
            ValueError: `purpose` is longer than 16 bytes.
        """
        base = self._bases.get(purpose)
        if base is None:
            if len(purpose) > _MAX_PURPOSE_SIZE:
                raise ValueError(
                    f"purpose is {len(purpose)} bytes; at most {_MAX_PURPOSE_SIZE} are allowed"
                )
            base = hashlib.blake2b(key=self._mac_key, digest_size=DIGEST_SIZE, person=purpose)
            self._bases[purpose] = base
        state = base.copy()
        state.update(data)
        return state.digest()
