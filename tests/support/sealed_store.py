"""An LMDB store filled with users, a policy and queued mail, all sealed under key 1.

For the re-seal and key-rotation tests: in this process (tests/store) and through
the operator's commands (tests/e2e).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twofa_server.core.models import (
    Attempts,
    Authenticator,
    EmailCode,
    EmailMethod,
    Mail,
    MailKind,
    Policy,
    TrustedDevice,
    UserRef,
    UserState,
)
from twofa_server.crypto import KeyedHasher, Keyring, Sealer, generate_keyring, write_keyring
from twofa_server.jobs.rotation import KeyringWatcher, keyring_signature
from twofa_server.store.keycheck import check_keyring
from twofa_server.store.lmdb.store import LmdbStore, LmdbTransaction

from .stores import open_lmdb_store

T = "acme"
USERS = 7
WHERE = "the store under test"


def full_user() -> UserState:
    """A user with every sealed field set, and everything else too."""
    return UserState(
        authenticator=Authenticator(b"s" * 20, 123, 1_700_000_000.5, b"p" * 20, 1_700_000_600.0),
        attempts=Attempts(2, 1_700_000_001.0, 0.0),
        email=EmailMethod(
            address="old@example.org",
            enabled_at=1_700_000_002.0,
            pending_address="new@example.org",
            pending_expires_at=1_700_000_900.0,
            setup_code=EmailCode(b"d" * 32, 1_700_000_950.0),
            login_code=EmailCode(b"e" * 32, 1_700_000_960.0),
            sent_at=[1_700_000_003.0, 1_700_000_004.0],
        ),
        backup_codes=[b"b" * 32, b"c" * 32],
        devices=[TrustedDevice("dev1", b"x" * 32, "laptop", 1_700_000_005.0, 1_700_000_006.0)],
    )


@dataclass
class Prepared:
    store: LmdbStore
    path: Path  # the keyring file
    keyring: Keyring
    sealer: Sealer
    users: dict[UserRef, UserState]


def _fill(tx: LmdbTransaction, users: dict[UserRef, UserState]) -> None:
    for user, state in users.items():
        tx.put_user(user, state)
    tx.put_policy(T, Policy(max_attempts=3))
    tx.enqueue_mail(UserRef(T, "u0"), Mail(MailKind.SETUP_CODE, "a@example.org", ("1",), None))
    tx.enqueue_mail(UserRef(T, "u1"), Mail(MailKind.SETUP_CODE, "b@example.org", ("2",), None))


@contextmanager
def prepared_store(data_dir: Path) -> Iterator[Prepared]:
    """A store in `data_dir` with USERS users, a policy and two queued mails, under key 1."""
    path = data_dir / "keyring"
    keyring = generate_keyring()
    write_keyring(path, keyring)
    sealer = Sealer(keyring)
    store = open_lmdb_store(data_dir, 64, sealer)
    check_keyring(store, sealer, KeyedHasher(keyring.mac_key), path, WHERE, create=True)
    users = {UserRef(T, f"u{i}"): full_user() for i in range(USERS)}
    store.write(lambda tx: _fill(tx, users))
    try:
        yield Prepared(store, path, keyring, sealer, users)
    finally:
        store.close()


def census(prepared: Prepared, primary: int | None = None) -> Any:
    return prepared.store.census(primary)


def read_users(prepared: Prepared) -> dict[UserRef, UserState]:
    def read(tx: LmdbTransaction) -> dict[UserRef, UserState]:
        return {user: state for user, state in tx.users_after(None, 1000) if state is not None}

    return prepared.store.read(read)


def watcher_for(prepared: Prepared, batch: int = 2, *, stale: bool = False) -> KeyringWatcher:
    """A watcher (not started) for the store; `stale`: the keyring file changed since."""
    return KeyringWatcher(
        prepared.store,
        WHERE,
        prepared.path,
        prepared.sealer,
        None if stale else keyring_signature(prepared.path),
        batch=batch,
        pause_seconds=0,
    )


def rewrite(path: Path, keyring: Keyring) -> None:
    """Writes the keyring file, making sure its identity changes even within one tick."""
    write_keyring(path, keyring, overwrite=True)
