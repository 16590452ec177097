"""`twofa health` and `twofa user status|unlock|disable|delete`, run as processes against a real
server: the help desk's commands and the probe's, over TCP, a Unix socket, TLS, mutual TLS
and a bearer token. Every change they make is the RPC's, so it is audited like one."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from twofa_client import TwoFactorClient
from twofa_server.api.transport import AuthSettings, TlsSettings
from twofa_server.app import Application
from twofa_server.config import Settings

from ..support.clock import FixedClock
from ..support.enroll import enroll_app
from ..support.net import free_port
from ..support.pki import CertificateAuthority, Issued
from ..support.processes import assert_refused, clean_env, run_twofa, twofa_command
from ..support.stores import running
from ..support.totp import wrong_code

T, U = "acme", "alice"
TOKEN = "9d2c4e6a8b0f1d3c5e7a9b1d3f5a7c9e"
FAILS_FAST = "3"


def twofa(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = run_twofa(*args, cwd=cwd, env=env)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def failed(result: subprocess.CompletedProcess[str], status: int, *fragments: str) -> str:
    return assert_refused(result, *fragments, status=status)


def audit_events(settings: Settings) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(settings.audit_log).read_text().splitlines()]


def lock_out(client: TwoFactorClient, secret: str, clock: FixedClock) -> None:
    for _ in range(5):
        client.verify_code(T, U, wrong_code(secret, clock.now()))


# =========================================================================== twofa health


def test_health_says_serving_for_the_server_and_its_service(
    app: Application, tmp_path: Path
) -> None:
    address = app.addresses[0]
    whole = twofa("health", "--address", address, cwd=tmp_path)
    assert whole.returncode == 0 and whole.stdout == f"twofa: {address} is SERVING\n"
    service = "twofa.v1.TwoFactorService"
    one = twofa("health", "--address", address, "--service", service, cwd=tmp_path)
    assert one.returncode == 0, one.stderr
    unknown = twofa("health", "--address", address, "--service", "no.Such", cwd=tmp_path)
    failed(unknown, 1, address, "no.Such", "NOT_FOUND")


def test_health_of_nothing_listening_is_one_line_and_exit_1(tmp_path: Path) -> None:
    port = free_port()
    result = twofa(
        "health", "--address", f"127.0.0.1:{port}", "--timeout", FAILS_FAST, cwd=tmp_path
    )
    failed(result, 1, f"127.0.0.1:{port}", "UNAVAILABLE")
    socket = tmp_path / "nothing.sock"
    failed(twofa("health", "--address", f"unix:{socket}", cwd=tmp_path), 1, "UNAVAILABLE")


@pytest.mark.parametrize("port", ["0", "65536", "99999"])
def test_a_port_out_of_range_is_refused_not_dialled_modulo_65536(tmp_path: Path, port: str) -> None:
    for command in (["health"], ["user", "status", T, U]):
        result = twofa(*command, "--address", f"127.0.0.1:{port}", cwd=tmp_path)
        failed(result, 2, f"127.0.0.1:{port}", "the port must be 1-65535")


def test_health_wait_returns_once_a_server_starting_later_serves(
    settings: Settings, clock: FixedClock, tmp_path: Path, socket_path: Path
) -> None:
    waiting = subprocess.Popen(
        [*twofa_command(), "health", "--address", f"unix:{socket_path}", "--wait", "60"],
        cwd=tmp_path,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with running(replace(settings, unix_socket=str(socket_path)), clock):
            out, err = waiting.communicate(timeout=60)
    finally:
        waiting.kill()
    assert waiting.returncode == 0, err
    assert out == f"twofa: unix:{socket_path} is SERVING\n"


def test_without_address_the_commands_find_the_server_in_its_configuration(
    settings: Settings, clock: FixedClock, tmp_path: Path, socket_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    token_file.chmod(0o600)
    served = replace(
        settings,
        unix_socket=str(socket_path),
        health_listen="0.0.0.0:0",  # a wildcard is asked on this host's loopback
        auth=AuthSettings(token_file),
    )
    with running(served, clock) as app:
        _, _, health_port = app.health_address.rpartition(":")
        env = clean_env(
            TWOFA_LISTEN=app.addresses[0],
            TWOFA_UNIX_SOCKET=str(socket_path),
            TWOFA_HEALTH_LISTEN=f"0.0.0.0:{health_port}",
            TWOFA_AUTH_TOKEN_FILE=str(token_file),
        )
        health = twofa("health", cwd=tmp_path, env=env)
        assert health.stdout == f"twofa: 127.0.0.1:{health_port} is SERVING\n", health.stderr
        # The help desk on the server's host: its socket, with its token.
        status = twofa("user", "status", T, U, "--json", cwd=tmp_path, env=env)
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["enrolled"] is False
    config = tmp_path / "twofa.toml"
    config.write_text('listen = "127.0.0.1:50051"\nmap_size_mb = "many"\n')
    refused = twofa("health", "--config", str(config), cwd=tmp_path)
    failed(refused, 2, "map_size_mb", "--address")


# =========================================================================== TLS, mTLS, token


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("remote-pki")
    server_ca, client_ca = CertificateAuthority("server CA"), CertificateAuthority("client CA")
    cert_file, key_file = server_ca.issue("localhost").write(directory, "server")
    client: Issued = client_ca.issue("help desk", client=True)
    client_cert, client_key = client.write(directory, "client")
    return {
        "ca": server_ca.write(directory / "server-ca.pem"),
        "cert": cert_file,
        "key": key_file,
        "client_ca": client_ca.write(directory / "client-ca.pem"),
        "client_cert": client_cert,
        "client_key": client_key,
    }


def test_tls_and_mutual_tls_with_the_clients_options(
    settings: Settings, clock: FixedClock, pki: dict[str, Path], tmp_path: Path
) -> None:
    tls = TlsSettings(pki["cert"], pki["key"], pki["client_ca"])
    with running(replace(settings, tls=tls), clock) as app:
        port = app.addresses[0].rpartition(":")[2]
        trust = ("--ca-file", str(pki["ca"]))
        identity = ("--cert-file", str(pki["client_cert"]), "--key-file", str(pki["client_key"]))
        at = ("--address", f"localhost:{port}", "--timeout", FAILS_FAST)
        ok = twofa("user", "status", T, U, *at, *trust, *identity, cwd=tmp_path)
        assert ok.returncode == 0 and "2FA               off" in ok.stdout, ok.stderr
        # The address's name is not the certificate's: --server-name says which it holds.
        named = ("--address", f"127.0.0.1:{port}", "--server-name", "localhost")
        assert twofa("health", *named, *trust, *identity, cwd=tmp_path).returncode == 0
        failed(twofa("health", *at, *trust, cwd=tmp_path), 1, "UNAVAILABLE")  # no certificate
        failed(twofa("health", *at, cwd=tmp_path), 1, "UNAVAILABLE")  # plaintext
        failed(
            twofa("health", *at, "--cert-file", str(pki["client_cert"]), cwd=tmp_path),
            2,
            "--cert-file needs --key-file",
        )
        failed(
            twofa("health", *at, "--ca-file", str(tmp_path / "missing.pem"), cwd=tmp_path),
            2,
            "--ca-file",
            "not found",
        )


def test_the_bearer_token_comes_from_a_file_and_is_never_printed(
    settings: Settings, clock: FixedClock, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    with running(replace(settings, auth=AuthSettings(token_file)), clock) as app:
        at = ("--address", app.addresses[0])
        anonymous = twofa("user", "status", T, U, *at, cwd=tmp_path)
        failed(anonymous, 1, "UNAUTHENTICATED")
        assert twofa("health", *at, cwd=tmp_path).returncode == 0  # probes carry no token
        status = twofa("user", "status", T, U, *at, "--token-file", str(token_file), cwd=tmp_path)
        assert status.returncode == 0, status.stderr
        token_file.chmod(0o644)
        too_open = twofa("user", "unlock", T, U, *at, "--token-file", str(token_file), cwd=tmp_path)
        failed(too_open, 2, "--token-file", "readable by other users")
        for result in (anonymous, status, too_open):
            assert TOKEN not in result.stdout + result.stderr


# =========================================================================== twofa user


def test_status_unlock_disable_and_delete_a_user_as_the_help_desk(
    app: Application, client: TwoFactorClient, clock: FixedClock, settings: Settings, tmp_path: Path
) -> None:
    at = ("--address", app.addresses[0])
    enrolled = enroll_app(client, clock, T, U, advance=30)
    lock_out(client, enrolled.secret, clock)

    text = twofa("user", "status", T, U, *at, cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    assert "user              'alice' of tenant 'acme'" in text.stdout
    assert "2FA               on" in text.stdout
    assert "authenticator_app enabled since 20" in text.stdout
    assert "backup codes      10 left" in text.stdout
    assert "locked            until 20" in text.stdout
    report = json.loads(twofa("user", "status", T, U, *at, "--json", cwd=tmp_path).stdout)
    assert report["enrolled"] is True and report["locked_until"].endswith("Z")
    assert report["methods"][0]["method"] == "authenticator_app"
    assert report["methods"][0]["state"] == "enabled"
    assert report["failed_attempts"] == 5 and report["backup_codes_remaining"] == 10

    unlocked = twofa("user", "unlock", T, U, *at, cwd=tmp_path)
    assert unlocked.stdout.startswith("twofa: unlocked user 'alice' of tenant 'acme'")
    again = twofa("user", "unlock", T, U, *at, "--json", cwd=tmp_path)
    assert json.loads(again.stdout) == {"tenant": T, "user": U, "changed": False}
    assert client.get_user_status(T, U).locked_until is None

    off = twofa("user", "disable", T, U, "authenticator_app", *at, cwd=tmp_path)
    assert off.returncode == 0, off.stderr
    assert "turned authenticator_app off" in off.stdout and "still on: none" in off.stdout
    already = twofa("user", "disable", T, U, "email", *at, "--json", cwd=tmp_path)
    assert json.loads(already.stdout)["changed"] is False
    assert not client.get_user_status(T, U).enrolled

    events = [(e["event"], e["tenant"], e["user"]) for e in audit_events(settings)]
    assert ("unlock", T, U) in events and ("method_disabled", T, U) in events
    for result in (text, unlocked, off):
        for code in enrolled.backup_codes:
            assert code not in result.stdout + result.stderr
        assert enrolled.secret not in result.stdout + result.stderr


def test_delete_asks_first_and_yes_skips_the_question(
    app: Application, client: TwoFactorClient, clock: FixedClock, settings: Settings, tmp_path: Path
) -> None:
    at = ("--address", app.addresses[0])
    enroll_app(client, clock, T, U, advance=0)
    delete = [*twofa_command(), "user", "delete", T, U, *at]

    def answered(answer: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            delete, input=answer, capture_output=True, text=True, timeout=30, env=clean_env()
        )

    declined = answered("no\n")
    assert "Delete every 2FA record of user 'alice' of tenant 'acme'" in declined.stderr
    assert "methods on: authenticator_app, 10 backup codes" in declined.stderr
    assert (
        declined.returncode == 2
        and "nothing deleted (answer yes, or pass --yes)" in declined.stderr
    )
    assert answered("").returncode == 2  # no terminal, no answer: nothing happens
    assert client.get_user_status(T, U).enrolled

    confirmed = answered("yes\n")
    assert confirmed.returncode == 0 and "deleted every record" in confirmed.stdout
    assert not client.get_user_status(T, U).enrolled
    gone = twofa("user", "delete", T, U, *at, "--yes", "--json", cwd=tmp_path)
    assert json.loads(gone.stdout) == {"tenant": T, "user": U, "deleted": False}
    assert [e["event"] for e in audit_events(settings)].count("user_deleted") >= 1


def test_a_refused_call_is_one_line_naming_the_field(app: Application, tmp_path: Path) -> None:
    result = twofa("user", "status", "", U, "--address", app.addresses[0], cwd=tmp_path)
    failed(result, 1, "INVALID_ARGUMENT", "tenant_id")
    unknown_method = twofa("user", "disable", T, U, "sms", cwd=tmp_path)
    assert unknown_method.returncode == 2 and "invalid choice: 'sms'" in unknown_method.stderr
