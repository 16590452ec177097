"""Start-up check that the keyring is the one the store's records were sealed with."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from ..crypto import KeyedHasher, Sealer, SealError
from ..errors import OperatorError
from .keys import KEY_CHECK_CONTEXT

_PROBE = b"twofa keyring check"
_PURPOSE = b"key-check"


class KeyCheckRecords(Protocol):
    """Where a store keeps its keyring probe: a sealed value and a keyed hash."""

    def read_key_check(self) -> tuple[bytes, bytes] | None:
        """The stored (sealed probe, keyed hash), or None when the store has none."""
        ...

    def write_key_check(self, sealed: bytes, mac: bytes) -> None: ...


class StoreNotInitialized(OperatorError):
    """There is no twofa store where the settings point (or it is empty)."""


def not_initialized(where: str) -> str:
    """Why twofa will not serve on a missing or empty store, and what to do, in one line."""
    return (
        f"{where} holds no twofa store: if this is a new deployment, run 'twofa store init' "
        "(once); if twofa served from it before, its data is gone: restore it from a backup "
        "(serving on an empty store would turn every user's 2FA off)"
    )


class KeyringMismatch(OperatorError):
    """The keyring cannot read this store; the message says what to do, in one line."""


def check_keyring(
    store: KeyCheckRecords,
    sealer: Sealer,
    hasher: KeyedHasher,
    keyring: Path,
    where: str,
    *,
    create: bool = False,
) -> bool:
    """Proves the keyring opens this store's sealed values and reproduces its keyed hashes.

    A new store records a sealed probe and a keyed hash of it (`twofa store init`);
    later start-ups must open and reproduce them. This stops a wrong keyring before
    it turns every user's verification into a failure, and an empty store before it
    turns every user's 2FA off.

    Args:
        where: the store as an operator knows it, e.g. "the store in ./data".
        create: record the probe in a store that has none (a new store); otherwise
            such a store is refused.

    Returns:
        Whether the probe was recorded now (a new store).

    Raises:
        StoreNotInitialized: the store holds no probe and `create` is off.
        KeyringMismatch: with a one-line message naming the keyring and the store.
    """
    expected_mac = hasher.digest(_PURPOSE, _PROBE)
    found = store.read_key_check()
    if found is None:
        if not create:
            raise StoreNotInitialized(not_initialized(where))
        store.write_key_check(sealer.seal(_PROBE, KEY_CHECK_CONTEXT), expected_mac)
        return True
    sealed, mac = found
    try:
        sealer.open(sealed, KEY_CHECK_CONTEXT)
    except SealError:
        raise KeyringMismatch(
            f"keyring {keyring} does not open {where} (no matching key): "
            "start twofa with the keyring this store was created with"
        ) from None
    if mac != expected_mac:
        raise KeyringMismatch(
            f"keyring {keyring} has a different mac_key from {where}: "
            "start twofa with the keyring this store was created with"
        )
    return False
