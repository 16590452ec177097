"""Fast pre-loading of enrolled users, in-process, through the server's own store and codec.

Enrolling users over the API would take minutes (a set-up and a confirmation per
user, each fsynced); writing the records the server itself would write, many
users per transaction, takes about a second for thousands of users (about 30 s
for a million).

Each user has an enabled authenticator app and one trusted device, whose token
the load generator derives from the seed like the TOTP secret (bench/users.py).
The bench tenant's policy trusts devices, so a login from that device needs no
second factor.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass
from pathlib import Path

from twofa_server.core import devices
from twofa_server.core.models import (
    Authenticator,
    Frequency,
    Policy,
    TrustedDevice,
    UserRef,
    UserState,
)
from twofa_server.crypto import KeyedHasher, Sealer, generate_keyring, write_keyring
from twofa_server.store.keycheck import check_keyring
from twofa_server.store.lmdb.store import LmdbStore, LmdbTransaction

from .users import BENCH_MAX_ATTEMPTS, Population

USERS_PER_TRANSACTION = 5000
# twofa's default map size; bigger populations get more (see map_size_mb_for).
MAP_SIZE_MB = 1024
# Room to set aside per user: a loaded user takes about 250 bytes of data.mdb, and
# copy-on-write pages and the writes of a run need more. Generous on purpose.
MAP_BYTES_PER_USER = 1024
DEVICE_LABEL = "bench browser"


def map_size_mb_for(users: int) -> int:
    """The LMDB map size for a store of `users`: twofa's default, or more if they need it."""
    return max(MAP_SIZE_MB, math.ceil(users * MAP_BYTES_PER_USER / (1024 * 1024)))


@dataclass(frozen=True, slots=True)
class LoadReport:
    """What the loader wrote and how big the store became."""

    users: int
    seconds: float
    data_file_bytes: int

    @property
    def bytes_per_user(self) -> float:
        return self.data_file_bytes / self.users if self.users else 0.0


def prepare_store(
    data_dir: Path, population: Population, enabled_at: float, map_size_mb: int = MAP_SIZE_MB
) -> LoadReport:
    """Writes a new keyring to `data_dir/keyring` and enrolls every user of `population`.

    Each user has an enabled authenticator app with the derived secret and no
    used step, so any code of the current window is fresh, and one trusted
    device created and last used at `enabled_at`: within the hour after it, a
    login with that device is a read (core/devices.py refreshes last use hourly).
    The store is closed on return, ready for a server to open it with the same
    `map_size_mb`.
    """
    started = time.perf_counter()
    data_dir.mkdir(parents=True, exist_ok=True)
    keyring_path = data_dir / "keyring"
    keyring = generate_keyring()
    write_keyring(keyring_path, keyring)
    sealer = Sealer(keyring)
    hasher = KeyedHasher(keyring.mac_key)
    store = LmdbStore(data_dir, map_size_mb, sealer)
    try:
        # Records the keyring probe the server checks at start-up.
        check_keyring(store, sealer, hasher, keyring_path, f"the store in {data_dir}", create=True)
        policy = Policy(max_attempts=BENCH_MAX_ATTEMPTS, frequency=Frequency.TRUSTED_DEVICE)
        store.write(lambda tx: tx.put_policy(population.tenant_id, policy))
        for first in range(0, population.count, USERS_PER_TRANSACTION):
            last = min(first + USERS_PER_TRANSACTION, population.count)
            store.write(
                functools.partial(
                    _enroll,
                    population=population,
                    hasher=hasher,
                    first=first,
                    last=last,
                    enabled_at=enabled_at,
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
    tx: LmdbTransaction,
    population: Population,
    hasher: KeyedHasher,
    first: int,
    last: int,
    enabled_at: float,
) -> None:
    for index in range(first, last):
        user = UserRef(population.tenant_id, population.user_id(index))
        device = TrustedDevice(
            device_id=f"{index:016x}",
            digest=devices.token_digest(hasher, user, population.device_raw(index)),
            label=DEVICE_LABEL,
            created_at=enabled_at,
            last_used_at=enabled_at,
        )
        state = UserState(
            authenticator=Authenticator(secret=population.secret(index), enabled_at=enabled_at),
            devices=[device],
        )
        tx.put_user(user, state)
