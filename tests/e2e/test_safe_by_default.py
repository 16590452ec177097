"""Safe by default where twofa really runs (issue 12), as an operator meets it: real processes.

Kubernetes service links do not stop twofa; a lost store stops it instead of turning
2FA off; bytes that are not a request are INVALID_ARGUMENT, counted and logged once;
a damaged LMDB file is one line, never a crash; the store's files are private whatever
the umask.
"""

from __future__ import annotations

import random
import stat
from pathlib import Path

import grpc
import lmdb
import pytest
from google.protobuf.message import DecodeError

from twofa.v1 import twofa_pb2 as pb
from twofa_server.crypto import generate_keyring, write_keyring

from ..support.clock import WallClock
from ..support.enroll import enroll_app
from ..support.metrics import scrape, value
from ..support.processes import (
    T,
    assert_refused,
    clean_env,
    next_code,
    run_twofa,
    serving,
    stop,
)
from ..support.stores import new_data_dir

pytestmark = pytest.mark.slow


def serve_once(tmp_path: Path, data_dir: Path, socket_path: Path, *extra: str) -> str:
    """`twofa serve` that must refuse to start: its one line (and no socket was made)."""
    result = run_twofa(
        "serve",
        *("--data-dir", str(data_dir), "--listen", "", "--unix-socket", str(socket_path)),
        *extra,
        cwd=tmp_path,
    )
    line = assert_refused(result)
    assert not socket_path.exists()
    return line


# --- 1. Kubernetes service links ------------------------------------------------------------

# What Kubernetes puts into every pod of a namespace holding a Service named "twofa" with a
# port named "grpc" (enableServiceLinks defaults to true).
SERVICE_LINKS = {
    "TWOFA_SERVICE_HOST": "10.96.12.34",
    "TWOFA_SERVICE_PORT": "50051",
    "TWOFA_SERVICE_PORT_GRPC": "50051",
    "TWOFA_PORT": "tcp://10.96.12.34:50051",
    "TWOFA_PORT_50051_TCP": "tcp://10.96.12.34:50051",
    "TWOFA_PORT_50051_TCP_PROTO": "tcp",
    "TWOFA_PORT_50051_TCP_PORT": "50051",
    "TWOFA_PORT_50051_TCP_ADDR": "10.96.12.34",
}


def test_kubernetes_service_link_variables_do_not_stop_serve_or_status(
    tmp_path: Path, data_dir: Path, socket_path: Path
) -> None:
    env = clean_env(**SERVICE_LINKS)
    with serving(tmp_path, data_dir, socket_path, env=env) as (server, client):
        assert client.health_check()
        stop(server)
    assert "TWOFA_" not in server.stderr

    status = run_twofa("status", "--data-dir", str(data_dir), cwd=tmp_path, env=env)
    assert status.returncode == 0, status.stderr
    assert status.stderr == ""


@pytest.mark.parametrize("command", ["serve", "status"])
def test_a_mistyped_twofa_variable_still_stops_twofa_with_a_suggestion(
    tmp_path: Path, data_dir: Path, socket_path: Path, command: str
) -> None:
    env = clean_env(**SERVICE_LINKS, TWOFA_LISTN="127.0.0.1:50051")
    args = ["--data-dir", str(data_dir)]
    if command == "serve":
        args += ["--listen", "", "--unix-socket", str(socket_path)]
    line = assert_refused(
        run_twofa(command, *args, cwd=tmp_path, env=env),
        "unknown environment variable TWOFA_LISTN; did you mean TWOFA_LISTEN?",
    )
    assert "SERVICE" not in line.split("(known:")[0]
    assert not socket_path.exists()


# --- 2. a lost store never turns 2FA off -----------------------------------------------------

LOST = ("holds no twofa store", "run 'twofa store init' (once)", "restore it from a backup")


def test_serve_refuses_a_missing_data_directory(tmp_path: Path, socket_path: Path) -> None:
    keyring = tmp_path / "keyring"  # kept apart from the store, as a volume would be
    write_keyring(keyring, generate_keyring())
    missing = tmp_path / "volume" / "data"
    line = serve_once(tmp_path, missing, socket_path, "--keyring-file", str(keyring))
    assert all(fragment in line for fragment in (*LOST, str(missing)))
    assert not missing.exists()  # nothing was created


def test_serve_refuses_a_keyring_without_a_store(tmp_path: Path, socket_path: Path) -> None:
    data_dir = new_data_dir(tmp_path / "data", with_store=False)
    line = serve_once(tmp_path, data_dir, socket_path)
    assert all(fragment in line for fragment in LOST)
    assert sorted(p.name for p in data_dir.iterdir()) == ["keyring"]


def test_serve_refuses_an_lmdb_store_without_the_keyring_probe(
    tmp_path: Path, socket_path: Path
) -> None:
    data_dir = new_data_dir(tmp_path / "data", with_store=False)
    lmdb.open(str(data_dir), max_dbs=8).close()  # an empty LMDB environment
    assert (data_dir / "data.mdb").exists()
    line = serve_once(tmp_path, data_dir, socket_path)
    assert all(fragment in line for fragment in LOST)


def test_store_init_makes_a_store_once_then_serve_works(tmp_path: Path, socket_path: Path) -> None:
    data_dir = new_data_dir(tmp_path / "data", with_store=False)
    init = run_twofa("store", "init", "--data-dir", str(data_dir), cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    assert "is ready" in init.stdout
    again = run_twofa("store", "init", "--data-dir", str(data_dir), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().endswith(
        "already holds a twofa store of this keyring: nothing to do"
    )
    with serving(tmp_path, data_dir, socket_path) as (server, client):
        assert client.health_check()
        stop(server)


def test_a_user_enrolled_before_the_store_was_lost_is_never_told_2fa_is_off(
    tmp_path: Path, data_dir: Path, socket_path: Path
) -> None:
    with serving(tmp_path, data_dir, socket_path) as (server, client):
        enroll_app(client, WallClock(), T, "alice", advance=0)
        assert client.get_user_status(T, "alice").enrolled
        stop(server)
    for lost in ("data.mdb", "lock.mdb"):  # the volume came back empty; the keyring did not
        (data_dir / lost).unlink()

    # No server starts, so nothing can answer GetUserStatus or EvaluateLogin with "no 2FA".
    line = serve_once(tmp_path, data_dir, socket_path)
    assert all(fragment in line for fragment in LOST)
    assert not (data_dir / "data.mdb").exists()


# --- 3. bytes that are not a request ---------------------------------------------------------


def not_a_message(
    data: bytes, message: type[pb.VerifyCodeRequest] | type[pb.BeginEmailSetupRequest]
) -> bytes:
    """`data`, checked not to parse as `message` (else the test would prove nothing)."""
    with pytest.raises((DecodeError, UnicodeDecodeError)):
        message.FromString(data)
    return data


MALFORMED = {
    "bad-utf8": b"\x0a\x04acme\x12\x03\xff\xfe\xfd\x1a\x06123456",  # user_id is not UTF-8
    "truncated": b"\x0a\x04acme\x12\x40alice",  # user_id says 64 bytes, 5 follow
    "random": random.Random(12).randbytes(48),
}


def test_unparsable_requests_are_invalid_argument_counted_and_logged_once(
    tmp_path: Path, data_dir: Path, socket_path: Path
) -> None:
    metrics = ("--metrics-listen", "127.0.0.1:0")
    with serving(tmp_path, data_dir, socket_path, *metrics) as (server, client):
        address = server.metrics_address()
        rpcs = {
            "VerifyCode": pb.VerifyCodeRequest,
            "BeginEmailSetup": pb.BeginEmailSetupRequest,
        }
        sent = 0
        for rpc, message in rpcs.items():
            call = client.channel.unary_unary(
                f"/twofa.v1.TwoFactorService/{rpc}",
                request_serializer=None,
                response_deserializer=None,
            )
            for data in MALFORMED.values():
                not_a_message(data, message)
                for _ in range(10):
                    with pytest.raises(grpc.RpcError) as refused:
                        call(data, timeout=10)
                    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
                    assert refused.value.details() == (
                        "invalid request: the bytes are not a valid request message"
                    )
                    sent += 1
        series = scrape(address)
        for rpc in rpcs:
            handled = value(
                series,
                "grpc_server_handled_total",
                grpc_type="unary",
                grpc_service="twofa.v1.TwoFactorService",
                grpc_method=rpc,
                grpc_code="InvalidArgument",
            )
            assert handled == sent / len(rpcs)
        # Still serving well-formed calls.
        assert not client.get_user_status(T, "alice").enrolled
        stop(server)
    warnings = [line for line in server.stderr.splitlines() if "malformed" in line]
    assert len(warnings) == 1, server.stderr
    assert " WARNING " in warnings[0]
    assert "Traceback" not in server.stderr and "Exception" not in server.stderr


# --- 4. a damaged store is one line, never a crash ------------------------------------------


def truncate(data_file: Path) -> None:
    with data_file.open("r+b") as file:
        file.truncate(8 * 1024)


def zero_meta_pages(data_file: Path) -> None:
    with data_file.open("r+b") as file:
        file.write(bytes(2 * 4096))


@pytest.mark.parametrize(
    ("damage", "says"),
    [(truncate, "was cut short"), (zero_meta_pages, "neither of its meta pages is readable")],
    ids=["truncated-to-8-KiB", "meta-pages-zeroed"],
)
def test_a_damaged_data_file_stops_serve_and_status_with_one_line(
    tmp_path: Path, data_dir: Path, socket_path: Path, damage: object, says: str
) -> None:
    data_file = data_dir / "data.mdb"
    assert data_file.stat().st_size > 8 * 1024
    assert callable(damage)
    damage(data_file)
    line = serve_once(tmp_path, data_dir, socket_path)
    assert all(fragment in line for fragment in (str(data_file), says, "restore"))
    status = run_twofa("status", "--data-dir", str(data_dir), cwd=tmp_path)
    assert_refused(status, str(data_file), says)
    assert "Traceback" not in status.stderr


# --- 5. private files whatever the umask ----------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_store_init_serve_and_backup_keep_files_private_under_umask_0(
    tmp_path: Path, socket_path: Path
) -> None:
    keyring = tmp_path / "keyring"
    write_keyring(keyring, generate_keyring())
    data_dir = tmp_path / "data"
    with_keyring = ("--keyring-file", str(keyring))
    init = run_twofa(
        "store", "init", "--data-dir", str(data_dir), *with_keyring, cwd=tmp_path, umask=0
    )
    assert init.returncode == 0, init.stderr
    files = {"data.mdb": 0o600, "lock.mdb": 0o600}
    assert (mode(data_dir), {name: mode(data_dir / name) for name in files}) == (0o700, files)

    (data_dir / "lock.mdb").unlink()  # made again by the server, under its umask
    with serving(tmp_path, data_dir, socket_path, *with_keyring, umask=0) as (server, client):
        secret = enroll_app(client, WallClock(), T, "alice", advance=0).secret
        assert client.verify_code(T, "alice", next_code(secret)).accepted
        assert mode(data_dir) == 0o700
        assert {name: mode(data_dir / name) for name in files} == files

        copy = tmp_path / "backups" / "today"
        backup = run_twofa("backup", str(copy), "--data-dir", str(data_dir), cwd=tmp_path, umask=0)
        assert backup.returncode == 0, backup.stderr
        assert (mode(copy), mode(copy / "data.mdb")) == (0o700, 0o600)
        stop(server)
