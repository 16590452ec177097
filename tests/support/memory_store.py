"""An in-memory Store for core's unit tests: core.ports.Store and Transaction, and no I/O.

`run` hands the work a deep copy of the whole state and keeps it only if the work
returns (a refusal leaves nothing behind, as a rolled-back transaction would);
`get_user` gives a copy too, so a change is kept only once the work puts it back.
`submit` finishes at once; `lead` always says yes (a single instance).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from twofa_server.core.models import Mail, Policy, UserRef, UserState
from twofa_server.core.work import Done, Finish, Outcome, Work

T = TypeVar("T")


@dataclass
class MemoryState:
    """Everything the store holds."""

    users: dict[UserRef, UserState] = field(default_factory=dict)
    policies: dict[str, Policy] = field(default_factory=dict)
    outbox: list[tuple[UserRef, Mail]] = field(default_factory=list)


class MemoryTransaction:
    """One run of a use case's transaction over a private copy of the state."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state

    def get_user(self, user: UserRef) -> UserState | None:
        found = self._state.users.get(user)
        return None if found is None else copy.deepcopy(found)

    def put_user(self, user: UserRef, state: UserState) -> None:
        if state.is_empty():
            self._state.users.pop(user, None)
        else:
            self._state.users[user] = copy.deepcopy(state)

    def delete_user(self, user: UserRef) -> bool:
        queued = [entry for entry in self._state.outbox if entry[0] == user]
        self._state.outbox = [entry for entry in self._state.outbox if entry[0] != user]
        return self._state.users.pop(user, None) is not None or bool(queued)

    def get_policy(self, tenant_id: str) -> Policy | None:
        return self._state.policies.get(tenant_id)

    def put_policy(self, tenant_id: str, policy: Policy) -> None:
        self._state.policies[tenant_id] = policy

    def users_after(
        self, after: UserRef | None, limit: int
    ) -> list[tuple[UserRef, UserState | None]]:
        """Users in (tenant, user) order, starting after `after`."""
        ordered = sorted(self._state.users, key=lambda ref: (ref.tenant_id, ref.user_id))
        if after is not None:
            ordered = [
                ref
                for ref in ordered
                if (ref.tenant_id, ref.user_id) > (after.tenant_id, after.user_id)
            ]
        return [(ref, copy.deepcopy(self._state.users[ref])) for ref in ordered[:limit]]

    def enqueue_mail(self, user: UserRef, mail: Mail) -> None:
        self._state.outbox.append((user, mail))


class MemoryStore:
    """A Store that keeps its state in memory (see the module docstring)."""

    def __init__(self) -> None:
        self.state = MemoryState()
        self.runs = 0  # how many works ran, follow-ups included

    def run(self, work: Work[T]) -> Done[T]:
        self.runs += 1
        if work.answer_from_read is not None:
            early = work.answer_from_read(MemoryTransaction(copy.deepcopy(self.state)))
            if early is not None:
                return early
        working = copy.deepcopy(self.state)
        done = work.run(MemoryTransaction(working))  # an exception leaves self.state as it was
        if work.writes:
            self.state = working
        return done

    def submit(self, work: Work[Any], finish: Finish) -> None:
        try:
            done = self.run(work)
        except Exception as error:
            finish(Outcome(error=error))
        else:
            finish(Outcome(done=done))

    @contextmanager
    def lead(self, job: str) -> Iterator[bool]:
        yield True

    # --- for the tests' eyes ---

    def user(self, user: UserRef) -> UserState:
        """The stored state of `user` (empty when the store holds none), as a copy."""
        return copy.deepcopy(self.state.users.get(user, UserState()))

    def mail(self) -> list[Mail]:
        """Every queued message, oldest first."""
        return [mail for _, mail in self.state.outbox]
