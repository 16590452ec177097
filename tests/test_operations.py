"""Operations: online key rotation and re-seal, dropping an old key, hot backup, status.

The re-seal machinery is driven step by step on a store opened in this process; the
operator's path (`twofa keys rotate|drop`, `twofa backup`, `twofa status`) runs as real
processes next to a real `twofa serve`.
"""

from __future__ import annotations

import json
import logging
import re
import signal
import stat
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from twofa_client import Frequency, Method, TwoFactorClient
from twofa_server.app import start
from twofa_server.config import Settings
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
from twofa_server.crypto import (
    KeyedHasher,
    Keyring,
    Sealer,
    generate_keyring,
    load_keyring,
    with_new_primary_key,
    without_key,
    write_keyring,
)
from twofa_server.jobs.rotation import KeyringWatcher, keyring_signature
from twofa_server.store import keys
from twofa_server.store import records_pb2 as pb
from twofa_server.store.codec import RecordCodec
from twofa_server.store.keycheck import check_keyring
from twofa_server.store.lmdb.store import LmdbStore, LmdbTransaction
from twofa_server.store.reseal import OUTBOX_FIELDS, USER_FIELDS, reseal

from .processes import (
    POLL,
    Server,
    T,
    assert_refused,
    connect,
    enroll,
    next_code,
    run_twofa,
    serve,
    stop,
    wait_until_serving,
)
from .support import FixedClock

WAIT = 20.0  # bounded waits for the running server to reload and re-seal


# =========================================================================== the records


def _sealed_fields(descriptor: Any, prefix: str = "") -> set[tuple[str, str]]:
    found = set()
    for field in descriptor.fields:
        if field.message_type is not None and not prefix:
            found |= _sealed_fields(field.message_type, field.name)
        elif field.name.startswith("sealed_"):
            found.add((prefix, field.name))
    return found


def test_the_reseal_tables_name_every_sealed_field_of_the_records() -> None:
    # A sealed field added to records.proto must be added to store/reseal.py too.
    assert {(f.message, f.name) for f in USER_FIELDS} == _sealed_fields(pb.UserRecord.DESCRIPTOR)
    assert {(f.message, f.name) for f in OUTBOX_FIELDS} == _sealed_fields(
        pb.OutboxRecord.DESCRIPTOR
    )


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


def test_reseal_moves_every_sealed_value_under_the_new_key_and_keeps_everything_else() -> None:
    old = generate_keyring()
    rotated = with_new_primary_key(old)
    only_new = without_key(rotated, old.primary_key_id)
    key = keys.user_key(UserRef(T, "alice"))
    user = full_user()
    data = RecordCodec(Sealer(old)).encode_user(key, user)

    new = reseal(keys.USERS, key, data, Sealer(rotated))

    assert new is not None
    assert RecordCodec(Sealer(only_new)).decode_user(key, new) == user
    assert reseal(keys.USERS, key, new, Sealer(rotated)) is None  # nothing left to do
    mail_key = keys.new_outbox_key(1_700_000_000.0, lambda n: bytes(range(n)))
    mail = Mail(MailKind.LOGIN_CODE, "old@example.org", ("123456",), 1_700_000_999.0)
    record = pb.OutboxRecord.FromString(
        RecordCodec(Sealer(old)).encode_mail(mail_key, key, mail, 1_700_000_000.0)
    )
    record.attempts, record.next_attempt_at_ms = 3, 1_700_000_123_000  # a retried message
    new_mail = reseal(keys.OUTBOX, mail_key, record.SerializeToString(), Sealer(rotated))
    assert new_mail is not None
    queued = RecordCodec(Sealer(only_new)).decode_mail(mail_key, RecordCodec.mail_record(new_mail))
    assert queued.mail == replace(mail, message_id=mail_key.hex())
    assert (queued.attempts, queued.next_attempt_at) == (3, 1_700_000_123.0)


# =========================================================================== in-process re-seal


@dataclass
class Prepared:
    store: LmdbStore
    path: Path  # the keyring file
    keyring: Keyring
    sealer: Sealer
    users: dict[UserRef, UserState]


USERS = 7
WHERE = "the store under test"


def _fill(tx: LmdbTransaction, users: dict[UserRef, UserState]) -> None:
    for user, state in users.items():
        tx.put_user(user, state)
    tx.put_policy(T, Policy(max_attempts=3))
    tx.enqueue_mail(UserRef(T, "u0"), Mail(MailKind.SETUP_CODE, "a@example.org", ("1",), None))
    tx.enqueue_mail(UserRef(T, "u1"), Mail(MailKind.SETUP_CODE, "b@example.org", ("2",), None))


@pytest.fixture
def prepared(tmp_path: Path) -> Iterator[Prepared]:
    """A store with users, a policy and queued mail, all sealed under key 1."""
    path = tmp_path / "data" / "keyring"
    keyring = generate_keyring()
    write_keyring(path, keyring)
    sealer = Sealer(keyring)
    store = LmdbStore(tmp_path / "data", 64, sealer, FixedClock())
    check_keyring(store, sealer, KeyedHasher(keyring.mac_key), path, WHERE)
    users = {UserRef(T, f"u{i}"): full_user() for i in range(USERS)}
    store.write(lambda tx: _fill(tx, users))
    yield Prepared(store, path, keyring, sealer, users)
    store.close()


def census(prepared: Prepared, primary: int | None = None) -> Any:
    return prepared.store.census(primary)


def read_users(prepared: Prepared) -> dict[UserRef, UserState]:
    def read(tx: LmdbTransaction) -> dict[UserRef, UserState]:
        return {user: state for user, state in tx.users_after(None, 1000)}

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


def test_rotation_reseals_every_record_in_small_batches(prepared: Prepared) -> None:
    watcher = watcher_for(prepared, batch=2)
    before = census(prepared, 2)  # as if key 2 were primary
    # Users, the two queued mails and the keyring probe.
    assert (before.stale, before.records) == (USERS + 3, {"policies": 1, "users": 7, "outbox": 2})
    rotated = with_new_primary_key(prepared.keyring)
    rewrite(prepared.path, rotated)

    assert watcher.poll()  # installs the new keyring and begins a pass
    assert watcher.progress.remaining == USERS + 3
    steps = 0
    while watcher.step():
        steps += 1
        assert read_users(prepared) == prepared.users  # readable throughout

    after = census(prepared, 2)
    assert after.stale == 0
    assert after.sealed_by_key == {"users": {2: USERS}, "outbox": {2: 2}, "meta": {2: 1}}
    assert steps >= USERS // 2  # two records per transaction
    assert (watcher.progress.remaining, watcher.progress.resealed_total) == (0, USERS + 3)
    mails = prepared.store.claim_due(10**12, 10)
    assert sorted(m.mail.recipient for m in mails) == ["a@example.org", "b@example.org"]

    # The old key can go: the store opens without it, and keeps the same keyed hashes.
    rewrite(prepared.path, without_key(rotated, 1))
    assert watcher.poll()
    only_new = Sealer(load_keyring(prepared.path))
    check_keyring(prepared.store, only_new, KeyedHasher(rotated.mac_key), prepared.path, WHERE)
    assert read_users(prepared) == prepared.users


def test_writes_during_the_reseal_use_the_new_key(prepared: Prepared) -> None:
    watcher = watcher_for(prepared, batch=1)
    rewrite(prepared.path, with_new_primary_key(prepared.keyring))
    assert watcher.poll()
    watcher.step()
    changed = replace(full_user(), attempts=Attempts(4, 1.0, 0.0))
    prepared.store.write(lambda tx: tx.put_user(UserRef(T, "u6"), changed))  # a login meanwhile
    while watcher.step():
        pass
    assert census(prepared, 2).stale == 0
    assert read_users(prepared)[UserRef(T, "u6")] == changed


def _error_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_keyring_lacking_a_key_that_records_need_is_not_loaded(
    prepared: Prepared, caplog: pytest.LogCaptureFixture
) -> None:
    watcher = watcher_for(prepared, batch=2)
    rotated = with_new_primary_key(prepared.keyring)
    rewrite(prepared.path, rotated)
    assert watcher.poll()
    assert watcher.step()  # the re-seal is under way, far from done

    # The operator drops key 1 too early (by hand, without 'twofa keys drop').
    rewrite(prepared.path, without_key(rotated, 1))
    assert not watcher.poll()
    [line] = _error_lines(caplog)
    assert "not reloaded" in line and "lacks key 1" in line and "still using" in line
    assert watcher.primary_key_id == 2
    assert read_users(prepared) == prepared.users  # nothing broke

    # The re-seal goes on with the keyring it has; then the same file loads.
    while watcher.step():
        pass
    rewrite(prepared.path, without_key(rotated, 1))
    assert watcher.poll()
    assert read_users(prepared) == prepared.users
    assert len(_error_lines(caplog)) == 1


@pytest.mark.parametrize(
    ("spoil", "fragment"),
    [
        (lambda k: Keyring(k.primary_key_id, k.aead_keys, b"m" * 32), "different mac_key"),
        (lambda k: generate_keyring(), "does not open the store"),
        (None, "not valid JSON"),
    ],
    ids=["other_mac_key", "unrelated_keyring", "malformed"],
)
def test_a_keyring_that_does_not_fit_the_store_is_not_loaded(
    prepared: Prepared, caplog: pytest.LogCaptureFixture, spoil: Any, fragment: str
) -> None:
    watcher = watcher_for(prepared)
    if spoil is None:
        prepared.path.write_text("{not json")
    else:
        rewrite(prepared.path, spoil(with_new_primary_key(prepared.keyring)))
    assert not watcher.poll()
    [line] = _error_lines(caplog)
    assert fragment in line and "still using the keyring with primary key 1" in line
    assert watcher.primary_key_id == 1
    assert read_users(prepared) == prepared.users
    assert not watcher.poll()  # the same file is not tried (and logged) again


# =========================================================================== keys drop


def test_keys_drop_refuses_while_records_are_sealed_under_the_key(
    prepared: Prepared, tmp_path: Path
) -> None:
    data_dir = prepared.path.parent
    rotated = run_twofa("keys", "rotate", "--data-dir", str(data_dir), cwd=tmp_path)
    assert rotated.returncode == 0, rotated.stderr
    assert "primary key 2" in rotated.stdout and "twofa keys drop 1" in rotated.stdout
    assert stat.S_IMODE(prepared.path.stat().st_mode) == 0o600
    keyring_bytes = prepared.path.read_bytes()
    assert load_keyring(prepared.path).aead_keys.keys() == {1, 2}

    # The re-seal has not run: every record still needs key 1 (another process reads the
    # store while this one has it open, as a running server would).
    refused = run_twofa("keys", "drop", "1", "--data-dir", str(data_dir), cwd=tmp_path)
    assert_refused(refused, f"{USERS + 3} records", "still sealed under key 1", "twofa status")
    check = run_twofa(
        "keys", "drop", "1", "--check-only", "--data-dir", str(data_dir), cwd=tmp_path
    )
    assert_refused(check, f"{USERS + 3} records", "still sealed under key 1")
    assert_refused(
        run_twofa("keys", "drop", "2", "--keyring", str(prepared.path), cwd=tmp_path),
        "primary key",
    )
    assert_refused(
        run_twofa("keys", "drop", "9", "--data-dir", str(data_dir), cwd=tmp_path),
        "has no key 9",
    )
    assert prepared.path.read_bytes() == keyring_bytes

    status = status_json(data_dir, tmp_path)
    assert status["not_under_primary"] == USERS + 3
    assert status["keyring"]["primary_key_id"] == 2

    watcher_for(prepared, batch=50, stale=True).run_until_idle()  # what the server does
    status = status_json(data_dir, tmp_path)
    assert status["not_under_primary"] == 0
    assert status["sealed_by_key"] == {"users": {"2": USERS}, "outbox": {"2": 2}, "meta": {"2": 1}}

    check = run_twofa(
        "keys", "drop", "1", "--check-only", "--data-dir", str(data_dir), cwd=tmp_path
    )
    assert check.returncode == 0, check.stderr
    assert "can be dropped" in check.stdout
    assert prepared.path.read_bytes() == keyring_bytes  # checked, not changed

    # With a store per pod, the keyring is edited apart from any store.
    elsewhere = tmp_path / "elsewhere" / "keyring"
    write_keyring(elsewhere, load_keyring(prepared.path))
    assert_refused(
        run_twofa("keys", "drop", "1", "--keyring", str(elsewhere), cwd=elsewhere.parent),
        "no twofa store",
    )
    unchecked = ("--keyring", str(elsewhere), "--skip-store-check")
    assert run_twofa("keys", "drop", "1", *unchecked, cwd=tmp_path).returncode == 0
    assert load_keyring(elsewhere).aead_keys.keys() == {2}

    dropped = run_twofa("keys", "drop", "1", "--data-dir", str(data_dir), cwd=tmp_path)
    assert dropped.returncode == 0, dropped.stderr
    assert "removed key 1" in dropped.stdout
    assert load_keyring(prepared.path).aead_keys.keys() == {2}
    assert stat.S_IMODE(prepared.path.stat().st_mode) == 0o600


# =========================================================================== status


def status_json(data_dir: Path, cwd: Path, *extra: str) -> dict[str, Any]:
    result = run_twofa("status", "--json", "--data-dir", str(data_dir), *extra, cwd=cwd)
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def test_status_prints_size_usage_counts_and_keys(prepared: Prepared, tmp_path: Path) -> None:
    data_dir = prepared.path.parent
    report = status_json(data_dir, tmp_path)
    assert report["data_dir"] == str(data_dir)
    assert report["records"] == {"policies": 1, "users": USERS, "outbox": 2}
    assert report["sealed_by_key"] == {"users": {"1": USERS}, "outbox": {"1": 2}, "meta": {"1": 1}}
    assert report["keyring"] == {"path": str(prepared.path), "primary_key_id": 1, "key_ids": [1]}
    assert report["not_under_primary"] == 0
    assert report["file_bytes"] == (data_dir / "data.mdb").stat().st_size
    assert report["map_size_bytes"] == 64 * 1024 * 1024
    assert 0 < report["map_used_bytes"] <= report["file_bytes"]
    assert report["map_used_ratio"] == pytest.approx(
        report["map_used_bytes"] / report["map_size_bytes"], abs=1e-6
    )

    text = run_twofa("status", "--data-dir", str(data_dir), cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    out = text.stdout
    assert f"users {USERS}, policies 1, outbox 2" in out
    assert f"users: key 1: {USERS}; outbox: key 1: 2; meta: key 1: 1" in out
    assert "keys 1 (primary)" in out and "none needed" in out
    assert re.search(r"map usage .* of 64\.0 MiB .*\(\d+\.\d%\)", out), out

    # A keyring that cannot be read does not hide the rest.
    prepared.path.chmod(0o644)
    report = status_json(data_dir, tmp_path)
    assert "readable by other users" in report["keyring"]["error"]
    assert report["not_under_primary"] is None
    assert report["records"]["users"] == USERS


def test_status_and_backup_refuse_a_directory_without_a_store(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_refused(
        run_twofa("status", "--data-dir", str(empty), cwd=tmp_path), "no twofa store", str(empty)
    )
    assert_refused(
        run_twofa("backup", str(tmp_path / "copy"), "--data-dir", str(empty), cwd=tmp_path),
        "no twofa store",
    )
    assert not (tmp_path / "copy").exists()


# =========================================================================== with a running server


def metrics_of(server: Server) -> dict[str, float]:
    line = server.wait_for_line("metrics on http://")
    url = line.split("metrics on ", 1)[1].strip()
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (http to loopback)
        text = response.read().decode()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("twofa_keyring_")
    }


def wait_for(condition: Any, what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(POLL)


class Traffic:
    """Calls the server in a loop from another thread and counts answers and failures."""

    def __init__(self, client: TwoFactorClient, user: str) -> None:
        self._client, self._user = client, user
        self.calls = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._client.get_user_status(T, self._user)
                self._client.begin_authenticator_setup(T, "traffic")  # a write
                self.calls += 2
            except Exception as error:
                self.failures.append(repr(error))

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


def email_code(server: Server, address: str) -> str:
    """The code in the console mailer's last message to `address`."""
    found: list[str] = []

    def seen() -> bool:
        lines = server.stderr.splitlines()
        starts = [i for i, line in enumerate(lines) if line == f"To: {address}"]
        if starts:
            codes = [m for line in lines[starts[-1] :] if (m := re.fullmatch(r" {4}(\d{6})", line))]
            if codes:
                found.append(codes[0].group(1))
        return bool(found)

    wait_for(seen, f"a code mailed to {address}")
    return found[0]


def enroll_email(client: TwoFactorClient, server: Server, user: str) -> None:
    address = f"{user}@example.org"
    client.begin_email_setup(T, user, address)
    assert client.confirm_email_setup(T, user, email_code(server, address)).accepted


def test_online_rotation_reseals_while_serving_then_the_old_key_goes(
    tmp_path: Path, data_dir: Path, socket_path: Path
) -> None:
    keyring_path = data_dir / "keyring"
    secrets: dict[str, str] = {}
    metrics = ("--metrics-listen", "127.0.0.1:0")
    with serve(tmp_path, data_dir, socket_path, *metrics) as server, connect(socket_path) as client:
        wait_until_serving(client, server)
        for i in range(6):
            secrets[f"user{i}"] = enroll(client, f"user{i}")
        for user in ("user0", "user1"):
            enroll_email(client, server, user)
        client.update_policy(T, frequency=Frequency.EVERY_LOGIN)
        for i in range(210):  # pending set-ups: more records than one re-seal batch
            client.begin_authenticator_setup(T, f"pending{i}")
        assert metrics_of(server)["twofa_keyring_reseal_remaining_records"] == 0
        records = status_json(data_dir, tmp_path)["sealed_by_key"]["users"]["1"]
        original = load_keyring(keyring_path)

        with Traffic(client, "user0") as traffic:
            rotated = run_twofa("keys", "rotate", "--data-dir", str(data_dir), cwd=tmp_path)
            assert rotated.returncode == 0, rotated.stderr
            # No signal: the server notices the changed file by itself.
            server.wait_for_line("reloaded: primary key 2 (keys 1, 2)", timeout=WAIT)
            wait_for(
                lambda: status_json(data_dir, tmp_path)["not_under_primary"] == 0,
                "every record re-sealed under key 2",
            )
            server.wait_for_line("re-seal complete", timeout=WAIT)
        assert traffic.calls > 0 and not traffic.failures, traffic.failures

        status = status_json(data_dir, tmp_path)
        assert set(status["sealed_by_key"]["users"]) == {"2"}
        assert status["sealed_by_key"]["meta"] == {"2": 1}
        progress = metrics_of(server)
        assert progress["twofa_keyring_reseal_remaining_records"] == 0
        assert progress["twofa_keyring_resealed_records_total"] >= records + 1  # + the probe

        # Restoring the old keyring by mistake breaks nothing: it is refused, in one line.
        good = load_keyring(keyring_path)
        write_keyring(keyring_path, original, overwrite=True)
        server.process.send_signal(signal.SIGHUP)
        line = server.wait_for_line("keyring not reloaded", timeout=WAIT)
        assert "lacks key 2" in line and "still using the keyring with primary key 2" in line
        assert client.verify_code(T, "user3", next_code(secrets["user3"])).accepted
        write_keyring(keyring_path, good, overwrite=True)  # the same keys: nothing to do

        dropped = run_twofa("keys", "drop", "1", "--data-dir", str(data_dir), cwd=tmp_path)
        assert dropped.returncode == 0, dropped.stderr
        server.process.send_signal(signal.SIGHUP)  # at once rather than at the next poll
        server.wait_for_line("reloaded: primary key 2 (keys 2)", timeout=WAIT)
        stop(server)
    assert load_keyring(keyring_path).aead_keys.keys() == {2}
    assert server.stderr.count("keyring not reloaded") == 1

    # A fresh start with only the new key: every user still verifies, email included.
    with serve(tmp_path, data_dir, socket_path) as server, connect(socket_path) as client:
        wait_until_serving(client, server)
        for user, secret in secrets.items():
            if user == "user3":
                continue  # its next code was used above
            verdict = client.verify_code(T, user, next_code(secret))
            assert verdict.accepted, (user, verdict)
        # Queued mail is sealed under the new key too, and goes out.
        codes = client.regenerate_backup_codes(T, "user1")
        assert codes.emailed_to.endswith("@example.org")
        server.wait_for_line("To: user1@example.org")
        assert client.verify_code(T, "user1", codes.codes[0], method=Method.BACKUP_CODE).accepted
        stop(server)


def test_backup_while_serving_is_a_store_that_opens_and_verifies(
    tmp_path: Path, data_dir: Path, socket_path: Path
) -> None:
    copy = tmp_path / "backups" / "one"
    secrets: dict[str, str] = {}
    with serve(tmp_path, data_dir, socket_path) as server, connect(socket_path) as client:
        wait_until_serving(client, server)
        for i in range(3):
            secrets[f"user{i}"] = enroll(client, f"user{i}")
        with Traffic(client, "user0") as traffic:
            result = run_twofa("backup", str(copy), "--data-dir", str(data_dir), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert not traffic.failures, traffic.failures
        assert "keyring is NOT in the backup" in result.stdout
        assert str(data_dir / "keyring") in result.stdout
        assert sorted(p.name for p in copy.iterdir()) == ["data.mdb"]
        assert stat.S_IMODE((copy / "data.mdb").stat().st_mode) == 0o600
        assert_refused(
            run_twofa("backup", str(copy), "--data-dir", str(data_dir), cwd=tmp_path),
            "not an empty directory",
        )
        stop(server)

    keyring = str(data_dir / "keyring")
    report = status_json(copy, tmp_path, "--keyring", keyring)
    assert report["records"]["users"] >= 3
    settings = Settings(
        data_dir=copy,
        keyring_file=data_dir / "keyring",
        listen="127.0.0.1:0",
        metrics_listen="",
        audit_log=str(tmp_path / "audit.log"),
    )
    restored = start(settings)
    try:
        with TwoFactorClient(restored.addresses[0], timeout=10) as client:
            for user, secret in secrets.items():
                assert client.verify_code(T, user, next_code(secret)).accepted, user
    finally:
        restored.stop(0)
