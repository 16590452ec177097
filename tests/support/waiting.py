"""Waiting, in bounded polls, for something another thread or process does."""

from __future__ import annotations

import time
from collections.abc import Callable

POLL_SECONDS = 0.02


def wait_until(condition: Callable[[], object], what: str, *, timeout: float = 10.0) -> None:
    """Polls `condition` every 20 ms for up to `timeout` seconds; fails naming `what`.

    Args:
        condition: true once the wait is over.
        what: what is awaited, for the failure message.
        timeout: seconds before the test fails.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(POLL_SECONDS)
