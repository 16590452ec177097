"""The small interfaces core needs from the outside world; core owns them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from .models import Mail, Policy, QueuedMail, UserRef, UserState

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
    """One store transaction: every read and write of one use case."""

    def get_user(self, user: UserRef) -> UserState | None:
        """Returns the user's state, or None when twofa holds no record of them."""
        ...

    def put_user(self, user: UserRef, state: UserState) -> None:
        """Stores the user's state (a state with nothing in it deletes the record)."""
        ...

    def delete_user(self, user: UserRef) -> bool:
        """Removes every record of the user; returns whether there was any."""
        ...

    def get_policy(self, tenant_id: str) -> Policy | None:
        """Returns the tenant's own policy, or None when it has none."""
        ...

    def put_policy(self, tenant_id: str, policy: Policy) -> None: ...

    def users_after(self, after: UserRef | None, limit: int) -> list[tuple[UserRef, UserState]]:
        """Up to `limit` users in key order, starting after `after` (from the first if None)."""
        ...

    def enqueue_mail(self, user: UserRef, mail: Mail) -> None:
        """Queues `mail` for delivery; it is sent only if this transaction commits."""
        ...


class Store(Protocol):
    """Runs use cases as transactions."""

    def read(self, work: Callable[[Transaction], T]) -> T:
        """Runs `work` in a read-only snapshot and returns its result."""
        ...

    def write(self, work: Callable[[Transaction], T]) -> T:
        """Runs `work` in one write transaction and returns its result.

        The changes are durable on disk before this returns. If `work` raises,
        nothing it wrote is kept and the exception propagates.

        Raises:
            StoreFull: the change does not fit in the store.
            StoreUnavailable: the store cannot be written.
        """
        ...


class Outbox(Protocol):
    """The durable queue of mail, as the delivery worker sees it."""

    def due_mail(self, now: float, limit: int) -> list[QueuedMail]:
        """Up to `limit` messages whose next attempt is due at `now`, oldest first."""
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
