"""Secrets at rest: sealed, bound to their record, never in the LMDB files in the clear."""

from __future__ import annotations

import lmdb
import pytest

from twofa_client import Internal, TwoFactorClient
from twofa_server.app import Application
from twofa_server.config import Settings
from twofa_server.core.models import UserRef
from twofa_server.store import keys

from ..support.clock import FixedClock
from ..support.enroll import enroll_app
from ..support.lmdb_files import store_bytes
from ..support.stores import restart
from ..support.totp import secret_bytes, totp_code

pytestmark = pytest.mark.lmdb_only  # reads and writes the LMDB files

T = "acme"


def secret_forms(secret_b32: str) -> list[bytes]:
    raw = secret_bytes(secret_b32)
    return [raw, secret_b32.encode(), secret_b32.lower().encode(), raw.hex().encode()]


def test_no_secret_appears_in_the_store_files(
    client: TwoFactorClient, clock: FixedClock, settings: Settings
) -> None:
    secrets = []
    for user in ("enabled", "pending", "reset"):
        if user == "pending":
            secrets.append(client.begin_authenticator_setup(T, user).secret)
        else:
            secrets.append(enroll_app(client, clock, T, user, advance=0).secret)
    secrets.append(client.begin_authenticator_setup(T, "reset").secret)
    on_disk = store_bytes(settings.data_dir)
    assert b"enabled" in on_disk  # the files are really being read
    for secret in secrets:
        for form in secret_forms(secret):
            assert form not in on_disk


def test_a_sealed_secret_copied_to_another_user_does_not_open(
    app: Application, settings: Settings, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    with TwoFactorClient(app.addresses[0]) as client:
        alice = enroll_app(client, clock, T, "alice", advance=0).secret
    app.stop(0)
    # An attacker with write access to the files swaps Alice's record into Mallory's.
    env = lmdb.open(str(settings.data_dir), max_dbs=8)
    users = env.open_db(keys.USERS)
    with env.begin(write=True, db=users) as txn:
        record = txn.get(keys.user_key(UserRef(T, "alice")))
        assert record is not None
        txn.put(keys.user_key(UserRef(T, "mallory")), record)
    env.close()

    again = restart(app, settings, clock)
    try:
        with TwoFactorClient(again.addresses[0]) as client:
            clock.advance(30)
            with pytest.raises(Internal) as refused:
                client.verify_code(T, "mallory", totp_code(alice, clock.now()))
            assert refused.value.message == "internal error"
            assert client.verify_code(T, "alice", totp_code(alice, clock.now())).accepted
    finally:
        again.stop(0)
    logged = caplog.text
    assert "SealError" in logged and alice not in logged
