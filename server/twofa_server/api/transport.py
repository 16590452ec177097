"""Transport security: TLS or mutual TLS from files, the loopback rule, the socket's mode.

Files are read once at start-up (restart twofa to rotate a certificate). Every
problem is a ValueError with one line naming the setting and the file; `app`
turns it into a StartupError.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

import grpc

log = logging.getLogger("twofa")

# The API's Unix socket: owner and group may connect (share the group with the application).
SOCKET_MODE = 0o660
_MAX_PEM_BYTES = 1 << 20
_CERTIFICATE = b"-----BEGIN CERTIFICATE-----"
_PRIVATE_KEY = b"PRIVATE KEY-----"


@dataclass(frozen=True)
class TlsSettings:
    """Certificate files for the TCP listener; none set: plaintext.

    Attributes:
        cert_file: the server's certificate chain (PEM).
        key_file: its private key (PEM, not encrypted).
        client_ca_file: CA certificates that client certificates must chain to; when
            set, clients without such a certificate are refused (mutual TLS).
    """

    cert_file: Path | None = None
    key_file: Path | None = None
    client_ca_file: Path | None = None


@dataclass(frozen=True)
class AuthSettings:
    """token_file: the bearer token every call must carry (none: no token is required)."""

    token_file: Path | None = None


def server_credentials(tls: TlsSettings) -> grpc.ServerCredentials | None:
    """Reads the certificate files once and builds the TCP listener's credentials.

    Returns:
        None when TLS is not configured.

    Raises:
        ValueError: a file is missing, unreadable or unusable, or a file is set without
            the ones it needs; one line naming the setting and the file.
    """
    if tls.cert_file is None:
        if tls.key_file is not None:
            raise ValueError(
                f"tls.key_file {tls.key_file} is set without tls.cert_file: set both for TLS, "
                "or neither for plaintext"
            )
        if tls.client_ca_file is not None:
            raise ValueError(
                f"tls.client_ca_file {tls.client_ca_file} is set without tls.cert_file: "
                "mutual TLS also needs the server's tls.cert_file and tls.key_file"
            )
        return None
    if tls.key_file is None:
        raise ValueError(
            f"tls.cert_file {tls.cert_file} is set without tls.key_file: set both for TLS, "
            "or neither for plaintext"
        )
    chain = read_pem("tls.cert_file", tls.cert_file, _CERTIFICATE, "a PEM certificate")
    key = read_pem("tls.key_file", tls.key_file, _PRIVATE_KEY, "a PEM private key")
    _check_key_pair(tls.cert_file, tls.key_file)
    client_ca = None
    if tls.client_ca_file is not None:
        client_ca = read_pem(
            "tls.client_ca_file", tls.client_ca_file, _CERTIFICATE, "PEM CA certificates"
        )
        _check_ca(tls.client_ca_file, client_ca)
    return grpc.ssl_server_credentials(
        [(key, chain)], root_certificates=client_ca, require_client_auth=client_ca is not None
    )


def read_pem(setting: str, path: Path, marker: bytes, what: str) -> bytes:
    """The PEM file `path` holding `marker`; a ValueError names `setting` and the file."""
    try:
        with path.open("rb") as file:
            data = file.read(_MAX_PEM_BYTES + 1)
    except FileNotFoundError:
        raise ValueError(f"{setting} {path} not found") from None
    except OSError as exc:
        raise ValueError(
            f"{setting} {path} cannot be read ({exc.strerror}): "
            "check the path and that this user may read the file"
        ) from None
    if len(data) > _MAX_PEM_BYTES or marker not in data:
        raise ValueError(f"{setting} {path} does not hold {what}")
    return data


def _no_password() -> bytes:
    return b""  # an encrypted key fails instead of prompting on the terminal


def _check_key_pair(cert_file: Path, key_file: Path) -> None:
    """The same checks gRPC makes when it binds, with a message that says which files."""
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(
            cert_file, key_file, password=_no_password
        )
    except (ssl.SSLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc.strerror or type(exc).__name__
        raise ValueError(
            f"tls.cert_file {cert_file} and tls.key_file {key_file} cannot be used together "
            f"({reason}): the key must be the certificate's, in PEM and not encrypted"
        ) from None


def _check_ca(path: Path, pem: bytes) -> None:
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_verify_locations(cadata=pem.decode("ascii"))
    except (ssl.SSLError, UnicodeDecodeError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or type(exc).__name__
        raise ValueError(
            f"tls.client_ca_file {path} does not hold usable PEM CA certificates ({reason})"
        ) from None


def is_loopback(address: str) -> bool:
    """Whether a host:port only accepts connections from this host (127.0.0.0/8, ::1,
    localhost). A `unix:` address is local too."""
    if address.startswith("unix:"):
        return True
    host = address.rpartition(":")[0]
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # another host name: it may resolve to any interface


def check_plaintext(listen: str, tls_configured: bool, allow_insecure: bool) -> None:
    """Refuses to serve the API in plaintext beyond this host unless explicitly allowed.

    Raises:
        ValueError: `listen` is not a loopback address, TLS is off and allow_insecure is not set.
    """
    if not listen or tls_configured or is_loopback(listen):
        return
    if not allow_insecure:
        raise ValueError(
            f"listen={listen} is not a loopback address and TLS is not configured: set "
            "tls.cert_file and tls.key_file, or allow_insecure = true if a mesh or network "
            "policy protects it"
        )
    log.warning(
        "serving the API in plaintext on %s (allow_insecure): anyone who can reach it "
        "can use it unless a mesh or network policy stands in front",
        listen,
    )


def restrict_socket(path: str) -> None:
    """Gives the API's Unix socket mode 0660: only its owner and group may connect.

    Raises:
        ValueError: the mode cannot be set.
    """
    try:
        os.chmod(path, SOCKET_MODE)
    except OSError as exc:
        raise ValueError(f"cannot set mode 0660 on unix_socket {path}: {exc.strerror}") from None
