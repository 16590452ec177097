"""Operations as the operator runs them: `twofa keys rotate|drop`, `twofa backup`, `twofa status`.

Real processes, next to a store prepared in this process or a real `twofa serve`;
the re-seal machinery itself is driven step by step in store/test_reseal.py.
"""

from __future__ import annotations

import json
import re
import signal
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from twofa_client import Frequency, Method, TwoFactorClient
from twofa_server.app import start
from twofa_server.config import Settings
from twofa_server.crypto import load_keyring, write_keyring

from ..support.clock import WallClock
from ..support.enroll import enroll_app
from ..support.metrics import scrape
from ..support.processes import (
    Server,
    T,
    assert_refused,
    next_code,
    run_twofa,
    serving,
    stop,
)
from ..support.sealed_store import USERS, Prepared, watcher_for
from ..support.waiting import wait_until

WAIT = 20.0  # bounded waits for the running server to reload and re-seal


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
    return {
        name: sample
        for (name, _), sample in scrape(server.metrics_address()).items()
        if name.startswith("twofa_keyring_")
    }


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

    wait_until(seen, f"a code mailed to {address}", timeout=WAIT)
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
    with serving(tmp_path, data_dir, socket_path, *metrics) as (server, client):
        for i in range(6):
            secrets[f"user{i}"] = enroll_app(client, WallClock(), T, f"user{i}", advance=0).secret
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
            wait_until(
                lambda: status_json(data_dir, tmp_path)["not_under_primary"] == 0,
                "every record re-sealed under key 2",
                timeout=WAIT,
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
    with serving(tmp_path, data_dir, socket_path) as (server, client):
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
    with serving(tmp_path, data_dir, socket_path) as (server, client):
        for i in range(3):
            secrets[f"user{i}"] = enroll_app(client, WallClock(), T, f"user{i}", advance=0).secret
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
