"""Fast pre-loading of enrolled users, in-process, through the server's own store and codec.

Enrolling users over the API would take minutes (a set-up and a confirmation per
user, each fsynced); writing the records the server itself would write, many
users per transaction, takes about a second for thousands of users.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from pathlib import Path

from twofa_server.core.models import Authenticator, Policy, UserRef, UserState
from twofa_server.crypto import KeyedHasher, Sealer, generate_keyring, write_keyring
from twofa_server.store.keycheck import check_keyring
from twofa_server.store.lmdb_store import LmdbStore, LmdbTransaction

from .users import BENCH_MAX_ATTEMPTS, Population

USERS_PER_TRANSACTION = 1000
MAP_SIZE_MB = 1024


@dataclass(frozen=True, slots=True)
class LoadReport:
    """What the loader wrote and how big the store became."""

    users: int
    seconds: float
    data_file_bytes: int

    @property
    def bytes_per_user(self) -> float:
        return self.data_file_bytes / self.users if self.users else 0.0


def prepare_store(data_dir: Path, population: Population, enabled_at: float) -> LoadReport:
    """Writes a new keyring to `data_dir/keyring` and enrolls every user of `population`.

    Each user has an enabled authenticator app with the derived secret and no
    used step, so any code of the current window is fresh. The store is closed on
    return, ready for a server to open it.
    """
    started = time.perf_counter()
    data_dir.mkdir(parents=True, exist_ok=True)
    keyring_path = data_dir / "keyring"
    keyring = generate_keyring()
    write_keyring(keyring_path, keyring)
    sealer = Sealer(keyring)
    store = LmdbStore(data_dir, MAP_SIZE_MB, sealer)
    try:
        # Records the keyring probe the server checks at start-up.
        check_keyring(store, sealer, KeyedHasher(keyring.mac_key), keyring_path)
        policy = Policy(max_attempts=BENCH_MAX_ATTEMPTS)
        store.write(lambda tx: tx.put_policy(population.tenant_id, policy))
        for first in range(0, population.count, USERS_PER_TRANSACTION):
            last = min(first + USERS_PER_TRANSACTION, population.count)
            store.write(
                functools.partial(
                    _enroll, population=population, first=first, last=last, enabled_at=enabled_at
                )
            )
    finally:
        store.close()
    return LoadReport(
        users=population.count,
        seconds=time.perf_counter() - started,
        data_file_bytes=(data_dir / "data.mdb").stat().st_size,
    )


def _enroll(
    tx: LmdbTransaction, population: Population, first: int, last: int, enabled_at: float
) -> None:
    for index in range(first, last):
        state = UserState(
            authenticator=Authenticator(secret=population.secret(index), enabled_at=enabled_at)
        )
        tx.put_user(UserRef(population.tenant_id, population.user_id(index)), state)
