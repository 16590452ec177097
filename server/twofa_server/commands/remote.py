"""How the commands that talk to a running server (`twofa health`, `twofa user …`) reach it:
the address, TLS or mutual TLS, the bearer token and the deadline, as the client takes them.

Without --address a command reads the configuration `twofa serve` reads (--config,
TWOFA_CONFIG, TWOFA_* variables) and connects where that server listens, with the
token of its auth.token_file, so that on the server's own host (or inside its
container) no option is needed.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import grpc

from twofa_client import FailedPrecondition, InvalidArgument, TwoFactorClient, TwoFactorError

from ..api.transport import read_pem
from ..config import ConfigError, Settings, load_settings
from ..crypto.secret_file import read_secret_line
from ..errors import OperatorError
from .common import CommandRefused

T = TypeVar("T")
DEFAULT_TIMEOUT_SECONDS = 5.0
# Wildcard listen addresses, and where on this host they answer.
_WILDCARD_HOSTS = {"0.0.0.0": "127.0.0.1", "[::]": "[::1]"}  # noqa: S104 - read, not bound


class RemoteError(OperatorError):
    """The server could not be reached, or refused the call: exit status 1."""

    exit_status = 1


@dataclass(frozen=True)
class Connection:
    """Where and how to call a running twofa."""

    address: str
    credentials: grpc.ChannelCredentials | None
    options: tuple[tuple[str, Any], ...]
    token: str | None
    timeout: float

    def channel(self) -> grpc.Channel:
        if self.credentials is None:
            return grpc.insecure_channel(self.address, options=list(self.options))
        return grpc.secure_channel(self.address, self.credentials, options=list(self.options))

    @property
    def metadata(self) -> tuple[tuple[str, str], ...] | None:
        return (("authorization", f"Bearer {self.token}"),) if self.token else None


def add_connection_options(
    parser: argparse.ArgumentParser, *, default_address: str = "unix_socket, else listen"
) -> None:
    """The options every command that calls a running server takes."""
    group = parser.add_argument_group("connection to the running twofa")
    group.add_argument(
        "--address",
        metavar="ADDRESS",
        help=f"host:port, or unix:PATH for a Unix socket (default: {default_address}, "
        "from the configuration serve reads)",
    )
    group.add_argument(
        "--config", type=Path, help="TOML configuration file to find the address in, as for serve"
    )
    group.add_argument(
        "--tls", action="store_true", help="use TLS, verifying the server with the system's CAs"
    )
    group.add_argument(
        "--ca-file",
        type=Path,
        metavar="PATH",
        help="CA certificates (PEM) to verify the server with; implies --tls",
    )
    group.add_argument(
        "--cert-file",
        type=Path,
        metavar="PATH",
        help="client certificate chain (PEM) for mutual TLS; implies --tls",
    )
    group.add_argument(
        "--key-file", type=Path, metavar="PATH", help="private key (PEM) of --cert-file"
    )
    group.add_argument(
        "--server-name",
        metavar="NAME",
        help="the name the server's certificate holds, when the address does not",
    )
    group.add_argument(
        "--token-file",
        type=Path,
        metavar="PATH",
        help="file holding the bearer token (the server's auth.token_file)",
    )
    group.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help=f"deadline of each call (default: {DEFAULT_TIMEOUT_SECONDS:g})",
    )


def connection_from(args: argparse.Namespace, *, health: bool = False) -> Connection:
    """The connection the options describe.

    Args:
        health: for a health check: without --address, prefer the server's plaintext
            health_listen, which needs neither TLS nor a token.

    Raises:
        CommandRefused: a file cannot be read, or the configuration is wrong.
    """
    token_file: Path | None = args.token_file
    address: str | None = args.address
    if address is None:
        settings = _configuration(args.config)
        address = _address_of(settings, health=health)
        if token_file is None and not (health and settings.health_listen):
            token_file = settings.auth.token_file
    if address.startswith("/"):
        address = "unix:" + address
    port = address.rpartition(":")[2]
    if not address.startswith("unix:") and port.isdigit() and not 0 < int(port) <= 65535:
        # gRPC would quietly dial the port modulo 65536.
        raise CommandRefused(f"--address {address}: the port must be 1-65535")
    tls = args.tls or args.ca_file is not None or args.cert_file is not None
    if args.cert_file is not None and args.key_file is None:
        raise CommandRefused("--cert-file needs --key-file (the client certificate's key)")
    if args.key_file is not None and args.cert_file is None:
        raise CommandRefused("--key-file needs --cert-file (the client certificate)")
    credentials = None
    options: tuple[tuple[str, Any], ...] = ()
    if tls:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=_pem(args.ca_file, "--ca-file"),
            private_key=_pem(args.key_file, "--key-file"),
            certificate_chain=_pem(args.cert_file, "--cert-file"),
        )
    elif args.server_name:
        raise CommandRefused("--server-name is for TLS: add --tls or --ca-file")
    if args.server_name:
        options = (("grpc.ssl_target_name_override", args.server_name),)
    token = read_secret_line(token_file, "--token-file") if token_file is not None else None
    return Connection(address, credentials, options, token, args.timeout)


def _configuration(config_file: Path | None) -> Settings:
    try:
        return load_settings({}, config_file=config_file)
    except ConfigError as error:
        raise CommandRefused(f"{error} (or give the server's --address)") from None


def _address_of(settings: Settings, *, health: bool) -> str:
    if health and settings.health_listen:
        return _reachable(settings.health_listen)
    if settings.unix_socket:
        return "unix:" + settings.unix_socket
    return _reachable(settings.listen)


def _reachable(listen: str) -> str:
    """A listen address as this host reaches it (0.0.0.0:8081 answers on 127.0.0.1:8081)."""
    host, _, port = listen.rpartition(":")
    return f"{_WILDCARD_HOSTS.get(host, host)}:{port}"


def _pem(path: Path | None, option: str) -> bytes | None:
    if path is None:
        return None
    try:
        return read_pem(option, path, b"-----BEGIN ", "PEM data")
    except ValueError as error:
        raise CommandRefused(str(error)) from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"expected 0-3600 seconds, got {text}")
    return value


def one_line(text: str) -> str:
    """gRPC's multi-line error texts as one line."""
    return " ".join(text.split())


@contextmanager
def connected(connection: Connection) -> Iterator[TwoFactorClient]:
    """A client of the running server, closed (with its channel) on leaving."""
    with (
        connection.channel() as channel,
        TwoFactorClient.from_channel(
            channel, timeout=connection.timeout, token=connection.token
        ) as client,
    ):
        yield client


def call_server(connection: Connection, call: Callable[[TwoFactorClient], T]) -> T:
    """`call` on a client of `connection`; a failed call becomes one line, exit status 1."""
    with connected(connection) as client:
        try:
            return call(client)
        except TwoFactorError as error:
            raise RemoteError(f"{connection.address}: {refusal(error)}") from None


def refusal(error: TwoFactorError) -> str:
    """A server's refusal in one line: its code, message and what the details name."""
    text = f"{error.code.name}: {one_line(error.message)}"
    if isinstance(error, InvalidArgument) and error.field_violations:
        text += " (" + "; ".join(f"{v.field}: {v.description}" for v in error.field_violations)
        text += ")"
    if isinstance(error, FailedPrecondition) and error.violations:
        text += " (" + ", ".join(v.type for v in error.violations) + ")"
    return text
