"""How a use case's Work is run (core/work.py `perform`), on the in-memory store of core's tests."""

from __future__ import annotations

import pytest

from twofa_server.core.errors import InvalidArgument
from twofa_server.core.events import Event, EventType
from twofa_server.core.models import Attempts, Policy, UserRef, UserState
from twofa_server.core.ports import Transaction
from twofa_server.core.work import Done, Outcome, Work, perform

from ..support.memory_store import MemoryStore
from .fakes import ALICE, RecordedEvents


def failures(tx: Transaction) -> int:
    state = tx.get_user(ALICE)
    return 0 if state is None else state.attempts.failures


def count_one(tx: Transaction) -> Done[int]:
    state = tx.get_user(ALICE) or UserState()
    state.attempts = Attempts(failures=state.attempts.failures + 1)
    tx.put_user(ALICE, state)
    return Done(state.attempts.failures, [Event(EventType.UNLOCK, "acme", reason="counted")])


def test_perform_answers_publishes_the_events_and_runs_the_follow_up() -> None:
    store, events = MemoryStore(), RecordedEvents()

    def touch(tx: Transaction) -> Done[None]:
        return Done(None, count_one(tx).events)

    def read(tx: Transaction) -> Done[int]:
        return Done(failures(tx), [Event(EventType.LOGIN_EVALUATED, "acme")], Work(touch))

    assert perform(store, events, Work(read, ALICE, writes=False)) == 0
    assert events.types() == [EventType.LOGIN_EVALUATED, EventType.UNLOCK]
    assert store.user(ALICE).attempts.failures == 1
    assert store.runs == 2


def test_work_that_raises_leaves_nothing_and_publishes_nothing() -> None:
    store, events = MemoryStore(), RecordedEvents()
    perform(store, events, Work(count_one, ALICE))
    events.take()

    def refused(tx: Transaction) -> Done[None]:
        count_one(tx)
        tx.put_policy("acme", Policy(max_attempts=3))
        raise InvalidArgument([])

    with pytest.raises(InvalidArgument):
        perform(store, events, Work(refused, ALICE))
    assert events.events == []
    assert store.user(ALICE).attempts.failures == 1
    assert store.state.policies == {}


def test_a_change_is_kept_only_once_it_is_put_back_and_reads_keep_nothing() -> None:
    store = MemoryStore()
    store.run(Work(count_one, ALICE))

    def change_without_put(tx: Transaction) -> Done[None]:
        state = tx.get_user(ALICE)
        assert state is not None
        state.attempts = Attempts()
        return Done(None)

    store.run(Work(change_without_put, ALICE))
    store.run(Work(count_one, ALICE, writes=False))  # a "read" that writes: not kept
    assert store.user(ALICE).attempts.failures == 1


def test_an_empty_state_deletes_the_user_and_users_come_in_order() -> None:
    store = MemoryStore()
    bob, carol = UserRef("acme", "bob"), UserRef("globex", "carol")

    def put(user: UserRef, state: UserState) -> Work[None]:
        def run(tx: Transaction) -> Done[None]:
            tx.put_user(user, state)
            return Done(None)

        return Work(run, user)

    for user in (carol, bob, ALICE):
        store.run(put(user, UserState(attempts=Attempts(1))))

    def after_alice(tx: Transaction) -> Done[list[UserRef]]:
        return Done([user for user, _ in tx.users_after(ALICE, 10)])

    assert store.run(Work(after_alice, writes=False)).answer == [bob, carol]
    store.run(put(bob, UserState()))
    assert bob not in store.state.users


def test_submit_finishes_at_once_with_the_outcome_and_the_store_leads() -> None:
    store = MemoryStore()
    outcomes: list[Outcome[object]] = []
    store.submit(Work(count_one, ALICE), outcomes.append)

    def refused(tx: Transaction) -> Done[None]:
        raise InvalidArgument([])

    store.submit(Work(refused, ALICE), outcomes.append)
    assert [o.done.answer if o.done else type(o.error) for o in outcomes] == [1, InvalidArgument]
    with store.lead("sweep") as leading:
        assert leading is True
