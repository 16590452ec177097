"""What the bench measures: targets, servers it can start, label, probe and stop.

A ServerSpec says how to start one server and what it holds: its command,
working directory and environment, where it listens, the users its store holds,
and how to count its durable commits (None where nothing counts them). twofa on
LMDB is one kind (bench/twofa_lmdb.py); the bare servers of bench/research are
another; twofa on PostgreSQL a third (bench/twofa_postgres.py), whose database
is read from outside (`Database`). A started server is a Target; several started
servers sharing one store are a Fleet, one target whose rows spread their tasks
over its servers. The plan (bench/plan.py) measures any list of them in turns.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .process import running_server, wait_idle
from .procstat import Memory, memory
from .progress import say
from .stats import DatabaseUse
from .users import NO_USERS, Population

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Build:
    """The code a twofa server runs: a source tree, started with this venv's python.

    Its `server` and `clients/python` directories go first on PYTHONPATH, ahead
    of the venv's editable install, so that its own code runs.
    """

    label: str
    root: Path
    description: str = ""  # e.g. the commit, for the report

    def environment(self) -> dict[str, str]:
        paths = [str(self.root / "server"), str(self.root / "clients" / "python")]
        return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def this_build(description: str = "") -> Build:
    """The tree the bench itself runs from."""
    return Build("this", REPO_ROOT, description)


class Database(Protocol):
    """The database server a store lives in, read from outside its clients."""

    def counters(self) -> DatabaseUse:
        """What it has done so far (the difference of two readings is a row's)."""
        ...

    def server_pid(self) -> int:
        """Its main process: that process and its children are the database's CPU."""
        ...


@dataclass(frozen=True, slots=True)
class ServerSpec:
    """How to start one server under test, and what it holds.

    Attributes:
        label: unique in a run; names the server's rows and the load generator's
            record of what its users were sent (servers on copies of one store
            each need their own).
        command, cwd, env: how to start it (env None: the bench's own).
        address: host:port it will listen on.
        population: the users its store holds (NO_USERS for a health-only server).
        count_commits: durable commits so far, read from outside the server;
            None where nothing counts them.
        store_file: the file it maps its store from, whose resident pages are
            reported apart from its private memory (None: none).
        settle: wait until it is idle after it first answers (start-up work).
        book: names the load generator's record of what the store's users were sent
            (bench/book.py); servers sharing one store share one ("": the label).
        database: the database server the store lives in, if any.
    """

    label: str
    command: tuple[str, ...]
    address: str
    cwd: Path = REPO_ROOT
    env: Mapping[str, str] | None = None
    population: Population = NO_USERS
    count_commits: Callable[[], int] | None = None
    store_file: str | None = None
    settle: bool = True
    book: str = ""
    database: Database | None = None


@dataclass(frozen=True, slots=True)
class Target:
    """A started server: its spec, its process and how long its start-up work took."""

    spec: ServerSpec
    pid: int
    settle_seconds: float

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def addresses(self) -> tuple[str, ...]:
        return (self.spec.address,)

    @property
    def pids(self) -> tuple[int, ...]:
        return (self.pid,)

    @property
    def population(self) -> Population:
        return self.spec.population

    @property
    def book(self) -> str:
        return self.spec.book or self.spec.label

    @property
    def database(self) -> Database | None:
        return self.spec.database

    def commits(self) -> int | None:
        return self.spec.count_commits() if self.spec.count_commits else None

    def memory(self) -> Memory:
        return memory(self.pid, self.spec.store_file)


@dataclass(frozen=True, slots=True)
class Fleet:
    """Started servers sharing one store, measured as one target.

    A row's requests are spread over the servers in turn (each load-generator
    task sends to one server after the other, task i starting at server i), one
    UserBook serves them all (they share the users), commits are the store's,
    counted once, and CPU and memory are the servers' together.
    """

    label: str
    members: tuple[Target, ...]

    def __post_init__(self) -> None:
        books = {member.book for member in self.members}
        assert len(books) == 1, f"{self.label}: servers of one store need one book, not {books}"

    @property
    def addresses(self) -> tuple[str, ...]:
        return tuple(member.spec.address for member in self.members)

    @property
    def pids(self) -> tuple[int, ...]:
        return tuple(member.pid for member in self.members)

    @property
    def population(self) -> Population:
        return self.members[0].population

    @property
    def book(self) -> str:
        return self.members[0].book

    @property
    def database(self) -> Database | None:
        return self.members[0].database

    def commits(self) -> int | None:
        return self.members[0].commits()

    def memory(self) -> Memory:
        each = [member.memory() for member in self.members]
        return Memory(
            sum(m.peak for m in each),
            sum(m.anon for m in each),
            sum(m.file for m in each),
            sum(m.store for m in each),
        )


# Anything the plan measures: one server, or several on one store.
Measured = Target | Fleet


def log_of(label: str, logs: Path) -> Path:
    """Where `started` puts the output of the server labelled `label`."""
    return logs / (re.sub(r"[^A-Za-z0-9.-]+", "_", label) + ".log")


@contextmanager
def started(spec: ServerSpec, logs: Path) -> Iterator[Target]:
    """Starts the server, waits until it serves (and settles); stops it on exit.

    Its output goes to a log in `logs`, whose end a ServerFailed carries.
    """
    log = log_of(spec.label, logs)
    with running_server(spec.label, spec.command, spec.address, log, spec.cwd, spec.env) as pid:
        settled = wait_idle(pid) if spec.settle else 0.0
        say(f"{spec.label} serving on {spec.address}; idle {settled:.1f} s after its first answer")
        yield Target(spec, pid, settled)
