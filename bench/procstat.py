"""What /proc tells about a process and the machine (Linux only)."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path

_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def cpu_times(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds the process has used so far, all threads included, and
    its child processes (twofa's QR renderers), those running and those that have ended."""
    fields = _stat(pid)
    # Fields 14-17 of stat(5): utime, stime, and cutime, cstime of children waited for.
    user, system = int(fields[11]) + int(fields[13]), int(fields[12]) + int(fields[14])
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            child = _stat(int(entry.name))
        except (OSError, ValueError):
            continue  # gone meanwhile
        if int(child[1]) == pid:  # field 4: the parent
            user += int(child[11]) + int(child[13])
            system += int(child[12]) + int(child[14])
    return user / _TICKS_PER_SECOND, system / _TICKS_PER_SECOND


def _stat(pid: int) -> list[str]:
    """/proc/<pid>/stat's fields from the third on (state) as text."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    return stat[stat.rindex(")") + 2 :].split()


def tree_cpu_seconds(pid: int) -> dict[int, float]:
    """User + system CPU seconds so far of `pid` and each of its children, by pid.

    For a database server: its main process forks one child per connection. A
    child gone between two readings takes its CPU with it (its parent's figures
    count only children it has waited for), so two readings' difference
    (`cpu_spent_since`) misses the exiting children's last moments, no more.
    """
    found: dict[int, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in [pid, *map(int, children)]:
            try:
                found[child] = sum(cpu_times(child))
            except (OSError, ValueError):
                continue  # exited meanwhile
    return found


def cpu_spent_since(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two `tree_cpu_seconds` readings; a new child counts whole."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent on anything but idling, since boot (/proc/stat)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    ticks = [int(value) for value in fields[:8]]  # user nice system idle iowait irq softirq steal
    idle = ticks[3] + ticks[4]
    return (sum(ticks) - idle) / _TICKS_PER_SECOND


@dataclass(frozen=True, slots=True)
class Memory:
    """A process's memory at one moment, in bytes (/proc/<pid>/status and smaps).

    Attributes:
        peak: VmHWM, the most resident memory so far (anonymous + file + shmem).
        anon: RssAnon, private memory: the heap, thread stacks, Python objects.
        file: RssFile, resident pages of mapped files: the store's pages that
            LMDB's read-only map has touched, and the interpreter's and
            libraries' code. These are page cache, shared and reclaimable.
        store: the resident part of the mapping of the store's file alone (part of `file`).
    """

    peak: int = 0
    anon: int = 0
    file: int = 0
    store: int = 0


def memory(pid: int, mapped_name: str | None) -> Memory:
    """`pid`'s memory now; `store` sums the Rss of its mappings of a file named `mapped_name`."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "RssAnon", "RssFile"):
            fields[name] = int(value.split()[0]) * 1024
    store = 0
    inside = False
    if mapped_name is None:
        return Memory(fields.get("VmHWM", 0), fields.get("RssAnon", 0), fields.get("RssFile", 0))
    with open(f"/proc/{pid}/smaps") as smaps:
        for line in smaps:
            head = line.split(maxsplit=5)
            if not head[0].endswith(":"):  # a mapping's header: address range, ..., path
                inside = len(head) == 6 and head[5].rstrip("\n").endswith("/" + mapped_name)
            elif inside and head[0] == "Rss:":
                store += int(head[1]) * 1024
    return Memory(fields.get("VmHWM", 0), fields.get("RssAnon", 0), fields.get("RssFile", 0), store)


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, or the platform's processor string."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def filesystem_of(path: Path) -> str:
    """The type of the filesystem `path` is on (e.g. ext4, tmpfs), from /proc/mounts."""
    resolved = str(path.resolve())
    best, kind = "", "unknown"
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return kind
    for line in mounts:
        parts = line.split()
        if len(parts) < 3:
            continue
        point = parts[1]
        inside = resolved == point or resolved.startswith(point.rstrip("/") + "/")
        if inside and len(point) > len(best):
            best, kind = point, parts[2]
    return kind
