"""Bare health-only gRPC servers in the styles twofa could use, to compare their cost.

Run one per process: ``python -m bench.servers --style threads --workers 8 --listen
127.0.0.1:PORT`` (a sync ``grpc.server`` on a ThreadPoolExecutor, as twofa serves
today) or ``--style aio`` / ``--style aio-uvloop`` (``grpc.aio`` on plain asyncio
or on uvloop). Each serves only grpc.health.v1 until SIGTERM, so the comparison
measures the server style and nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import signal
import threading
from collections.abc import Sequence
from concurrent import futures
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

STYLES = ("threads", "aio", "aio-uvloop")


@dataclass(frozen=True, slots=True)
class ServerStyle:
    """One server to compare: how to start it and how to show it."""

    label: str
    args: tuple[str, ...]


def available_styles(worker_counts: Sequence[int] = (4, 8, 16)) -> list[ServerStyle]:
    """The styles to compare here; uvloop only when it is installed (never installed for this)."""
    styles = [
        ServerStyle(f"sync grpc.server, {n} threads", ("--style", "threads", "--workers", str(n)))
        for n in worker_counts
    ]
    styles.append(ServerStyle("grpc.aio, asyncio", ("--style", "aio")))
    if importlib.util.find_spec("uvloop") is not None:
        styles.append(ServerStyle("grpc.aio, uvloop", ("--style", "aio-uvloop")))
    return styles


def serve_threads(listen: str, workers: int) -> None:
    """A sync server with a thread pool, serving until SIGTERM or SIGINT."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers))
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    server.add_insecure_port(listen)
    server.start()
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: stopping.set())
    stopping.wait()
    server.stop(1).wait()


async def serve_aio(listen: str) -> None:
    """A grpc.aio server on the running event loop, serving until SIGTERM or SIGINT."""
    server = grpc.aio.server()
    # health.aio is grpc_health's documented asyncio servicer; its stubs do not re-export it.
    servicer = health.aio.HealthServicer()  # type: ignore[attr-defined]
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    server.add_insecure_port(listen)
    await server.start()
    await servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
    await server.stop(1)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.servers", description=__doc__)
    parser.add_argument("--style", choices=STYLES, required=True)
    parser.add_argument("--workers", type=int, default=16, help="threads of the thread pool")
    parser.add_argument("--listen", required=True, help="host:port")
    args = parser.parse_args(argv)
    if args.style == "threads":
        serve_threads(args.listen, args.workers)
    elif args.style == "aio":
        asyncio.run(serve_aio(args.listen))
    else:
        uvloop = importlib.import_module("uvloop")
        uvloop.run(serve_aio(args.listen))


if __name__ == "__main__":
    main()
