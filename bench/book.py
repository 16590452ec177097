"""Which user the next request is about, so that every answer is known in advance.

Kept by the load generator for the whole run (across scenarios and concurrency
levels), because the server remembers too: failed attempts and the last used
time step of every user. Every queue starts in `Population.order()`, so
consecutive requests are about users far apart in the store.
"""

from __future__ import annotations

from collections import deque

from .users import BENCH_MAX_ATTEMPTS, Population, time_step

# Wrong codes per user per run, below the bench tenant's max_attempts, so no user
# is ever locked out (failures lapse only after lockout_seconds, longer than a run).
# One below: the 20th failure would lock. A small store (--compare-users 1000)
# needs every one of them.
WRONG_CODES_PER_USER = BENCH_MAX_ATTEMPTS - 1
# A code is sent only if its step stays inside the server's +/-1 window for this
# many seconds either side of the client's clock read: a step boundary passing
# while a request is in flight must not turn a fresh code into a refused one.
CLOCK_MARGIN_SECONDS = 2.0

assert WRONG_CODES_PER_USER < BENCH_MAX_ATTEMPTS


def fresh_window(now: float) -> tuple[int, int]:
    """The steps the server accepts for a request sent at `now`, whatever its delay."""
    return time_step(now + CLOCK_MARGIN_SECONDS) - 1, time_step(now - CLOCK_MARGIN_SECONDS) + 1


class UserBook:
    """Per-user memory of what the bench sent: wrong codes, and the last accepted step."""

    def __init__(self, population: Population) -> None:
        self.population = population
        order = population.order()
        self._wrong_uses = [0] * population.count
        self._wrong_queue: deque[int] = deque(order)
        self._last_step = [0] * population.count
        # Users that may have a fresh step, in round-robin order; users whose
        # steps of the current window are used up wait in `_spent` (ordered by
        # their last step) until the window moves on. A user with a request in
        # flight is in neither, so no two codes of one user are ever in flight.
        self._ready: deque[int] = deque(order)
        self._spent: deque[int] = deque()
        # For requests any user may get any number of times (logins, set-ups).
        self._order = order
        self._next = 0

    # --- any user, round-robin ----------------------------------------------------------

    def take_any(self) -> int:
        """The next user in round-robin order, for requests without a per-user limit."""
        user = self._order[self._next]
        self._next = (self._next + 1) % len(self._order)
        return user

    # --- wrong codes -----------------------------------------------------------------

    def take_wrong(self) -> int | None:
        """The next user to send a wrong code for, or None when every user had its share."""
        if not self._wrong_queue:
            return None
        user = self._wrong_queue.popleft()
        self._wrong_uses[user] += 1
        if self._wrong_uses[user] < WRONG_CODES_PER_USER:
            self._wrong_queue.append(user)
        return user

    def wrong_codes_left(self) -> int:
        """How many wrong codes the run may still send."""
        return sum(WRONG_CODES_PER_USER - uses for uses in self._wrong_uses)

    # --- correct codes ---------------------------------------------------------------

    def take_fresh(self, now: float) -> tuple[int, int] | None:
        """A user and a step whose code the server has not seen yet, or None if none is left.

        Steps of one user are handed out in increasing order, each at most once.
        The caller must `give_back` the user when the answer arrives.
        """
        low, high = fresh_window(now)
        while self._spent and self._last_step[self._spent[0]] < high:
            self._ready.append(self._spent.popleft())
        for _ in range(len(self._ready)):
            user = self._ready.popleft()
            step = max(self._last_step[user] + 1, low)
            if step <= high:
                return user, step
            self._spent.append(user)
        return None

    def give_back(self, user: int, step: int) -> None:
        """Returns a user taken by `take_fresh`; its step counts as used whatever the answer."""
        self._last_step[user] = max(self._last_step[user], step)
        self._ready.append(user)

    def fresh_codes(self, now: float) -> int:
        """How many correct codes could be sent right now without a replay."""
        low, high = fresh_window(now)
        return sum(max(0, high - max(last + 1, low) + 1) for last in self._last_step)
