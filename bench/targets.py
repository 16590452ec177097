"""What the bench measures: targets, servers it can start, label, probe and stop.

A ServerSpec says how to start one server and what it holds: its command,
working directory and environment, where it listens, the users its store holds,
and how to count its durable commits (None where nothing counts them). twofa on
LMDB is one kind (bench/twofa_lmdb.py); the bare servers of bench/research are
another; a twofa on PostgreSQL would be a third, with its own loader and its own
commit counter. The plan (bench/plan.py) measures any list of them in turns.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .process import running_server, wait_idle
from .procstat import Memory, memory
from .progress import say
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


@dataclass(frozen=True, slots=True)
class Target:
    """A started server: its spec, its process and how long its start-up work took."""

    spec: ServerSpec
    pid: int
    settle_seconds: float

    @property
    def label(self) -> str:
        return self.spec.label

    def commits(self) -> int | None:
        return self.spec.count_commits() if self.spec.count_commits else None

    def memory(self) -> Memory:
        return memory(self.pid, self.spec.store_file)


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
