"""twofa on its LMDB store, as a target (see bench/targets.py).

The store is written by bench/loader.py with this tree's code; a copy of it can
serve another build (`--against`), whose record format is the same. The server
is started as an operator starts it, with the build's code on PYTHONPATH, and
its durable commits are counted from the store itself.
"""

from __future__ import annotations

import functools
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import lmdb

from twofa_server.store.keys import ALL_DATABASES

from .loader import LoadReport, map_size_mb_for, prepare_store
from .process import HOST, free_port
from .progress import say
from .targets import Build, ServerSpec
from .users import Population

DATA_FILE = "data.mdb"


@dataclass(frozen=True, slots=True)
class Store:
    """A loaded store: where it is, whom it holds, the map size a server must open it with."""

    data_dir: Path
    population: Population
    map_size_mb: int
    load: LoadReport

    def data_bytes(self) -> int:
        return (self.data_dir / DATA_FILE).stat().st_size


def load(data_dir: Path, population: Population) -> Store:
    """A new store in `data_dir` holding `population`, written straight into LMDB."""
    map_size_mb = map_size_mb_for(population.count)
    report = prepare_store(data_dir, population, time.time(), map_size_mb)
    say(
        f"{report.users:,} users loaded in {report.seconds:.2f} s "
        f"({report.data_file_bytes / (1 << 20):.0f} MiB, map size {map_size_mb} MiB)"
    )
    return Store(data_dir, population, map_size_mb, report)


def copy(store: Store, data_dir: Path) -> Store:
    """A copy of `store` (keyring included) in `data_dir`, for a second server. No server
    may have `store` open."""
    shutil.copytree(store.data_dir, data_dir)
    return Store(data_dir, store.population, store.map_size_mb, store.load)


def committed_transactions(data_dir: Path) -> int:
    """The id of the last transaction committed to the LMDB store in `data_dir`.

    Read through a read-only handle of its own, beside the server's: the
    difference between two readings is how many commits the server made.
    """
    env = lmdb.open(str(data_dir), readonly=True, lock=True, max_dbs=len(ALL_DATABASES))
    try:
        last: int = env.info()["last_txnid"]
        return last
    finally:
        env.close()


def command(data_dir: Path, address: str, map_size_mb: int, workers: int | None) -> tuple[str, ...]:
    """The twofa server, as an operator starts it (fsync on every commit).

    Its Prometheus endpoint stays on, as in production, on a free port of its
    own, so that servers running at once (and other twofa on the host) do not clash.
    `workers` None keeps the server's default.
    """
    return (
        sys.executable,
        *("-m", "twofa_server.cli", "serve"),
        *("--data-dir", str(data_dir), "--listen", address, "--log-level", "warning"),
        *("--metrics-listen", f"{HOST}:{free_port()}"),
        *("--map-size-mb", str(map_size_mb)),
        *(("--workers", str(workers)) if workers else ()),
    )


def spec(label: str, store: Store, build: Build, workers: int | None = None) -> ServerSpec:
    """twofa of `build` serving `store` on a free port."""
    address = f"{HOST}:{free_port()}"
    return ServerSpec(
        label=label,
        command=command(store.data_dir, address, store.map_size_mb, workers),
        address=address,
        cwd=build.root,
        env=build.environment(),
        population=store.population,
        count_commits=functools.partial(committed_transactions, store.data_dir),
        store_file=DATA_FILE,
    )
