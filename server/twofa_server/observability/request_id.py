"""The request id of the call being handled, for audit and log lines.

api/interceptors/request_id.py sets it around each call. The asyncio server runs
each call in a task of its own, and the events of a call are published in that
task, so a context variable set around the handler is what its lines carry.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from contextvars import ContextVar

_current: ContextVar[str | None] = ContextVar("twofa_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the call being handled; None outside a call (e.g. housekeeping)."""
    return _current.get()


def set_request_id(request_id: str) -> None:
    """Sets the id for the rest of the current task (a call's own context)."""
    _current.set(request_id)


def random_ids(seed: bytes) -> Callable[[], str]:
    """New request ids: 64 random bits as 16 hex digits.

    An id only has to be unique enough to find a call's lines, not unguessable,
    so a seeded PRNG serves: no system call (and no GIL release) per request.
    """
    generator = random.Random(seed)  # noqa: S311 - ids are labels, not secrets
    return lambda: f"{generator.getrandbits(64):016x}"
