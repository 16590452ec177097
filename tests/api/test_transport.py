"""Transport security with real servers: TLS, mutual TLS, the bearer token, the loopback
rule, the health-only port and the Unix socket's mode."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, replace
from pathlib import Path

import grpc
import pytest

from twofa_client import NotImplementedByServer, TwoFactorClient, TwoFactorError, Unauthenticated
from twofa_server.api.interceptors.bearer_token import MESSAGE
from twofa_server.api.transport import AuthSettings, TlsSettings, is_loopback
from twofa_server.app import Application, StartupError, start
from twofa_server.config import Settings, load_settings

from ..support.clock import FixedClock
from ..support.pki import CertificateAuthority, Issued
from ..support.stores import another_instance, running

T = "acme"
TOKEN = "2f1c0b8e6d4a3f5e7c9b1a0d8e6f4c2a"
FAILS_FAST = 3.0  # seconds: refused connections fail at once; this only bounds a hang


@dataclass(frozen=True)
class Certificates:
    server_ca: bytes
    cert_file: Path
    key_file: Path
    client_ca_file: Path
    client: Issued  # signed by the client CA
    stranger: Issued  # a client certificate from another CA


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    directory = tmp_path_factory.mktemp("transport-pki")
    server_ca = CertificateAuthority("twofa server CA")
    cert_file, key_file = server_ca.issue("localhost").write(directory, "server")
    client_ca = CertificateAuthority("twofa client CA")
    return Certificates(
        server_ca=server_ca.cert_pem,
        cert_file=cert_file,
        key_file=key_file,
        client_ca_file=client_ca.write(directory / "client-ca.pem"),
        client=client_ca.issue("the application", client=True),
        stranger=CertificateAuthority("another CA").issue("a stranger", client=True),
    )


def with_tls(settings: Settings, certs: Certificates, *, mutual: bool = False) -> Settings:
    client_ca = certs.client_ca_file if mutual else None
    return replace(settings, tls=TlsSettings(certs.cert_file, certs.key_file, client_ca))


def write_token(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def port_of(app: Application) -> str:
    return app.addresses[0].rpartition(":")[2]


def tls_client(
    app: Application, certs: Certificates, identity: Issued | None = None
) -> TwoFactorClient:
    credentials = grpc.ssl_channel_credentials(
        root_certificates=certs.server_ca,
        private_key=identity.key_pem if identity else None,
        certificate_chain=identity.cert_pem if identity else None,
    )
    # The certificate names localhost, the name dialled.
    return TwoFactorClient(f"localhost:{port_of(app)}", timeout=FAILS_FAST, credentials=credentials)


def serves(client: TwoFactorClient) -> bool:
    with client:
        return client.get_user_status(T, "alice").enrolled is False


def refused_code(client: TwoFactorClient) -> grpc.StatusCode:
    with client, pytest.raises(TwoFactorError) as refused:
        client.get_user_status(T, "alice")
    return refused.value.code


# --------------------------------------------------------------------------- TLS and mTLS


def test_tls_serves_a_client_that_trusts_the_ca_and_refuses_plaintext(
    settings: Settings, clock: FixedClock, certs: Certificates
) -> None:
    with running(with_tls(settings, certs), clock) as app:
        assert serves(tls_client(app, certs))
        plaintext = TwoFactorClient(app.addresses[0], timeout=FAILS_FAST)
        assert refused_code(plaintext) == grpc.StatusCode.UNAVAILABLE
        untrusting = TwoFactorClient(
            f"localhost:{port_of(app)}",
            timeout=FAILS_FAST,
            credentials=grpc.ssl_channel_credentials(CertificateAuthority().cert_pem),
        )
        assert refused_code(untrusting) == grpc.StatusCode.UNAVAILABLE


def test_mutual_tls_serves_only_clients_with_a_certificate_from_the_client_ca(
    settings: Settings, clock: FixedClock, certs: Certificates
) -> None:
    with running(with_tls(settings, certs, mutual=True), clock) as app:
        assert serves(tls_client(app, certs, certs.client))
        assert refused_code(tls_client(app, certs)) == grpc.StatusCode.UNAVAILABLE
        assert refused_code(tls_client(app, certs, certs.stranger)) == grpc.StatusCode.UNAVAILABLE


def test_the_unix_socket_stays_plaintext_with_mode_0660(
    settings: Settings, clock: FixedClock, certs: Certificates, socket_path: Path
) -> None:
    tls = replace(with_tls(settings, certs), unix_socket=str(socket_path))
    with running(tls, clock) as app:
        assert stat.S_IMODE(os.stat(socket_path).st_mode) == 0o660
        assert serves(TwoFactorClient(f"unix://{socket_path}", timeout=FAILS_FAST))
        assert serves(tls_client(app, certs))


@pytest.mark.parametrize(
    ("cert", "key", "client_ca", "fragments"),
    [
        (None, "key", None, ("tls.key_file", "without tls.cert_file")),
        ("cert", None, None, ("tls.cert_file", "without tls.key_file")),
        (None, None, "client_ca", ("tls.client_ca_file", "without tls.cert_file")),
        ("missing", "key", None, ("tls.cert_file", "missing.pem", "not found")),
        ("cert", "missing", None, ("tls.key_file", "missing.pem", "not found")),
        ("cert", "cert", None, ("tls.key_file", "server.pem", "does not hold a PEM private key")),
        ("cert", "other_key", None, ("tls.cert_file", "tls.key_file", "cannot be used together")),
        ("cert", "key", "key", ("tls.client_ca_file", "server.key")),
    ],
)
def test_unusable_tls_files_stop_start_up_with_one_line(
    settings: Settings,
    certs: Certificates,
    tmp_path: Path,
    cert: str | None,
    key: str | None,
    client_ca: str | None,
    fragments: tuple[str, ...],
) -> None:
    _, other_key = CertificateAuthority().issue("other").write(tmp_path, "other")
    files = {
        "cert": certs.cert_file,
        "key": certs.key_file,
        "client_ca": certs.client_ca_file,
        "missing": tmp_path / "missing.pem",
        "other_key": other_key,
    }
    tls = TlsSettings(*(files[name] if name else None for name in (cert, key, client_ca)))
    with pytest.raises(StartupError) as refused:
        start(replace(settings, tls=tls))
    message = str(refused.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


# --------------------------------------------------------------------------- bearer token


def test_the_bearer_token_is_required_on_every_call_but_health_checks(
    settings: Settings, clock: FixedClock, tmp_path: Path
) -> None:
    token_file = write_token(tmp_path / "token", TOKEN + "\n")  # one trailing newline is dropped
    guarded = replace(settings, auth=AuthSettings(token_file))
    with running(guarded, clock) as app:
        address = app.addresses[0]
        with TwoFactorClient(address, timeout=FAILS_FAST) as anonymous:
            assert anonymous.health_check()  # probes carry no token
            with pytest.raises(Unauthenticated) as missing:
                anonymous.get_user_status(T, "alice")
        assert missing.value.code == grpc.StatusCode.UNAUTHENTICATED
        assert MESSAGE in str(missing.value)

        wrong_token = "wrong-" + TOKEN
        wrong = TwoFactorClient(address, timeout=FAILS_FAST, token=wrong_token)
        with wrong, pytest.raises(Unauthenticated) as invalid:
            wrong.get_user_status(T, "alice")
        assert MESSAGE in str(invalid.value)
        assert wrong_token not in str(invalid.value)

        assert serves(TwoFactorClient(address, timeout=FAILS_FAST, token=TOKEN))

        # Streaming and unknown methods are refused the same way, before anything runs.
        with grpc.insecure_channel(address) as channel:
            watch = channel.unary_stream("/grpc.health.v1.Health/Watch", None, None)
            with pytest.raises(grpc.RpcError) as watch_refused:
                next(iter(watch(b"", timeout=FAILS_FAST)))
            unknown = channel.unary_unary("/twofa.v1.TwoFactorService/NoSuchMethod", None, None)
            with pytest.raises(grpc.RpcError) as unknown_refused:
                unknown(b"", timeout=FAILS_FAST)
        for refused in (watch_refused.value, unknown_refused.value):
            assert refused.code() == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize(
    ("text", "mode", "fragment"),
    [
        (TOKEN, 0o644, "readable by other users"),
        ("", 0o600, "is empty"),
        ("\n", 0o600, "is empty"),
        ("short\n", 0o600, "at least 16"),
        (TOKEN + " " + TOKEN, 0o600, "printable ASCII without spaces"),
        (TOKEN + "\n" + TOKEN, 0o600, "more than one line"),
    ],
)
def test_an_unusable_token_file_stops_start_up_with_one_line(
    settings: Settings, tmp_path: Path, text: str, mode: int, fragment: str
) -> None:
    token_file = write_token(tmp_path / "token", text, mode)
    with pytest.raises(StartupError) as refused:
        start(replace(settings, auth=AuthSettings(token_file)))
    message = str(refused.value)
    assert "\n" not in message and "auth.token_file" in message and fragment in message
    assert TOKEN not in message


def test_a_missing_token_file_stops_start_up(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(StartupError, match=r"auth\.token_file .*nothing.* not found"):
        start(replace(settings, auth=AuthSettings(tmp_path / "nothing")))


# --------------------------------------------------------------------------- loopback rule


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("127.0.0.1:50051", True),
        ("127.1.2.3:50051", True),
        ("[::1]:50051", True),
        ("localhost:50051", True),
        ("unix:/run/twofa/api.sock", True),
        ("0.0.0.0:50051", False),
        ("[::]:50051", False),
        ("10.0.0.7:50051", False),
        ("twofa.internal:50051", False),
    ],
)
def test_which_addresses_are_loopback(address: str, loopback: bool) -> None:
    assert is_loopback(address) is loopback


def test_plaintext_beyond_loopback_is_served_with_allow_insecure(
    settings: Settings, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    with running(replace(settings, listen="0.0.0.0:0", allow_insecure=True), clock) as app:
        assert serves(TwoFactorClient(f"127.0.0.1:{port_of(app)}", timeout=FAILS_FAST))
    assert "allow_insecure" in caplog.text


def test_tls_beyond_loopback_needs_no_flag(
    settings: Settings, clock: FixedClock, certs: Certificates
) -> None:
    with running(with_tls(replace(settings, listen="0.0.0.0:0"), certs), clock) as app:
        assert serves(tls_client(app, certs))


# --------------------------------------------------------------------------- health port


def test_the_health_port_answers_only_health_checks_and_shows_the_drain(
    settings: Settings, clock: FixedClock, certs: Certificates, tmp_path: Path
) -> None:
    token_file = write_token(tmp_path / "token", TOKEN)
    guarded = replace(
        with_tls(settings, certs, mutual=True),
        auth=AuthSettings(token_file),
        health_listen="0.0.0.0:0",  # kubelet probes the pod IP: allowed, it serves nothing else
    )
    app = start(guarded, clock=clock)
    try:
        port = app.health_address.rpartition(":")[2]
        with TwoFactorClient(f"127.0.0.1:{port}", timeout=FAILS_FAST) as probe:
            assert probe.health_check()  # plaintext, no certificate, no token
            assert probe.health_check("twofa.v1.TwoFactorService")
            with pytest.raises(NotImplementedByServer):
                probe.get_user_status(T, "alice")
            with pytest.raises(grpc.RpcError) as watch:
                watch_call = probe.channel.unary_stream("/grpc.health.v1.Health/Watch", None, None)
                next(iter(watch_call(b"", timeout=FAILS_FAST)))
            assert watch.value.code() == grpc.StatusCode.UNIMPLEMENTED

            app.health.enter_graceful_shutdown()  # what stop() does first
            assert probe.health_check() is False
    finally:
        app.stop(0)
    after = TwoFactorClient(f"127.0.0.1:{port}", timeout=FAILS_FAST)
    with after, pytest.raises(TwoFactorError) as gone:
        after.health_check()
    assert gone.value.code == grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize("setting", ["listen", "health_listen"])
def test_a_port_another_twofa_serves_on_stops_start_up(
    settings: Settings, clock: FixedClock, tmp_path: Path, setting: str
) -> None:
    """gRPC's default SO_REUSEPORT would let both bind and share the connections."""
    other = another_instance(settings, tmp_path / "other")
    with running(settings, clock) as first:
        taken = first.addresses[0]
        second = other
        second = (
            replace(second, listen=taken)
            if setting == "listen"
            else replace(second, health_listen=taken)
        )
        with pytest.raises(StartupError, match=f"cannot listen on {taken}"):
            start(second, clock=clock)
        assert serves(TwoFactorClient(taken, timeout=FAILS_FAST))
    with running(other, clock) as again:  # its store was closed
        assert serves(TwoFactorClient(again.addresses[0], timeout=FAILS_FAST))


# --------------------------------------------------------------------------- configuration


def test_the_transport_settings_come_from_the_environment(tmp_path: Path) -> None:
    loaded = load_settings(
        environ={
            "TWOFA_TLS_CERT_FILE": "/etc/twofa/tls.crt",
            "TWOFA_TLS_KEY_FILE": "/etc/twofa/tls.key",
            "TWOFA_TLS_CLIENT_CA_FILE": "",
            "TWOFA_AUTH_TOKEN_FILE": "/etc/twofa/token",
            "TWOFA_HEALTH_LISTEN": "0.0.0.0:8081",
            "TWOFA_ALLOW_INSECURE": "true",
        }
    )
    assert loaded.tls == TlsSettings(Path("/etc/twofa/tls.crt"), Path("/etc/twofa/tls.key"), None)
    assert loaded.auth == AuthSettings(Path("/etc/twofa/token"))
    assert loaded.health_listen == "0.0.0.0:8081" and loaded.allow_insecure
    defaults = load_settings(environ={})
    assert defaults.tls == TlsSettings() and defaults.auth == AuthSettings()
    assert defaults.health_listen == "" and not defaults.allow_insecure
