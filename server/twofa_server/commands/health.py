"""`twofa health`: one grpc.health.v1 Check with a deadline, as an exit status.

Exit 0 when the service is SERVING (one line on stdout), 1 when it is NOT_SERVING,
unknown or the server does not answer (one line on stderr), 2 when the options are
wrong. For a Docker HEALTHCHECK, a systemd ExecStartPost= and scripts; `--wait`
retries until the server serves, for "start it, then wait until it is up".
"""

from __future__ import annotations

import argparse
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from .remote import Connection, RemoteError, add_connection_options, connection_from, one_line

RETRY_SECONDS = 0.2


def add_command(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    health = commands.add_parser(
        "health",
        help="ask a running twofa whether it serves (grpc.health.v1 Check): exit 0 SERVING, "
        "1 not serving or unreachable",
    )
    health.add_argument(
        "--service",
        default="",
        metavar="NAME",
        help="the service to ask about (default: '', the whole server; or "
        "twofa.v1.TwoFactorService)",
    )
    health.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="keep asking until SERVING or this long has passed (default: 0, ask once)",
    )
    add_connection_options(health, default_address="health_listen, else unix_socket, else listen")
    health.set_defaults(run=check_health)


def check_health(args: argparse.Namespace) -> None:
    connection = connection_from(args, health=True)
    give_up_at = time.monotonic() + max(args.wait, 0.0)
    while True:
        problem = check_once(connection, args.service)
        if problem is None:
            print(f"twofa: {_named(connection, args.service)} is SERVING")
            return
        if time.monotonic() + RETRY_SECONDS > give_up_at:
            raise RemoteError(problem)
        time.sleep(RETRY_SECONDS)


def check_once(connection: Connection, service: str) -> str | None:
    """None when `service` is SERVING, else one line saying what the server answered."""
    what = _named(connection, service)
    with connection.channel() as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            answer = stub.Check(
                health_pb2.HealthCheckRequest(service=service),
                timeout=connection.timeout,
                metadata=connection.metadata,
            )
        except grpc.RpcError as error:
            code: grpc.StatusCode = error.code()
            if code is grpc.StatusCode.NOT_FOUND:
                return f"{what}: the server knows no such service (NOT_FOUND)"
            if code is grpc.StatusCode.DEADLINE_EXCEEDED:
                return f"{what} did not answer within {connection.timeout:g}s"
            return f"{what} cannot be asked: {code.name}: {one_line(error.details() or '')}"
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)
    return (
        None if answer.status == health_pb2.HealthCheckResponse.SERVING else f"{what} is {status}"
    )


def _named(connection: Connection, service: str) -> str:
    return connection.address + (f" ({service})" if service else "")
