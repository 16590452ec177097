"""The PostgreSQL store's own rules: schema versions, the password file, the outbox's claims,
a fleet's key rotation, and moving an LMDB store into a database."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from twofa_client import TwoFactorClient, Unavailable
from twofa_server.app import start
from twofa_server.config import ConfigError, Settings, load_settings
from twofa_server.core.models import Mail, MailKind, UserRef
from twofa_server.core.ports import Transaction
from twofa_server.core.work import Done, Work
from twofa_server.crypto import (
    Sealer,
    load_keyring,
    with_new_key,
    with_primary,
    write_keyring,
)
from twofa_server.crypto.secret_file import SecretFileError
from twofa_server.store.keycheck import StoreNotInitialized
from twofa_server.store.postgres.schema import VERSION, SchemaError
from twofa_server.store.postgres.settings import PostgresSettings
from twofa_server.store.postgres.store import DatabaseUnreachable, PostgresStore

from ..support.clock import FixedClock
from ..support.enroll import enroll_app
from ..support.pg_cluster import PASSWORD, PASSWORD_ROLE, PostgresCluster
from ..support.stores import init_store, new_data_dir
from ..support.totp import totp_code
from ..support.waiting import wait_until

T = "acme"


@pytest.fixture
def pg_settings(postgres_cluster: PostgresCluster, tmp_path: Path) -> Settings:
    """Settings for a server on a new, empty database (no schema yet)."""
    return Settings(
        store="postgres",
        postgres=PostgresSettings(dsn=postgres_cluster.create_database(), pool_size=2),
        data_dir=new_data_dir(tmp_path / "data", with_store=False),
        listen="127.0.0.1:0",
        metrics_listen="",
        audit_log=str(tmp_path / "audit.log"),
    )


def test_serving_on_a_database_without_the_schema_is_refused(pg_settings: Settings) -> None:
    with pytest.raises(SchemaError, match=r"holds no twofa store.*twofa store init"):
        start(pg_settings)


def test_serving_on_a_schema_without_the_keyring_probe_is_refused(
    pg_settings: Settings, postgres_cluster: PostgresCluster
) -> None:
    init_store(pg_settings)
    postgres_cluster.query(
        pg_settings.postgres.dsn, "DELETE FROM twofa.meta WHERE name <> 'schema_version'"
    )
    with pytest.raises(StoreNotInitialized, match="restore it from a backup"):
        start(pg_settings)


def test_a_schema_newer_than_this_twofa_is_refused(
    pg_settings: Settings, postgres_cluster: PostgresCluster
) -> None:
    init_store(pg_settings)
    newer = str(VERSION + 1)
    postgres_cluster.query(
        pg_settings.postgres.dsn,
        "UPDATE twofa.meta SET value = %s WHERE name = 'schema_version'",
        (newer.encode(),),
    )
    with pytest.raises(SchemaError, match=f"schema version {newer}, newer than this twofa"):
        start(pg_settings)


def test_instances_initialising_at_once_create_the_schema_once(pg_settings: Settings) -> None:
    errors: list[BaseException] = []

    def init() -> None:
        try:
            init_store(pg_settings)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=init) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    app = start(pg_settings, clock=FixedClock())
    app.stop(0)


def test_the_password_comes_from_a_private_file_and_never_shows(
    postgres_cluster: PostgresCluster, tmp_path: Path
) -> None:
    dsn = postgres_cluster.create_database(owner=PASSWORD_ROLE)
    password_file = tmp_path / "db-password"
    password_file.write_text(PASSWORD + "\n")
    password_file.chmod(0o644)
    settings = PostgresSettings(dsn=dsn, password_file=password_file)
    sealer = Sealer(load_keyring(new_data_dir(tmp_path / "d", with_store=False) / "keyring"))
    with pytest.raises(SecretFileError, match="readable by other users"):
        PostgresStore(settings, sealer)
    password_file.chmod(0o600)
    store = PostgresStore(settings, sealer)
    store.initialize()
    store.open()
    store.close()
    password_file.write_text("not the password\n")
    wrong = PostgresStore(settings, sealer)
    with pytest.raises(DatabaseUnreachable) as refused:
        wrong.open()
    message = str(refused.value)
    assert "password authentication failed" in message and "not the password" not in message
    assert "\n" not in message


def test_a_dsn_holding_a_password_is_refused() -> None:
    dsn = "postgresql://u:secret@db/x"
    with pytest.raises(ConfigError, match=r"postgres\.password_file") as refused:
        load_settings(environ={"TWOFA_STORE": "postgres", "TWOFA_POSTGRES_DSN": dsn})
    assert "secret" not in str(refused.value)  # an invalid DSN is never quoted back


def test_a_claimed_message_is_not_claimed_again_until_its_lease_lapses(
    pg_settings: Settings,
) -> None:
    init_store(pg_settings)
    clock = FixedClock()
    store = PostgresStore(
        pg_settings.postgres, Sealer(load_keyring(pg_settings.keyring_path)), clock
    )
    store.open()
    try:
        user = UserRef(T, "alice")

        def queue(tx: Transaction) -> Done[None]:
            tx.enqueue_mail(user, Mail(MailKind.LOGIN_CODE, "a@example.org", ("123456",), None))
            return Done(None)

        store.run(Work(queue, user))
        first = store.claim_due(clock.now(), 10)
        assert [q.mail.recipient for q in first] == ["a@example.org"]
        assert store.claim_due(clock.now(), 10) == []  # another sender gets nothing
        later = clock.now() + 121  # the lease (two minutes) of a sender that died
        assert [q.id for q in store.claim_due(later, 10)] == [first[0].id]
        store.reschedule(first[0].id, 1, later + 5)
        assert store.claim_due(later + 1, 10) == []  # rescheduled: not due yet
        assert len(store.claim_due(later + 6, 10)) == 1
        store.remove(first[0].id)
        assert store.outbox_summary() == (0, None)
    finally:
        store.close()


def test_an_instance_without_the_new_key_answers_key_not_loaded_and_recovers(
    pg_settings: Settings, tmp_path: Path
) -> None:
    init_store(pg_settings)
    clock = FixedClock()
    keyring = load_keyring(pg_settings.keyring_path)
    # Instance B keeps a copy of the old keyring; instance A gets the new key as primary.
    b_keyring = tmp_path / "b-keyring"
    write_keyring(b_keyring, keyring)
    promoted = with_primary(with_new_key(keyring, primary=False), 2)
    write_keyring(pg_settings.keyring_path, promoted, overwrite=True)
    a = start(pg_settings, clock=clock)
    b = start(replace(pg_settings, keyring_file=b_keyring), clock=clock)
    try:
        with TwoFactorClient(a.addresses[0]) as on_a, TwoFactorClient(b.addresses[0]) as on_b:
            secret = enroll_app(on_a, clock, T, "alice", advance=30).secret  # sealed under key 2
            with pytest.raises(Unavailable) as refused:
                on_b.verify_code(T, "alice", totp_code(secret, clock.now()))
            assert refused.value.reason == "KEY_NOT_LOADED"
            assert refused.value.retry_after is not None
            write_keyring(b_keyring, promoted, overwrite=True)  # the Secret reaches pod B
            # As SIGHUP does: B's own watcher thread reloads (a poll from here could find the
            # file already seen by that thread while its reload is still under way).
            b.keyring_watcher.check_now()
            wait_until(lambda: b.keyring_watcher.primary_key_id == 2, "B to load key 2")
            assert on_b.verify_code(T, "alice", totp_code(secret, clock.now())).accepted
    finally:
        a.stop(0)
        b.stop(0)


def test_the_database_is_not_reached_at_start_up_with_one_line(tmp_path: Path) -> None:
    settings = Settings(
        store="postgres",
        postgres=PostgresSettings(dsn="host=127.0.0.1 port=1 dbname=x user=x connect_timeout=1"),
        data_dir=new_data_dir(tmp_path / "data", with_store=False),
        listen="127.0.0.1:0",
        metrics_listen="",
    )
    with pytest.raises(DatabaseUnreachable) as refused:
        start(settings)
    assert "cannot connect to database x on 127.0.0.1:1" in str(refused.value)
    assert psycopg  # the driver is installed with twofa
