"""Admission: logins keep their place however many set-ups, email sends or admin changes queue up.

Each kind of work that can come in bursts has a lane: at most `concurrency` of
its calls run at once, at most `queue` more wait for a turn (a waiting call
costs a little memory, no CPU), and a call beyond that is refused at once with
RESOURCE_EXHAUSTED, a RetryInfo and the reason SERVER_BUSY (core's RateLimited),
having changed nothing. VerifyCode, EvaluateLogin and the reads have no lane:
a burst of set-ups then takes at most its lane's share of the event loop, the
writer and the QR renderers, and the server's answer to the burst is "retry
later" rather than slowness for everyone.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from ..core.errors import RateLimited

BUSY = "SERVER_BUSY"
MIN_RETRY_SECONDS = 1.0  # the least a refusal asks callers to wait: a burst's retries spread out
_LEARNING = 0.1  # weight of the newest call in the average time a call holds its turn


class Kind(enum.Enum):
    """A kind of work with a lane of its own; the value is the metric label and config prefix."""

    SETUP = "setup"  # BeginAuthenticatorSetup (QR codes) and the set-ups' confirmations
    MAIL = "mail"  # calls that send an email code: BeginEmailSetup, SendLoginCode
    ADMIN = "admin"  # policy updates, unlocks, deletions, revocations, new backup codes


_NOUNS = {Kind.SETUP: "set-ups", Kind.MAIL: "email sends", Kind.ADMIN: "administrative changes"}


@dataclass(frozen=True)
class AdmissionSettings:
    """Per kind: calls running at once, and calls waiting beyond them before refusals."""

    setup_concurrency: int = 2
    setup_queue: int = 64
    mail_concurrency: int = 4
    mail_queue: int = 256
    admin_concurrency: int = 4
    admin_queue: int = 256

    def bounds(self, kind: Kind) -> tuple[int, int]:
        """(concurrency, queue) of `kind`."""
        return getattr(self, f"{kind.value}_concurrency"), getattr(self, f"{kind.value}_queue")


class Lane:
    """The turns of one kind of work, on one event loop.

    Args:
        kind: what it admits.
        concurrency: calls running at once, at least 1.
        queue: calls waiting beyond those, at least 0.
        on_refused: told the kind of each refused call (metrics).
    """

    def __init__(
        self, kind: Kind, concurrency: int, queue: int, on_refused: Callable[[str], None]
    ) -> None:
        self.kind = kind
        self._concurrency = concurrency
        self._queue = queue
        self._on_refused = on_refused
        self._free = concurrency
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._held = 0.0  # average seconds a call holds its turn

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Runs the block in a turn of this lane, waiting for one if need be.

        Raises:
            RateLimited: SERVER_BUSY, the lane's queue is full; nothing ran.
        """
        await self._enter()
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            yield
        finally:
            self._held += _LEARNING * (loop.time() - started - self._held)
            self._leave()

    def load(self) -> tuple[int, int]:
        """(calls running, calls waiting) now."""
        return self._concurrency - self._free, len(self._waiting)

    def retry_after(self) -> float:
        """Seconds until a call arriving now would likely find room: the queue's drain time."""
        ahead = len(self._waiting) + self._concurrency - self._free
        return max(MIN_RETRY_SECONDS, ahead * self._held / self._concurrency)

    async def _enter(self) -> None:
        if self._free > 0:  # nobody waits while a turn is free
            self._free -= 1
            return
        if len(self._waiting) >= self._queue:
            self._on_refused(self.kind.value)
            raise RateLimited(
                BUSY, self.retry_after(), f"the server is busy: too many {_NOUNS[self.kind]} wait"
            )
        turn = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():  # handed a turn it will not use
                self._leave()
            else:
                self._waiting.remove(turn)
            raise

    def _leave(self) -> None:
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)  # the turn passes straight to the next in line
                return
        self._free += 1


class Admission:
    """One lane per kind, sized by `settings`; `on_refused` is told each refusal's kind."""

    def __init__(
        self,
        settings: AdmissionSettings,
        on_refused: Callable[[str], None] = lambda kind: None,
    ) -> None:
        self._lanes = {kind: Lane(kind, *settings.bounds(kind), on_refused) for kind in Kind}

    def turn(self, kind: Kind) -> contextlib.AbstractAsyncContextManager[None]:
        """A turn in `kind`'s lane (see Lane.turn)."""
        return self._lanes[kind].turn()

    def load(self) -> dict[str, tuple[int, int]]:
        """(calls running, calls waiting) of each kind, by its name."""
        return {kind.value: lane.load() for kind, lane in self._lanes.items()}
