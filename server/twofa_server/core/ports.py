"""The small interfaces core needs from the outside world; core owns them."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar

from .models import Mail, Policy, QueuedMail, UserRef, UserState
from .work import Done, Finish, Work

T = TypeVar("T")


class Clock(Protocol):
    """Wall-clock time."""

    def now(self) -> float:
        """Returns the current Unix time in seconds."""
        ...


class Random(Protocol):
    """A cryptographically secure source of randomness."""

    def token_bytes(self, n: int) -> bytes:
        """Returns `n` random bytes."""
        ...

    def below(self, n: int) -> int:
        """Returns a uniformly random integer in [0, n)."""
        ...


class Hasher(Protocol):
    """Keyed hashing of short secrets (codes, tokens) that are stored only hashed."""

    def digest(self, purpose: bytes, data: bytes) -> bytes:
        """Returns a 32-byte keyed hash of `data`, domain-separated by `purpose`.

        Args:
            purpose: at most 16 bytes naming what is hashed, e.g. b"backup-code".
            data: the secret to hash.
        """
        ...


class Transaction(Protocol):
    """One run of a use case's transaction (core/work.py): the user's record, the tenant's
    policy and the outbox, read and written as one atomic change."""

    def get_user(self, user: UserRef) -> UserState | None:
        """Returns the user's state, or None when twofa holds no record of them."""
        ...

    def put_user(self, user: UserRef, state: UserState) -> None:
        """Stores the user's state (a state with nothing in it deletes the record)."""
        ...

    def delete_user(self, user: UserRef) -> bool:
        """Removes every record of the user, queued mail included; returns whether any existed."""
        ...

    def get_policy(self, tenant_id: str) -> Policy | None:
        """Returns the tenant's own policy, or None when it has none."""
        ...

    def put_policy(self, tenant_id: str, policy: Policy) -> None: ...

    def users_after(
        self, after: UserRef | None, limit: int
    ) -> list[tuple[UserRef, UserState | None]]:
        """Up to `limit` users in key order, starting after `after` (from the first if None).

        For fleet-wide work (the sweeper), which locks no single user. A user whose
        record cannot be read (damaged, or sealed under a key this instance lacks) comes
        with None, so one bad record does not stop the work.
        """
        ...

    def enqueue_mail(self, user: UserRef, mail: Mail) -> None:
        """Queues `mail` for delivery; it is sent only if this transaction commits."""
        ...


class Store(Protocol):
    """Runs use cases' transactions; an answer is given only once its commit is durable."""

    def submit(self, work: Work[Any], finish: Finish) -> None:
        """Runs `work` in one transaction, and calls `finish` with the outcome once it is
        final: after a durable commit when the work wrote, at once when it only read.

        The work runs again from the start after a conflict with another writer (where
        the store has them); `finish` may be called on any thread and must be quick.
        A store failure reaches `finish` as StoreFull or StoreUnavailable.
        """
        ...

    def run(self, work: Work[T]) -> Done[T]:
        """Runs `work` as `submit` does and waits for the outcome (for jobs and tools).

        Raises:
            StoreFull: the change does not fit in the store.
            StoreUnavailable: the store cannot be used.
            Whatever the work raised: nothing it wrote is kept.
        """
        ...

    def lead(self, job: str) -> AbstractContextManager[bool]:
        """Whether this instance runs fleet-wide `job` (e.g. "sweep") now: True for the
        one instance of a fleet holding the job's lock until the block ends; always
        True for a store with a single instance."""
        ...


class Outbox(Protocol):
    """The durable queue of mail, as the delivery worker sees it (a fleet-wide job)."""

    def claim_due(self, now: float, limit: int) -> list[QueuedMail]:
        """Up to `limit` messages due at `now`, oldest first, that no other sender holds;
        they are this sender's until it reschedules or removes them (or its claim lapses)."""
        ...

    def next_attempt_at(self) -> float | None:
        """When the earliest queued message is due; None when the outbox is empty."""
        ...

    def reschedule(self, mail_id: bytes, attempts: int, next_attempt_at: float) -> None:
        """Records a failed attempt and when to try again."""
        ...

    def remove(self, mail_id: bytes) -> None:
        """Deletes a message: delivered, expired or given up on."""
        ...

    def on_mail_queued(self, wake: Callable[[], None]) -> None:
        """Calls `wake` after each commit (of this instance) that queued mail, so the
        sender need not wait for its next poll."""
        ...
