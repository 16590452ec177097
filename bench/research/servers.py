"""Bare health-only gRPC servers in the styles twofa could use, to compare their cost.

Run one per process: ``python -m bench.research.servers --style threads --workers 8 --listen
127.0.0.1:PORT`` (a sync ``grpc.server`` on a ThreadPoolExecutor, as twofa served
before it moved to ``grpc.aio``) or ``--style aio`` / ``--style aio-uvloop``
(``grpc.aio`` on plain asyncio, as twofa serves, or on uvloop). Each serves only
grpc.health.v1 until SIGTERM, so the comparison measures the server style and
nothing else.

With ``--commit-dir DIR`` every Check first makes one durable LMDB commit (one
small put, ``sync`` and ``metasync`` on, as twofa's store) in DIR: the cost each
twofa write pays, without any of twofa's logic. The thread pool commits in the
worker; the aio server hands the commit to a thread with ``asyncio.to_thread``,
or, with ``--commit-via writer``, to twofa's own writer thread
(store/lmdb/writer.py), which commits whatever is queued in
one batch with one fsync: what twofa does. ``python -m bench.research.styles``
starts them all and measures them in turns (see bench/research/README.md).
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
from typing import Any

import grpc
import lmdb
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from twofa_server.store.lmdb.writer import Result, Writer

STYLES = ("threads", "aio", "aio-uvloop")


_COMMIT_VALUE = b"x" * 100


@dataclass(frozen=True, slots=True)
class ServerStyle:
    """One server to compare: how to start it, how to show it, whether it commits."""

    label: str
    args: tuple[str, ...]
    commits: bool = False


def available_styles(worker_counts: Sequence[int] = (16, 8, 4)) -> list[ServerStyle]:
    """The styles to compare, twofa's own first (16 threads, its default `workers`).

    Then the two main styles again with a durable commit per call. uvloop is
    compared only when it is installed; the bench never installs it.
    """
    threads = [
        ServerStyle(f"sync grpc.server, {n} threads", ("--style", "threads", "--workers", str(n)))
        for n in worker_counts
    ]
    aio = [ServerStyle("grpc.aio, asyncio", ("--style", "aio"))]
    if importlib.util.find_spec("uvloop") is not None:
        aio.append(ServerStyle("grpc.aio, uvloop", ("--style", "aio-uvloop")))
    committing = [
        ServerStyle(f"{threads[0].label} + commit", threads[0].args, commits=True),
        ServerStyle(f"{aio[0].label} + commit in a thread", aio[0].args, commits=True),
        ServerStyle(
            f"{aio[0].label} + commit by a writer thread (twofa)",
            (*aio[0].args, "--commit-via", "writer"),
            commits=True,
        ),
    ]
    return threads + aio + committing


class DurableCommits:
    """One small LMDB put per call, committed with twofa's durability flags."""

    def __init__(self, path: str) -> None:
        self.env = lmdb.open(path, map_size=64 << 20, sync=True, metasync=True)

    def commit(self) -> None:
        with self.env.begin(write=True) as txn:
            txn.put(b"counter", _COMMIT_VALUE)


class _CommittingHealth(health.HealthServicer):
    def __init__(self, commits: DurableCommits) -> None:
        super().__init__()
        self._commits = commits

    def Check(self, request: object, context: grpc.ServicerContext) -> object:
        self._commits.commit()
        return super().Check(request, context)


class _CommittingAioHealth(health.aio.HealthServicer):  # type: ignore[misc, name-defined]
    def __init__(self, commits: DurableCommits) -> None:
        super().__init__()
        self._commits = commits

    async def Check(self, request: object, context: grpc.aio.ServicerContext[Any, Any]) -> object:
        await asyncio.to_thread(self._commits.commit)
        return await super().Check(request, context)


class _BatchingAioHealth(health.aio.HealthServicer):  # type: ignore[misc, name-defined]
    """Each Check's put goes to twofa's writer thread, which shares commits between calls."""

    def __init__(self, commits: DurableCommits) -> None:
        super().__init__()
        self._writer = Writer(commits.env, after_batch=lambda: None)

    async def Check(self, request: object, context: grpc.aio.ServicerContext[Any, Any]) -> object:
        loop = asyncio.get_running_loop()
        committed: asyncio.Future[Result] = loop.create_future()

        def report(result: Result) -> None:
            loop.call_soon_threadsafe(committed.set_result, result)

        self._writer.submit(lambda txn: txn.put(b"counter", _COMMIT_VALUE), report)
        await committed
        return await super().Check(request, context)


def serve_threads(listen: str, workers: int, commits: DurableCommits | None) -> None:
    """A sync server with a thread pool, serving until SIGTERM or SIGINT."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers))
    servicer = _CommittingHealth(commits) if commits else health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    server.add_insecure_port(listen)
    server.start()
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: stopping.set())
    stopping.wait()
    server.stop(1).wait()


async def serve_aio(listen: str, commits: DurableCommits | None, via_writer: bool = False) -> None:
    """A grpc.aio server on the running event loop, serving until SIGTERM or SIGINT."""
    server = grpc.aio.server()
    # health.aio is grpc_health's documented asyncio servicer; its stubs do not re-export it.
    plain = health.aio.HealthServicer  # type: ignore[attr-defined]
    if commits is None:
        servicer = plain()
    elif via_writer:
        servicer = _BatchingAioHealth(commits)
    else:
        servicer = _CommittingAioHealth(commits)
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
    parser = argparse.ArgumentParser(prog="python -m bench.research.servers", description=__doc__)
    parser.add_argument("--style", choices=STYLES, required=True)
    parser.add_argument("--workers", type=int, default=16, help="threads of the thread pool")
    parser.add_argument("--listen", required=True, help="host:port")
    parser.add_argument("--commit-dir", help="make one durable LMDB commit here per call")
    parser.add_argument(
        "--commit-via",
        choices=("call", "writer"),
        default="call",
        help="aio: commit in a thread per call, or through twofa's batching writer thread",
    )
    args = parser.parse_args(argv)
    commits = DurableCommits(args.commit_dir) if args.commit_dir else None
    if args.style == "threads":
        serve_threads(args.listen, args.workers, commits)
    elif args.style == "aio":
        asyncio.run(serve_aio(args.listen, commits, args.commit_via == "writer"))
    else:
        uvloop = importlib.import_module("uvloop")
        uvloop.run(serve_aio(args.listen, commits))


if __name__ == "__main__":
    main()
