"""The load generator: its own process, grpc.aio, C tasks on one channel, bounded in time.

The parent (run.py) sends a Job through a pipe and gets a Measurement back; the
process keeps one UserBook per population (per store) for the whole run, because
the server remembers every code it has seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

import grpc

from .book import UserBook
from .procstat import cpu_times, machine_busy_seconds
from .scenarios import SCENARIOS, Call, Outcome
from .stats import Measurement, percentile
from .users import Population

CONNECT_TIMEOUT_SECONDS = 10.0
# The population (and so the store) a job's requests are about, unless it names another.
MAIN = "main"
# Requests in flight when the window closes may take up to the call timeout to finish.
DRAIN_SECONDS = 15.0


@dataclass(frozen=True, slots=True)
class Job:
    """Run `scenario` at `concurrency` against `target` (host:port), whose process is `pid`.

    `population` names the users of the target's store (a key of the populations
    the LoadGenerator was started with).
    """

    target: str
    target_pid: int
    scenario: str
    concurrency: int
    duration: float
    warmup: float
    population: str = MAIN


@dataclass(frozen=True, slots=True)
class Failure:
    """The load generator could not run a job; `message` says why."""

    message: str


@dataclass(slots=True)
class _Window:
    start_ns: int
    end_ns: int
    latencies: list[int] = field(default_factory=list)
    mismatches: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    starved: bool = False
    sent: int = 0
    # (user, system) seconds of the server and of this process, at the start and the end.
    server_cpu: tuple[tuple[float, float], tuple[float, float]] = ((0.0, 0.0), (0.0, 0.0))
    client_cpu: tuple[tuple[float, float], tuple[float, float]] = ((0.0, 0.0), (0.0, 0.0))
    machine_cpu: tuple[float, float] = (0.0, 0.0)  # every core, every process


async def _worker(call: Call, window: _Window) -> None:
    # Bounded: no request starts after the window's end, and each has a deadline.
    while (started := time.perf_counter_ns()) < window.end_ns:
        try:
            outcome = await call()
        except grpc.aio.AioRpcError as err:
            name = err.code().name
            window.errors[name] = window.errors.get(name, 0) + 1
            window.sent += 1
            continue
        if outcome is Outcome.STARVED:
            window.starved = True
            return
        window.sent += 1
        if outcome is Outcome.MISMATCH:
            window.mismatches += 1
        if started >= window.start_ns:
            window.latencies.append(time.perf_counter_ns() - started)


async def _probe(window: _Window, pid: int) -> None:
    """Reads the server's and this process's CPU time at the window's start and end."""
    await asyncio.sleep(max(0.0, (window.start_ns - time.perf_counter_ns()) / 1e9))
    server_start, client_start = cpu_times(pid), cpu_times(os.getpid())
    machine_start = machine_busy_seconds()
    await asyncio.sleep(max(0.0, (window.end_ns - time.perf_counter_ns()) / 1e9))
    window.server_cpu = (server_start, cpu_times(pid))
    window.client_cpu = (client_start, cpu_times(os.getpid()))
    window.machine_cpu = (machine_start, machine_busy_seconds())


async def run_job(job: Job, book: UserBook) -> Measurement:
    """Runs one job: connect, warm up, measure for `duration`, drain."""
    scenario = SCENARIOS[job.scenario]
    supply_before = scenario.supply(book)
    async with grpc.aio.insecure_channel(job.target) as channel:
        await asyncio.wait_for(channel.channel_ready(), CONNECT_TIMEOUT_SECONDS)
        call = scenario.make_call(channel, book)
        now = time.perf_counter_ns()
        start = now + int(job.warmup * 1e9)
        window = _Window(start_ns=start, end_ns=start + int(job.duration * 1e9))
        tasks = [_worker(call, window) for _ in range(job.concurrency)]
        await asyncio.wait_for(
            asyncio.gather(_probe(window, job.target_pid), *tasks),
            job.warmup + job.duration + DRAIN_SECONDS,
        )
    latencies = sorted(window.latencies)
    (server_user0, server_sys0), (server_user1, server_sys1) = window.server_cpu
    (client_user0, client_sys0), (client_user1, client_sys1) = window.client_cpu
    return Measurement(
        target=job.target,
        scenario=job.scenario,
        concurrency=job.concurrency,
        seconds=job.duration,
        answered=len(latencies),
        sent=window.sent,
        p50_ns=percentile(latencies, 0.50),
        p99_ns=percentile(latencies, 0.99),
        mismatches=window.mismatches,
        errors=window.errors,
        starved=window.starved,
        server_cpu_seconds=server_user1 + server_sys1 - server_user0 - server_sys0,
        server_sys_seconds=server_sys1 - server_sys0,
        client_cpu_seconds=client_user1 + client_sys1 - client_user0 - client_sys0,
        machine_cpu_seconds=window.machine_cpu[1] - window.machine_cpu[0],
        supply_before=supply_before,
    )


def serve(conn: Connection, populations: Mapping[str, Population]) -> None:
    """The process's main loop: one Job in, one Measurement (or Failure) out, until None."""
    books = {name: UserBook(population) for name, population in populations.items()}
    loop = asyncio.new_event_loop()
    try:
        while (job := conn.recv()) is not None:
            try:
                conn.send(loop.run_until_complete(run_job(job, books[job.population])))
            except Exception as exc:  # reported to the parent, which stops the run
                conn.send(Failure(f"{job.scenario} c={job.concurrency}: {exc!r}"))
    finally:
        loop.close()
        conn.close()


class LoadGeneratorFailed(Exception):
    """The load-generator process failed or did not answer in time."""


class LoadGenerator:
    """The parent's handle on the load-generator process (started with spawn, not fork).

    Use as a context manager; `run` sends one Job and waits, bounded, for its Measurement.

    Args:
        populations: the users of each store, by the name Jobs give in `population`.
    """

    def __init__(self, populations: Mapping[str, Population]) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=serve, args=(child, dict(populations)), name="bench-loadgen", daemon=True
        )
        self._process.start()
        child.close()

    def run(self, job: Job) -> Measurement:
        self._conn.send(job)
        limit = job.warmup + job.duration + DRAIN_SECONDS + CONNECT_TIMEOUT_SECONDS + 30.0
        if not self._conn.poll(limit):
            raise LoadGeneratorFailed(f"no answer for {job.scenario} c={job.concurrency}")
        answer = self._conn.recv()
        if isinstance(answer, Failure):
            raise LoadGeneratorFailed(answer.message)
        assert isinstance(answer, Measurement)
        return answer

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._conn.send(None)
        self._process.join(10.0)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(5.0)
        self._conn.close()

    def __enter__(self) -> LoadGenerator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
