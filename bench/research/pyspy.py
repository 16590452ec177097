"""A py-spy look at the server while a scenario runs (``--profile SCENARIO``).

Two recordings of the same scenario, each in its own extra run that is not
part of the tables (the sampler takes CPU from the two cores):

- the default mode, which samples the threads py-spy does not consider idle:
  where the server's busy threads are, by function, inclusive;
- ``--gil`` mode, which samples only the thread holding the GIL: the share of
  samples taken, against the samples asked for, is how busy the interpreter is.

py-spy is optional (``pip install py-spy``); without it the option says so.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

RATE_HZ = 200
TOP = 16


@dataclass(frozen=True, slots=True)
class Profile:
    """What py-spy saw: busy-thread samples by frame, and how often the GIL was held."""

    samples: int
    inclusive: list[tuple[str, float]]  # frame, share of busy samples that include it
    gil_share: float  # samples with the GIL held / samples requested
    gil_inclusive: list[tuple[str, float]]  # frame, share of GIL-held samples that include it


def find_py_spy() -> str | None:
    """The py-spy executable: beside this Python (a venv's bin), else on PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


@contextmanager
def recording(pid: int, seconds: float, out: Path, *, gil: bool) -> Iterator[None]:
    """Samples process `pid` for `seconds` into `out` (raw collapsed stacks) around the body."""
    executable = find_py_spy()
    if executable is None:
        raise RuntimeError("py-spy is not installed (pip install py-spy)")
    command = [
        executable,
        *("record", "--pid", str(pid), "--rate", str(RATE_HZ)),
        *("--duration", str(max(1, round(seconds))), "--format", "raw"),
        *("--output", str(out), "--nonblocking"),
        *(["--gil"] if gil else []),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield
    finally:
        try:
            _, errors = process.communicate(timeout=seconds + 30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise RuntimeError("py-spy did not finish") from None
    if process.returncode != 0 or not out.exists():
        raise RuntimeError(f"py-spy failed: {errors.decode(errors='replace').strip()[-300:]}")


def read_stacks(raw: Path) -> Counter[tuple[str, ...]]:
    """py-spy's raw output: one `frame;frame;...;leaf count` line per distinct stack."""
    stacks: Counter[tuple[str, ...]] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks[tuple(stack.split(";"))] += int(count)
    return stacks


def _interesting(frame: str) -> bool:
    # The server's own code and the parts of grpc and psycopg it calls; not the
    # threading and executor frames every stack starts with.
    return any(part in frame for part in ("twofa_server/", "grpc/_server.py", "psycopg"))


def _top(stacks: Counter[tuple[str, ...]]) -> list[tuple[str, float]]:
    """The frames most often on the stack, each with the share of samples that include it."""
    total = sum(stacks.values())
    inclusive: Counter[str] = Counter()
    for stack, count in stacks.items():
        for frame in set(stack):
            if _interesting(frame):
                inclusive[frame] += count
    return [(frame, count / total) for frame, count in inclusive.most_common(TOP)] if total else []


def summarise(busy: Path, gil: Path, seconds: float) -> Profile:
    """Top frames of both recordings, and the GIL-held share of the --gil one."""
    stacks, gil_stacks = read_stacks(busy), read_stacks(gil)
    gil_samples = sum(gil_stacks.values())
    return Profile(
        sum(stacks.values()),
        _top(stacks),
        gil_samples / (RATE_HZ * max(1, round(seconds))),
        _top(gil_stacks),
    )
