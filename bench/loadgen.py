"""The load generator: its own process, grpc.aio, tasks bounded in time.

The parent (bench/plan.py) sends a Job through a pipe and gets one Measurement
per load back. A job runs one load (a scenario at a concurrency) or several at
once against the same target (a mix), each on its own channel with its own
counters. A target of several servers (a fleet on one database) gets a channel
per server and load, and each task sends its requests to the servers in turn,
task i starting at server i: at any c the servers share the load evenly, as
behind a round-robin balancer. The process keeps
one UserBook per store (the job's `book`) for the whole run, because each store
remembers every code it has seen: servers sharing a store share its book.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

import grpc

from .book import UserBook
from .procstat import cpu_spent_since, cpu_times, machine_busy_seconds, tree_cpu_seconds
from .scenarios import SCENARIOS, Call, Load, Outcome
from .stats import Measurement, percentile
from .users import Population

CONNECT_TIMEOUT_SECONDS = 10.0
# Requests in flight when the window closes may take up to the call timeout to finish.
DRAIN_SECONDS = 15.0


@dataclass(frozen=True, slots=True)
class Job:
    """Run `loads` at once against one target for `duration` seconds after `warmup`.

    Attributes:
        target: the target's label, echoed in the measurements.
        addresses: host:port of each of its servers; pids: their processes, whose
            CPU time is read (added up).
        population: the users their store holds.
        phase, round: the part of the run and the round, echoed in the measurements.
        book: names the UserBook of the store's users ("": the target's label).
        database_pid: the main process of the database server the store lives in,
            whose and whose children's CPU time is read (None: no database).
    """

    target: str
    addresses: tuple[str, ...]
    pids: tuple[int, ...]
    population: Population
    loads: tuple[Load, ...]
    duration: float
    warmup: float
    phase: str = ""
    round: int = 0
    book: str = ""
    database_pid: int | None = None


@dataclass(frozen=True, slots=True)
class Failure:
    """The load generator could not run a job; `message` says why."""

    message: str


@dataclass(frozen=True, slots=True)
class _Window:
    start_ns: int
    end_ns: int


@dataclass(slots=True)
class _Counters:
    """What one load's tasks saw."""

    latencies: list[int] = field(default_factory=list)
    mismatches: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    starved: bool = False
    sent: int = 0


@dataclass(slots=True)
class _Probe:
    # (user, system) seconds of the server and of this process, at the start and the end.
    server_cpu: tuple[tuple[float, float], tuple[float, float]] = ((0.0, 0.0), (0.0, 0.0))
    client_cpu: tuple[tuple[float, float], tuple[float, float]] = ((0.0, 0.0), (0.0, 0.0))
    machine_cpu: tuple[float, float] = (0.0, 0.0)  # every core, every process
    database_cpu: float = 0.0  # seconds, the database server's processes


async def _worker(calls: list[Call], first: int, window: _Window, counters: _Counters) -> None:
    """Sends requests one at a time, each through the next of `calls` (one per server of
    the target), starting at `first`, until the window closes."""
    # Bounded: no request starts after the window's end, and each has a deadline.
    turn = first
    while (started := time.perf_counter_ns()) < window.end_ns:
        call = calls[turn % len(calls)]
        turn += 1
        try:
            outcome = await call()
        except grpc.aio.AioRpcError as err:
            name = err.code().name
            counters.errors[name] = counters.errors.get(name, 0) + 1
            counters.sent += 1
            continue
        if outcome is Outcome.STARVED:
            counters.starved = True
            return
        counters.sent += 1
        if outcome is Outcome.MISMATCH:
            counters.mismatches += 1
        if started >= window.start_ns:
            counters.latencies.append(time.perf_counter_ns() - started)


def _servers_cpu(pids: tuple[int, ...]) -> tuple[float, float]:
    """(user, system) seconds of the target's servers, added up."""
    each = [cpu_times(pid) for pid in pids]
    return sum(user for user, _ in each), sum(system for _, system in each)


async def _probe(window: _Window, job: Job, probe: _Probe) -> None:
    """Reads the servers', the database's and this process's CPU time at the window's
    start and end."""
    await asyncio.sleep(max(0.0, (window.start_ns - time.perf_counter_ns()) / 1e9))
    server_start, client_start = _servers_cpu(job.pids), cpu_times(os.getpid())
    database_start = tree_cpu_seconds(job.database_pid) if job.database_pid else {}
    machine_start = machine_busy_seconds()
    await asyncio.sleep(max(0.0, (window.end_ns - time.perf_counter_ns()) / 1e9))
    probe.server_cpu = (server_start, _servers_cpu(job.pids))
    probe.client_cpu = (client_start, cpu_times(os.getpid()))
    probe.machine_cpu = (machine_start, machine_busy_seconds())
    if job.database_pid:
        probe.database_cpu = cpu_spent_since(database_start, tree_cpu_seconds(job.database_pid))


def _spent(readings: tuple[tuple[float, float], tuple[float, float]]) -> tuple[float, float]:
    """(user + system, system) seconds between two (user, system) readings."""
    (user0, sys0), (user1, sys1) = readings
    return user1 + sys1 - user0 - sys0, sys1 - sys0


async def run_job(job: Job, book: UserBook) -> list[Measurement]:
    """Runs one job: connect, warm up, measure for `duration`, drain; one result per load."""
    scenarios = [SCENARIOS[load.scenario] for load in job.loads]
    supplies = [scenario.supply(book) for scenario in scenarios]
    counters = [_Counters() for _ in job.loads]
    probe = _Probe()
    async with contextlib.AsyncExitStack() as stack:
        # channels[load][server]
        channels = [
            [
                await stack.enter_async_context(grpc.aio.insecure_channel(address))
                for address in job.addresses
            ]
            for _ in job.loads
        ]
        for channel in (channel for per_load in channels for channel in per_load):
            await asyncio.wait_for(channel.channel_ready(), CONNECT_TIMEOUT_SECONDS)
        start = time.perf_counter_ns() + int(job.warmup * 1e9)
        window = _Window(start, start + int(job.duration * 1e9))
        tasks = [
            _worker([scenario.make_call(ch, book) for ch in per_load], task, window, counted)
            for scenario, per_load, counted, load in zip(
                scenarios, channels, counters, job.loads, strict=True
            )
            for task in range(load.concurrency)
        ]
        await asyncio.wait_for(
            asyncio.gather(_probe(window, job, probe), *tasks),
            job.warmup + job.duration + DRAIN_SECONDS,
        )
    server_cpu, server_sys = _spent(probe.server_cpu)
    client_cpu, _ = _spent(probe.client_cpu)
    results = []
    for index, (load, counted, supply) in enumerate(
        zip(job.loads, counters, supplies, strict=True)
    ):
        latencies = sorted(counted.latencies)
        results.append(
            Measurement(
                target=job.target,
                scenario=load.scenario,
                concurrency=load.concurrency,
                seconds=job.duration,
                answered=len(latencies),
                sent=counted.sent,
                p50_ns=percentile(latencies, 0.50),
                p99_ns=percentile(latencies, 0.99),
                mismatches=counted.mismatches,
                errors=counted.errors,
                starved=counted.starved,
                # The CPU figures are the whole job's, every load's.
                server_cpu_seconds=server_cpu,
                server_sys_seconds=server_sys,
                client_cpu_seconds=client_cpu,
                database_cpu_seconds=probe.database_cpu,
                machine_cpu_seconds=probe.machine_cpu[1] - probe.machine_cpu[0],
                supply_before=supply,
                phase=job.phase,
                round=job.round,
                beside=" + ".join(str(other) for i, other in enumerate(job.loads) if i != index),
            )
        )
    return results


def serve(conn: Connection) -> None:
    """The process's main loop: one Job in, its Measurements (or a Failure) out, until None."""
    books: dict[str, UserBook] = {}
    loop = asyncio.new_event_loop()
    try:
        while (job := conn.recv()) is not None:
            book = books.setdefault(job.book or job.target, UserBook(job.population))
            try:
                assert book.population == job.population, f"{job.target}'s users changed"
                conn.send(loop.run_until_complete(run_job(job, book)))
            except Exception as exc:  # reported to the parent, which stops the run
                loads = ", ".join(str(load) for load in job.loads)
                conn.send(Failure(f"{job.target}, {loads}: {exc!r}"))
    finally:
        loop.close()
        conn.close()


class LoadGeneratorFailed(Exception):
    """The load-generator process failed or did not answer in time."""


class LoadGenerator:
    """The parent's handle on the load-generator process (started with spawn, not fork).

    Use as a context manager; `run` sends one Job and waits, bounded, for its Measurements.
    """

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=serve, args=(child,), name="bench-loadgen", daemon=True
        )
        self._process.start()
        child.close()

    def run(self, job: Job) -> list[Measurement]:
        self._conn.send(job)
        limit = job.warmup + job.duration + DRAIN_SECONDS + CONNECT_TIMEOUT_SECONDS + 30.0
        if not self._conn.poll(limit):
            raise LoadGeneratorFailed(f"no answer for {job.target} {job.loads}")
        answer = self._conn.recv()
        if isinstance(answer, Failure):
            raise LoadGeneratorFailed(answer.message)
        assert isinstance(answer, list)
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
