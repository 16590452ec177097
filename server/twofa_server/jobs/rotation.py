"""Online key rotation: reload a changed keyring file, then re-seal the store under its primary.

`twofa keys rotate` writes the keyring with a new primary key. The running server notices
(it polls the file's identity every few seconds, and checks at once on SIGHUP), proves the
new keyring still opens the store, swaps the sealer at a write-transaction boundary and
re-seals every record in small transactions with a short pause between them, so logins go
on. A keyring that lacks a key some record still needs, or that does not fit the store, is
not loaded: the server keeps the keyring it has and logs one error line.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..core.errors import StoreFull, StoreUnavailable
from ..crypto import KeyedHasher, Keyring, KeyringError, Sealer, load_keyring
from ..store.keycheck import KeyCheckRecords, KeyringMismatch, check_keyring
from ..store.reseal import SEALED_DATABASES, Batch, Census

log = logging.getLogger("twofa.keyring")

POLL_SECONDS = 2.0
BATCH = 200  # records re-sealed per write transaction
PAUSE_SECONDS = 0.01  # between re-seal transactions, so that logins go on
RETRY_SECONDS = 60.0  # after a re-seal pass failed on a store error

# (device, inode, size, mtime): changes when the file is replaced or rewritten, including
# when Kubernetes swaps a Secret volume's ..data symlink (stat follows it).
Signature = tuple[int, int, int, int] | None


class SealedStore(KeyCheckRecords, Protocol):
    """What re-sealing needs of a store."""

    def census(self, primary: int | None = None) -> Census:
        """Record counts and the keys their sealed values need, from one snapshot."""
        ...

    def reseal_batch(self, sealer: Sealer, db: bytes, after: bytes, limit: int) -> Batch:
        """Re-seals the next records of `db` after key `after` in one write transaction."""
        ...

    def replace_sealer(self, sealer: Sealer, check: Callable[[Census], None]) -> None:
        """Swaps the sealer at a write boundary, after `check` accepted the census there."""
        ...

    def lead(self, job: str) -> AbstractContextManager[bool]:
        """Whether this instance runs fleet-wide `job` now (core.ports.Store.lead)."""
        ...


def keyring_signature(path: Path) -> Signature:
    """The identity of the keyring file now, or None if it cannot be seen."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns


class MissingKeys(Exception):
    """A reloaded keyring lacks keys that records of the store are still sealed under."""


class ResealProgress:
    """Re-seal progress for metrics: records left to re-seal, and re-sealed so far.

    `remaining` is exact when a pass begins and ends, and an upper bound in between
    (requests rewrite records under the new key too). Read from any thread.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._remaining = 0
        self._resealed_total = 0

    @property
    def remaining(self) -> int:
        """twofa_keyring_reseal_remaining_records (gauge)."""
        with self._lock:
            return self._remaining

    @property
    def resealed_total(self) -> int:
        """twofa_keyring_resealed_records_total (counter)."""
        with self._lock:
            return self._resealed_total

    def begin(self, remaining: int) -> None:
        with self._lock:
            self._remaining = remaining

    def resealed(self, count: int) -> None:
        with self._lock:
            self._resealed_total += count
            self._remaining = max(0, self._remaining - count)


@dataclass
class _Pass:
    """Where a re-seal pass over the sealed sub-databases has got to."""

    database: int = 0  # index into SEALED_DATABASES
    after: bytes = b""
    resealed: int = 0
    failed: int = 0


class KeyringWatcher:
    """Reloads the keyring file when it changes and re-seals the store under its primary.

    Everything runs on one background thread, so reloads and re-seal steps never overlap.

    Args:
        store: the open store; its sealer is replaced on reload.
        where: the store as an operator knows it, for messages.
        path: the keyring file.
        sealer: the sealer the store was opened with.
        signature: the file's identity when that keyring was read (taken before reading
            it, so a change in between is noticed on the first poll).
        on_unreadable: told how many records a re-seal step skipped (metrics).
    """

    def __init__(
        self,
        store: SealedStore,
        where: str,
        path: Path,
        sealer: Sealer,
        signature: Signature,
        *,
        poll_seconds: float = POLL_SECONDS,
        batch: int = BATCH,
        pause_seconds: float = PAUSE_SECONDS,
        on_unreadable: Callable[[int], None] = lambda count: None,
    ) -> None:
        self._store = store
        self._where = where
        self._path = path
        self._sealer = sealer
        self._keyring: Keyring | None = None  # what the last reload installed
        self._signature = signature
        self._poll = poll_seconds
        self._batch = batch
        self._pause = pause_seconds
        self._on_unreadable = on_unreadable
        self.progress = ResealProgress()
        self._pass: _Pass | None = None
        self._retry_at: float | None = None
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="twofa-keyring", daemon=True)

    @property
    def primary_key_id(self) -> int:
        return self._sealer.primary_key_id

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stops after the current step; a pass left unfinished resumes at the next start."""
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def check_now(self) -> None:
        """Checks the keyring file at once (SIGHUP); safe to call from a signal handler."""
        self._wake.set()

    # --- the steps, also driven directly by tests ------------------------------------------

    def poll(self) -> bool:
        """Reloads the keyring if its file changed; returns whether a new one was installed."""
        signature = keyring_signature(self._path)
        if signature == self._signature:
            return False
        self._signature = signature
        return self.reload()

    def reload(self) -> bool:
        """Loads the keyring file and installs it if it fits the store; never raises."""
        keep = f"still using the keyring with primary key {self.primary_key_id}"
        try:
            keyring = load_keyring(self._path)
            if keyring == self._keyring:
                return False  # rewritten with the same keys
            sealer = Sealer(keyring)
            # Which keys the records need, first: the clearest message when one is missing.
            self._check_needed(self._store.census(), keyring)
            # Then the probe: same keyed-hash key, and the AEAD keys really open the store.
            hasher = KeyedHasher(keyring.mac_key)
            check_keyring(self._store, sealer, hasher, self._path, self._where)
            # Checked again where no write can slip in between the check and the swap.
            self._store.replace_sealer(sealer, lambda census: self._check_needed(census, keyring))
        except (KeyringError, KeyringMismatch, MissingKeys, StoreFull, StoreUnavailable) as exc:
            log.error("keyring not reloaded, %s: %s", keep, exc)
            return False
        self._sealer, self._keyring = sealer, keyring
        ids = ", ".join(str(key_id) for key_id in sorted(keyring.aead_keys))
        log.info(
            "keyring %s reloaded: primary key %d (keys %s)", self._path, keyring.primary_key_id, ids
        )
        self.begin_pass()
        return True

    def _check_needed(self, census: Census, keyring: Keyring) -> None:
        missing = sorted(census.needed_keys() - keyring.aead_keys.keys())
        if missing:
            count = sum(census.under(key_id) for key_id in missing)
            ids = ", ".join(str(key_id) for key_id in missing)
            raise MissingKeys(
                f"keyring {self._path} lacks key {ids}, which {count} records of the store "
                f"are still sealed under: put the key back until 'twofa status' shows none"
            )

    def begin_pass(self) -> None:
        """Starts re-sealing if any record is not under the primary key."""
        primary = self.primary_key_id
        self._retry_at = None
        if self._key_check_key_id() == primary:
            # A pass re-seals the key check last, so under the primary it means no pass
            # is pending: start-up need not read every record to find that out.
            self.progress.begin(0)
            self._pass = None
            return
        stale = self._store.census(primary).stale
        self.progress.begin(stale)
        if not stale:
            self._pass = None
            return
        log.info("re-sealing %d records under keyring key %d", stale, primary)
        self._pass = _Pass()

    def step(self) -> bool:
        """One re-seal transaction; returns whether the pass goes on."""
        current = self._pass
        if current is None:
            return False
        db = SEALED_DATABASES[current.database]
        primary, sealer = self.primary_key_id, self._sealer
        batch = self._store.reseal_batch(sealer, db, current.after, self._batch)
        self.progress.resealed(batch.resealed)
        current.resealed += batch.resealed
        current.failed += batch.failed
        if batch.failed:
            log.warning("re-seal skipped %d records that cannot be read", batch.failed)
            self._on_unreadable(batch.failed)
        if batch.last_key is not None:
            current.after = batch.last_key
            return True
        current.database, current.after = current.database + 1, b""
        if current.database < len(SEALED_DATABASES):
            return True
        # The pass is over: count again, from a fresh snapshot.
        stale = self._store.census(primary).stale
        self.progress.begin(stale)
        if not stale:
            log.info(
                "re-seal complete: every record is sealed under keyring key %d; "
                "keys no longer needed can be removed with 'twofa keys drop'",
                primary,
            )
            self._pass = None
            return False
        if current.resealed and not current.failed:
            self._pass = _Pass()  # written meanwhile under an older key: go again
            return True
        log.error(
            "re-seal incomplete: %d records are not sealed under keyring key %d "
            "(%d could not be opened or read): 'twofa status' shows the keys they need",
            stale,
            primary,
            current.failed,
        )
        self._pass = None
        return False

    def _key_check_key_id(self) -> int | None:
        """The key the store's keyring probe is sealed under (None if it has none yet)."""
        found = self._store.read_key_check()
        return None if found is None else Sealer.key_id_of(found[0])

    def run_until_idle(self) -> None:
        """Polls once and re-seals to the end, on the calling thread (for tests)."""
        self.poll()
        while self.step():
            pass

    # --- the thread ----------------------------------------------------------------------

    def _run(self) -> None:
        self._guarded(self.begin_pass)  # resume a rotation a restart interrupted
        next_poll = time.monotonic() + self._poll
        while not self._stopping.is_set():
            now = time.monotonic()
            if self._wake.is_set() or now >= next_poll:
                self._wake.clear()
                next_poll = now + self._poll
                self._guarded(self.poll)
            if self._retry_at is not None and now >= self._retry_at:
                self._guarded(self.begin_pass)
            if self._pass is not None:
                self._guarded(functools.partial(self._reseal, next_poll))
            self._wake.wait(max(0.0, next_poll - time.monotonic()))

    def _reseal(self, until: float) -> None:
        """Re-seals until the next poll is due, unless another instance of the fleet is
        re-sealing (then this one looks again later, in case that instance goes away)."""
        with self._store.lead("reseal") as leading:
            if not leading:
                self._pass = None
                self._retry_at = time.monotonic() + RETRY_SECONDS
                return
            while time.monotonic() < until and not self._stopping.is_set():
                if not self.step() or self._wake.wait(self._pause):
                    return

    def _guarded(self, work: Callable[[], object]) -> None:
        try:
            work()
        except Exception as error:  # the server must go on; try again later
            log.error(
                "keyring re-seal failed (%s): retrying in %gs", type(error).__name__, RETRY_SECONDS
            )
            self._pass = None
            self._retry_at = time.monotonic() + RETRY_SECONDS
