"""Keyring, AEAD sealing and keyed hashes for secrets at rest."""

from twofa_server.crypto.hashing import KeyedHasher
from twofa_server.crypto.keyring import (
    Keyring,
    KeyringError,
    generate_keyring,
    load_keyring,
    with_new_key,
    with_new_primary_key,
    with_primary,
    without_key,
    write_keyring,
)
from twofa_server.crypto.sealing import Sealer, SealError, UnknownKey

__all__ = [
    "KeyedHasher",
    "Keyring",
    "KeyringError",
    "SealError",
    "Sealer",
    "UnknownKey",
    "generate_keyring",
    "load_keyring",
    "with_new_key",
    "with_new_primary_key",
    "with_primary",
    "without_key",
    "write_keyring",
]
