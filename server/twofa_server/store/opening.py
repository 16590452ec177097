"""Opening the configured store (`store = lmdb` or `postgres`) with its keyring, proven to fit."""

from __future__ import annotations

from typing import Protocol

from ..config import Settings
from ..core.ports import Clock, Outbox, Store
from ..crypto import KeyedHasher, Sealer, load_keyring
from ..jobs.rotation import SealedStore
from ..observability.metrics import StoreStats
from .keycheck import check_keyring
from .lmdb.store import LmdbStore
from .postgres.store import PostgresStore


class ServingStore(Store, Outbox, SealedStore, StoreStats, Protocol):
    """Everything a running server needs of its store, whichever it is."""

    @property
    def where(self) -> str:
        """The store as an operator knows it, e.g. "the store in ./data"."""
        ...

    def reachable(self) -> bool:
        """Whether the store can be used now (readiness)."""
        ...

    def close(self) -> None: ...


def open_store(
    settings: Settings, clock: Clock, *, create: bool = False
) -> tuple[ServingStore, Sealer, KeyedHasher, bool]:
    """Opens the keyring and the store and proves they belong together.

    Args:
        create: make the store (or bring a database's schema up to date) first:
            `twofa store init`.

    Returns:
        The store, its sealer and hasher, and whether the store was created now.

    Raises:
        OperatorError: (KeyringError, KeyringMismatch, StoreNotInitialized,
            DatabaseUnreachable, SchemaError) with a one-line message saying what to do.
    """
    keyring = load_keyring(settings.keyring_path)
    sealer, hasher = Sealer(keyring), KeyedHasher(keyring.mac_key)
    store: ServingStore
    if settings.store == "postgres":
        postgres = PostgresStore(settings.postgres, sealer, clock)
        if create:
            postgres.initialize()
        postgres.open()
        store = postgres
    else:
        store = LmdbStore(settings.data_dir, settings.map_size_mb, sealer, clock, create=create)
    try:
        created = check_keyring(
            store, sealer, hasher, settings.keyring_path, store.where, create=create
        )
    except Exception:
        store.close()
        raise
    return store, sealer, hasher, created
