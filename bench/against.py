"""`--against REV`: this tree's server and REV's, on copies of one store, in turns.

REV is checked out into a temporary `git worktree` and served with this venv's
python, with its own `server` and `clients/python` first on PYTHONPATH. The
loader writes the store with this tree's code; each build gets its own copy
(the record format must be the same in both) and its own free ports. The
worktree is removed at the end, whatever happened.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from . import twofa_lmdb
from .loadgen import LoadGenerator, LoadGeneratorFailed
from .plan import Plan, measure
from .process import ServerFailed, tail
from .progress import say
from .stats import Row
from .targets import REPO_ROOT, Build, log_of, started, this_build
from .users import Population

SUBJECT_CHARS = 60
THIS = "this"


class AgainstFailed(Exception):
    """REV could not be checked out; the message says why."""


@dataclass(frozen=True, slots=True)
class AgainstRun:
    """Both builds' rows, or why REV's server did not start (with its log's end)."""

    this: Build
    other: Build
    rows: list[Row]
    failed: str | None = None


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise AgainstFailed(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


def _describe(commit: str) -> str:
    text = _git("log", "-1", "--format=%h %s", commit)
    return text if len(text) <= SUBJECT_CHARS else text[: SUBJECT_CHARS - 1] + "…"


def describe_this() -> str:
    """This tree's server and client code: the commit that last changed them, and whether
    they have uncommitted changes."""
    code = ("--", "server", "clients")
    dirty = _git("status", "--porcelain", "--untracked-files=no", *code)
    last = _git("log", "-1", "--format=%H", "HEAD", *code)
    return _describe(last) + (" (with uncommitted changes)" if dirty else "")


@contextmanager
def worktree(rev: str, where: Path) -> Iterator[Build]:
    """REV checked out (detached) at `where` for the duration; removed on exit."""
    try:
        commit = _git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except AgainstFailed:
        raise AgainstFailed(f"--against {rev}: not a commit of this repository") from None
    _git("worktree", "add", "--detach", "--quiet", str(where), commit)
    try:
        yield Build(rev if rev != THIS else f"{rev} (REV)", where, _describe(commit))
    finally:
        try:
            _git("worktree", "remove", "--force", str(where))
        except AgainstFailed as err:
            say(f"{err}; pruning instead")
            subprocess.run(["git", "worktree", "prune"], cwd=REPO_ROOT, check=False)


def compare_builds(
    generator: LoadGenerator,
    plan: Plan,
    population: Population,
    other: Build,
    tmp: Path,
    workers: int | None,
) -> AgainstRun:
    """Serves one store's two copies, from this build and from `other`, measured in turns.

    If a server fails to start or dies during the run, the run ends there and
    says why, with the end of `other`'s log.
    """
    this = this_build(describe_this())
    store = twofa_lmdb.load(tmp / "data-this", population)
    copy = twofa_lmdb.copy(store, tmp / "data-other")
    try:
        with ExitStack() as stack:
            # REV first: if it does not start, this build need not either.
            theirs = stack.enter_context(
                started(twofa_lmdb.spec(other.label, copy, other, workers), tmp)
            )
            ours = stack.enter_context(started(twofa_lmdb.spec(THIS, store, this, workers), tmp))
            targets = [ours, theirs]
            rows = measure(generator, plan.jobs(targets), targets)
    except (ServerFailed, LoadGeneratorFailed) as failure:
        log = tail(log_of(other.label, tmp))
        why = (
            str(failure) if log in str(failure) else f"{failure}\n{other.label}'s log ends:\n{log}"
        )
        return AgainstRun(this, other, [], why)
    return AgainstRun(this, other, rows)
