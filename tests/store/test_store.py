"""The LMDB store's limits: a full map refuses writes clearly and keeps serving reads."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from twofa_client import ResourceExhausted, TwoFactorClient
from twofa_server.app import Application, start
from twofa_server.config import Settings
from twofa_server.core.errors import StoreFull
from twofa_server.core.models import Policy, UserState
from twofa_server.crypto import Sealer, generate_keyring
from twofa_server.crypto.keyring import with_new_primary_key
from twofa_server.crypto.sealing import SealError
from twofa_server.store.codec import RecordCodec
from twofa_server.store.lmdb.store import LmdbStore, LmdbTransaction
from twofa_server.store.records_pb2 import UserRecord

from ..support.clock import FixedClock
from ..support.enroll import enroll_app
from ..support.lmdb_files import dump_store

pytestmark = pytest.mark.lmdb_only  # the LMDB map and its size


@pytest.fixture
def small_app(settings: Settings, clock: FixedClock) -> Iterator[Application]:
    application = start(replace(settings, map_size_mb=1), clock=clock)
    yield application
    application.stop(0)


def fill_until_nearly_full(app: Application) -> None:
    """Fills the map with tenant policies, in shrinking batches, until one more will not fit."""
    filled = 0
    for batch in (500, 50, 5, 1):
        while True:
            names = [f"filler-{filled + i}" for i in range(batch)]

            def put_policies(tx: LmdbTransaction, names: list[str] = names) -> None:
                for name in names:
                    tx.put_policy(name, Policy())

            store = app.store
            assert isinstance(store, LmdbStore)
            try:
                store.write(put_policies)
            except StoreFull:
                break
            filled += batch


def test_a_full_map_answers_resource_exhausted_and_still_serves_reads(
    small_app: Application, clock: FixedClock, settings: Settings
) -> None:
    with TwoFactorClient(small_app.addresses[0]) as client:
        enroll_app(client, clock, "acme", "alice", advance=0)
        fill_until_nearly_full(small_app)
        for i in range(100):
            before = dump_store(small_app)
            try:
                client.update_policy(f"tenant-{i}", max_attempts=4)
            except ResourceExhausted as full:
                refused = full
                break
        else:
            pytest.fail("the store never filled up")
        assert dump_store(small_app) == before  # the refused write left nothing behind
        assert "map_size_mb=1" in refused.message
        assert "raise map_size_mb" in refused.message

        assert client.get_user_status("acme", "alice").enrolled
        assert client.get_policy("filler-0").is_default is False
        assert client.health_check()


def test_every_write_seals_the_secret_anew_under_the_primary_key() -> None:
    """A fresh nonce each time, and after a rotation the new key, with no step of its own."""
    keyring = generate_keyring()
    codec = RecordCodec(Sealer(keyring))
    key = b"user-key"
    state = UserState()
    state.authenticator.secret = b"s" * 20
    data = codec.encode_user(key, state)
    first = UserRecord.FromString(data).authenticator.sealed_secret

    def sealed_again(codec: RecordCodec) -> bytes:
        read = codec.decode_user(key, data)
        read.authenticator.last_step += 1  # what a verification changes
        return bytes(
            UserRecord.FromString(codec.encode_user(key, read)).authenticator.sealed_secret
        )

    again = sealed_again(codec)
    assert again != first and Sealer.key_id_of(again) == Sealer.key_id_of(first)
    rotated = RecordCodec(Sealer(with_new_primary_key(keyring)))
    resealed = sealed_again(rotated)
    assert Sealer.key_id_of(resealed) != Sealer.key_id_of(first)
    assert rotated.decode_user(key, data).authenticator.secret == b"s" * 20
    # Sealed for one user's record, a secret does not open in another's.
    moved = UserRecord.FromString(data)
    with pytest.raises(SealError):
        codec.decode_user(b"other-key", moved.SerializeToString())
