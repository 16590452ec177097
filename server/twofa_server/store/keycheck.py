"""Start-up check that the keyring is the one the store's records were sealed with."""

from __future__ import annotations

from pathlib import Path

from ..crypto import KeyedHasher, Sealer, SealError
from . import keys
from .lmdb_store import LmdbStore, LmdbTransaction

_PROBE = b"twofa keyring check"
_PURPOSE = b"key-check"
KEY_CHECK_CONTEXT = keys.sealed_field_context(keys.META_KEY_CHECK, "meta")


class KeyringMismatch(Exception):
    """The keyring cannot read this store; the message says what to do, in one line."""


def check_keyring(store: LmdbStore, sealer: Sealer, hasher: KeyedHasher, keyring: Path) -> None:
    """Proves the keyring opens this store's sealed values and reproduces its keyed hashes.

    A new store records a sealed probe and a keyed hash of it; later start-ups
    must open and reproduce them. This stops a wrong keyring before it turns
    every user's verification into a failure.

    Raises:
        KeyringMismatch: with a one-line message naming the keyring and data directory.
    """
    expected_mac = hasher.digest(_PURPOSE, _PROBE)

    def work(tx: LmdbTransaction) -> None:
        sealed, mac = tx.get_meta(keys.META_KEY_CHECK), tx.get_meta(keys.META_MAC_CHECK)
        if sealed is None or mac is None:
            tx.put_meta(keys.META_KEY_CHECK, sealer.seal(_PROBE, KEY_CHECK_CONTEXT))
            tx.put_meta(keys.META_MAC_CHECK, expected_mac)
            return
        try:
            sealer.open(sealed, KEY_CHECK_CONTEXT)
        except SealError:
            raise KeyringMismatch(
                f"keyring {keyring} does not open the store in {store.path} "
                "(no matching key): start twofa with the keyring this store was created with"
            ) from None
        if mac != expected_mac:
            raise KeyringMismatch(
                f"keyring {keyring} has a different mac_key from the store in {store.path}: "
                "start twofa with the keyring this store was created with"
            )

    store.write(work)
