"""Sealing of secrets at rest with XChaCha20-Poly1305 under the keyring's primary key."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt as _decrypt,
)
from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_encrypt as _encrypt,
)
from nacl.exceptions import CryptoError

from twofa_server.crypto.keyring import Keyring

_VERSION = 1
_HEADER_SIZE = 5  # version byte, then the key id as 4 bytes big-endian
_NONCE_SIZE = 24
_TAG_SIZE = 16
_MIN_BLOB_SIZE = _HEADER_SIZE + _NONCE_SIZE + _TAG_SIZE


class SealError(Exception):
    """A sealed value cannot be opened; deliberately says nothing about why."""

    def __init__(self) -> None:
        super().__init__("sealed value cannot be opened")


class UnknownKey(SealError):
    """A sealed value is under a key the keyring does not hold (yet, during a fleet's rotation)."""

    def __init__(self, key_id: int) -> None:
        super().__init__()
        self.key_id = key_id


def _header(key_id: int) -> bytes:
    return bytes((_VERSION,)) + key_id.to_bytes(4, "big")


class Sealer:
    """Seals under the primary key and opens under any key of a keyring.

    A sealed blob is `version (1) || key id (4, big-endian) || nonce (24) || ciphertext+tag`.
    The header is part of the AEAD's associated data, ahead of the caller's, so a blob's
    version or key id cannot be altered either.
    """

    __slots__ = ("_keys", "_primary_header", "_primary_key", "_primary_key_id", "_token_bytes")

    def __init__(
        self, keyring: Keyring, token_bytes: Callable[[int], bytes] = secrets.token_bytes
    ) -> None:
        """Prepares a sealer for a keyring.

        Args:
            keyring: the keys; its primary key seals.
            token_bytes: source of cryptographically secure random bytes, for nonces.
        """
        self._keys = dict(keyring.aead_keys)
        self._primary_key_id = keyring.primary_key_id
        self._primary_key = keyring.aead_keys[keyring.primary_key_id]
        self._primary_header = _header(keyring.primary_key_id)
        self._token_bytes = token_bytes

    @property
    def primary_key_id(self) -> int:
        """The id of the key that seals new values."""
        return self._primary_key_id

    def seal(self, plaintext: bytes, associated_data: bytes) -> bytes:
        """Encrypts and authenticates a value under the primary key.

        Args:
            plaintext: the secret.
            associated_data: what the value belongs to, e.g. b"t1/u1/totp_secret"; the
                same bytes are needed to open it, so a blob cannot be moved to another record.

        Returns:
            The sealed blob.
        """
        header = self._primary_header
        nonce = self._token_bytes(_NONCE_SIZE)
        ciphertext = _encrypt(plaintext, header + associated_data, nonce, self._primary_key)
        return b"".join((header, nonce, ciphertext))

    def open(self, blob: bytes, associated_data: bytes) -> bytes:
        """Authenticates and decrypts a sealed blob.

        Args:
            blob: a value returned by `seal`.
            associated_data: the associated data it was sealed with.

        Returns:
            The plaintext.

        Raises:
            UnknownKey: its key is not in the keyring.
            SealError: the blob is malformed, the associated data differs, or it was altered.
        """
        key_id = Sealer.key_id_of(blob)
        key = self._keys.get(key_id)
        if key is None:
            raise UnknownKey(key_id)
        header = blob[:_HEADER_SIZE]
        nonce = blob[_HEADER_SIZE : _HEADER_SIZE + _NONCE_SIZE]
        try:
            plaintext: bytes = _decrypt(
                blob[_HEADER_SIZE + _NONCE_SIZE :], header + associated_data, nonce, key
            )
        except CryptoError:
            raise SealError from None
        return plaintext

    def reseal(self, blob: bytes, associated_data: bytes) -> bytes:
        """Opens a blob and seals its plaintext again under the primary key, for rotation.

        Args:
            blob: a value returned by `seal`, under any key of the keyring.
            associated_data: the associated data it was sealed with; it is kept.

        Returns:
            The blob sealed under the primary key.

        Raises:
            SealError: the blob cannot be opened.
        """
        return self.seal(self.open(blob, associated_data), associated_data)

    @staticmethod
    def key_id_of(blob: bytes) -> int:
        """Reads which key sealed a blob, without authenticating it.

        Args:
            blob: a value returned by `seal`.

        Returns:
            The key id from the blob's header.

        Raises:
            SealError: the blob is too short or has an unknown version.
        """
        if len(blob) < _MIN_BLOB_SIZE or blob[0] != _VERSION:
            raise SealError
        return int.from_bytes(blob[1:_HEADER_SIZE], "big")
