"""A use case's transaction, as core hands it to a store: `Work` in, `Done` out.

A use case first checks its request and prepares what needs no store (codes,
digests, the time). What must happen atomically it hands over as `Work`: a
function of one `Transaction` that decides from what it reads there and returns
`Done`. The store runs it in one transaction and reports the outcome once the
commit is durable. A store may run the function more than once (a networked
database re-runs it after a conflict), so it must build everything it returns,
events included, from that run alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .events import Event, EventSink
from .models import UserRef

if TYPE_CHECKING:
    from .ports import Store, Transaction

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Done(Generic[T]):
    """What one run of a use case's transaction produced.

    Attributes:
        answer: what the caller gets.
        events: what happened, published once the commit is durable.
        then: a write a read-only use case would like done afterwards (e.g. store a
            trusted device's last use); the caller runs it as Work of its own.
        refusal: an error the caller gets instead of the answer, although what the
            work wrote is kept (a wrong proof code counts against the attempt budget).
    """

    answer: T
    events: Sequence[Event] = ()
    then: Work[None] | None = None
    refusal: Exception | None = None

    def answer_or_refusal(self) -> T:
        """The answer; raises the refusal instead when there is one."""
        if self.refusal is not None:
            raise self.refusal
        return self.answer


def refused(refusal: Exception, events: Sequence[Event] = ()) -> Done[Any]:
    """A run that answers with an error but keeps what it wrote (see Done.refusal)."""
    return Done(None, events, refusal=refusal)


@dataclass(frozen=True, slots=True)
class Work(Generic[T]):
    """A use case's transaction.

    Attributes:
        run: decides and writes through the transaction; may run more than once.
        user: the user whose record it reads and writes (locked while it runs, where
            the store has locks); None for work on a tenant's policy or on many users.
        tenant_id: the tenant whose policy it reads; the user's tenant by default.
        writes: False when it only reads: a store may then run it without a lock
            or a commit.
        answer_from_read: a read that can answer without `run` (e.g. a locked-out user's
            refusal): the store runs it first, as a read; when it answers None, `run`
            follows as usual. It must only answer what `run` would.
    """

    run: Callable[[Transaction], Done[T]]
    user: UserRef | None = None
    tenant_id: str = ""
    writes: bool = True
    answer_from_read: Callable[[Transaction], Done[T] | None] | None = None

    @property
    def tenant(self) -> str:
        return self.tenant_id or (self.user.tenant_id if self.user is not None else "")


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    """How a store's run of Work ended: its Done, or the error it raised."""

    done: Done[T] | None = None
    error: BaseException | None = None

    def result(self) -> Done[T]:
        """The Done; raises the error instead when the work failed."""
        if self.error is not None:
            raise self.error
        assert self.done is not None
        return self.done


# Called with the outcome once it is final (after the commit, when the work wrote).
Finish = Callable[[Outcome[Any]], None]


def perform(store: Store, events: EventSink, work: Work[T]) -> T:
    """Runs `work` to the end on the calling thread, publishes its events, runs its follow-up.

    For background jobs, tools and tests; the gRPC server runs Work without
    blocking (api/runner.py).
    """
    done = store.run(work)
    events.publish(done.events)
    if done.then is not None:
        follow_up = store.run(done.then)
        events.publish(follow_up.events)
    return done.answer_or_refusal()
