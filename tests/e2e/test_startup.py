"""The `twofa` command as an operator runs it: real processes, real signals, real files.

Servers listen on a Unix socket in a private directory, so tests running in parallel
never compete for a port. Readiness is polled through the standard health check.
"""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import lmdb
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from twofa.v1 import twofa_pb2, twofa_pb2_grpc
from twofa_server.crypto import generate_keyring, load_keyring, write_keyring

from ..support.clock import WallClock
from ..support.enroll import enroll_app
from ..support.processes import (
    GRACE,
    SERVICE,
    Server,
    T,
    assert_refused,
    clean_env,
    connect,
    next_code,
    run_twofa,
    serving,
    stop,
    wait_until_refusing,
    wait_until_serving,
)

pytestmark = pytest.mark.slow

# --------------------------------------------------------------------------- keys generate


def test_keys_generate_writes_a_private_file_and_never_overwrites_silently(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "keyring"

    first = run_twofa("keys", "generate", str(path), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    original = path.read_bytes()
    load_keyring(path)  # a valid keyring

    again = run_twofa("keys", "generate", str(path), cwd=tmp_path)
    assert_refused(again, str(path), "already exists")
    assert path.read_bytes() == original

    forced = run_twofa("keys", "generate", "--force", str(path), cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert path.read_bytes() != original
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    load_keyring(path)


# --------------------------------------------------------------------------- refusals


def _not_json(keyring: Path) -> None:
    keyring.write_text("this is not JSON\n")


def _short_key(keyring: Path) -> None:
    doc = json.loads(keyring.read_text())
    doc["aead_keys"]["1"] = base64.b64encode(b"k" * 16).decode()
    keyring.write_text(json.dumps(doc))


def _world_readable(keyring: Path) -> None:
    keyring.chmod(0o644)


@pytest.mark.parametrize(
    ("spoil", "env", "fragments"),
    [
        (Path.unlink, {}, ("not found", "twofa keys generate")),
        (_not_json, {}, ("not valid JSON", "restore it from a backup")),
        (_short_key, {}, ("16 bytes, expected 32", "restore it from a backup")),
        (_world_readable, {}, ("readable by other users", "chmod 600")),
        (
            None,
            {"TWOFA_POLICY_ENFORCEMENT": "sometimes"},
            ("TWOFA_POLICY_ENFORCEMENT", "'sometimes'", "optional, required"),
        ),
    ],
    ids=["missing_keyring", "not_json", "wrong_key_length", "world_readable", "bad_config"],
)
def test_serve_refuses_to_start_with_one_line_saying_what_to_do(
    tmp_path: Path,
    data_dir: Path,
    socket_path: Path,
    spoil: object,
    env: dict[str, str],
    fragments: tuple[str, ...],
) -> None:
    keyring = data_dir / "keyring"
    if callable(spoil):
        spoil(keyring)
    result = run_twofa(
        "serve",
        *("--data-dir", str(data_dir), "--listen", "", "--unix-socket", str(socket_path)),
        cwd=tmp_path,
        env=clean_env(**env),
    )
    line = assert_refused(result, *fragments)
    if spoil is not None:
        assert str(keyring) in line
    assert not socket_path.exists()


def test_serve_refuses_a_keyring_that_does_not_match_the_store(
    tmp_path: Path, data_dir: Path, socket_path: Path
) -> None:
    # Once it has served, the store records keyring A's key check.
    with serving(tmp_path, data_dir, socket_path) as (server, _):
        stop(server)

    other = tmp_path / "other-keyring"
    write_keyring(other, generate_keyring())
    result = run_twofa(
        "serve",
        *("--data-dir", str(data_dir), "--keyring-file", str(other)),
        *("--listen", "", "--unix-socket", str(socket_path)),
        cwd=tmp_path,
    )
    assert_refused(
        result,
        str(other),
        f"does not open the store in {data_dir}",
        "start twofa with the keyring this store was created with",
    )


def test_plaintext_beyond_loopback_is_refused_at_start_up(tmp_path: Path, data_dir: Path) -> None:
    result = run_twofa(
        "serve", "--data-dir", str(data_dir), "--listen", "0.0.0.0:50051", cwd=tmp_path
    )
    line = assert_refused(result)
    assert line == (
        "twofa: listen=0.0.0.0:50051 is not a loopback address and TLS is not configured: "
        "set tls.cert_file and tls.key_file, or allow_insecure = true if a mesh or network "
        "policy protects it"
    )


# --------------------------------------------------------------------------- serving


def test_server_answers_health_reflection_and_calls_then_drains_on_sigterm(
    tmp_path: Path, data_dir: Path, socket_path: Path
) -> None:
    grace = "--grace-seconds", str(GRACE)
    with serving(tmp_path, data_dir, socket_path, *grace) as (server, client):
        assert client.health_check("")
        assert client.health_check(SERVICE)
        assert not client.health_check("no.such.Service")

        reflection = reflection_pb2_grpc.ServerReflectionStub(client.channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        answers = list(reflection.ServerReflectionInfo(iter([request]), timeout=10))
        listed = {service.name for service in answers[0].list_services_response.service}
        assert {SERVICE, "grpc.health.v1.Health"} <= listed

        secret = enroll_app(client, WallClock(), T, "alice", advance=0).secret
        assert client.verify_code(T, "alice", next_code(secret)).accepted

        stop(server)
        server.wait_for_line("received SIGTERM: draining")
        server.wait_for_line("twofa stopped")
        assert "Traceback" not in server.stderr


def test_a_call_in_flight_at_sigterm_still_completes(
    tmp_path: Path, data_dir: Path, socket_path: Path
) -> None:
    """Holding the store's write lock from here keeps a call on the server while it drains."""
    grace = "--grace-seconds", str(GRACE)
    with serving(tmp_path, data_dir, socket_path, *grace) as (server, client):
        stub = twofa_pb2_grpc.TwoFactorServiceStub(client.channel)
        env = lmdb.open(str(data_dir), map_size=1024 * 1024 * 1024, max_dbs=32, subdir=True)
        try:
            txn = env.begin(write=True)  # the server's next write waits for this lock
            try:
                pending = stub.BeginAuthenticatorSetup.future(
                    twofa_pb2.BeginAuthenticatorSetupRequest(tenant_id=T, user_id="bob"),
                    timeout=30,
                )
                # One connection delivers calls in order: once this later call is answered,
                # the server has taken the setup call, which is now waiting for the lock.
                assert client.health_check()
                server.sigterm()
                server.wait_for_line("received SIGTERM: draining")
                wait_until_refusing(client)  # draining: new calls are turned away
                assert not pending.done()
            finally:
                txn.abort()
            answer = pending.result(timeout=10)
        finally:
            env.close()
        assert answer.secret
        assert answer.otpauth_uri.startswith("otpauth://totp/")
        assert server.wait(GRACE) == 0, server.stderr
        server.wait_for_line("twofa stopped")


def test_settings_from_file_env_and_flags_take_effect(
    tmp_path: Path, data_dir: Path, socket_path: Path
) -> None:
    config = tmp_path / "twofa.toml"
    config.write_text(
        f"data_dir = {json.dumps(str(data_dir))}\n"
        f'listen = ""\n'
        f"unix_socket = {json.dumps(str(socket_path))}\n"
        'issuer = "FileIssuer"\n'
        "[policy]\n"
        "max_attempts = 3\n"
        "lockout_seconds = 600\n"
        "trusted_device_days = 60\n"
    )
    env = clean_env(
        TWOFA_ISSUER="EnvIssuer",
        TWOFA_POLICY_LOCKOUT_SECONDS="120",
        TWOFA_POLICY_TRUSTED_DEVICE_DAYS="30",
    )
    args = ["--config", str(config), "--policy-trusted-device-days", "7"]
    with Server(args, cwd=tmp_path, env=env) as server, connect(socket_path) as client:
        wait_until_serving(client, server)

        uri = client.begin_authenticator_setup(T, "carol").otpauth_uri
        assert uri.startswith("otpauth://totp/EnvIssuer:carol?"), uri
        assert "issuer=EnvIssuer" in uri
        assert "FileIssuer" not in uri

        info = client.get_policy(T)
        assert info.is_default
        assert info.policy.max_attempts == 3  # file
        assert info.policy.lockout_seconds == 120  # env over file
        assert info.policy.trusted_device_days == 7  # flag over env over file
        stop(server)


def test_a_restart_after_a_clean_stop_reuses_the_store(
    tmp_path: Path, data_dir: Path, socket_path: Path
) -> None:
    with serving(tmp_path, data_dir, socket_path) as (server, client):
        secret = enroll_app(client, WallClock(), T, "dave", advance=0).secret
        stop(server)

    with serving(tmp_path, data_dir, socket_path) as (server, client):
        status = client.get_user_status(T, "dave")
        assert status.enabled_methods
        assert client.verify_code(T, "dave", next_code(secret)).accepted
        stop(server)
