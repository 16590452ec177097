"""What core's unit tests run the use cases with: seeded randomness, a keyed hash, an event log.

No I/O anywhere: the store is support/memory_store.py, the clock support/clock.py.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, TypeVar

from twofa_server.core.events import Event, EventType
from twofa_server.core.models import Mail, MailKind, Policy, UserRef
from twofa_server.core.ports import Random
from twofa_server.core.service import ServiceSettings, TwoFactorService
from twofa_server.core.work import Work, perform

from ..support.clock import FixedClock
from ..support.memory_store import MemoryStore
from ..support.totp import totp_at

T = TypeVar("T")

ALICE = UserRef("acme", "alice")
ADDRESS = "alice@example.com"


class SeededRandom:
    """core.ports.Random from a seeded PRNG: the same seed, the same codes and tokens."""

    def __init__(self, seed: int = 2024) -> None:
        self._random = random.Random(seed)

    def token_bytes(self, n: int) -> bytes:
        return self._random.randbytes(n)

    def below(self, n: int) -> int:
        return self._random.randrange(n)


class FixedRandom:
    """core.ports.Random that answers what it is told (e.g. to pin an email code)."""

    def __init__(self, below: int = 0, byte: int = 0) -> None:
        self._below, self._byte = below, byte

    def token_bytes(self, n: int) -> bytes:
        return bytes([self._byte]) * n

    def below(self, n: int) -> int:
        return self._below % n


class FakeHasher:
    """core.ports.Hasher: HMAC-SHA256 under a fixed key, domain-separated by purpose."""

    def digest(self, purpose: bytes, data: bytes) -> bytes:
        assert len(purpose) <= 16, purpose
        return hmac.new(b"core-tests", purpose + b"\0" + data, hashlib.sha256).digest()


@dataclass
class RecordedEvents:
    """An EventSink that keeps what was published, in order."""

    events: list[Event] = field(default_factory=list)

    def publish(self, events: Sequence[Event]) -> None:
        self.events.extend(events)

    def types(self) -> list[EventType]:
        return [event.type for event in self.events]

    def take(self) -> list[Event]:
        """What was published since the last take."""
        taken, self.events = self.events, []
        return taken


@dataclass
class Core:
    """The use cases with their fakes around them; `do` runs one as the jobs do (perform)."""

    service: TwoFactorService
    store: MemoryStore
    clock: FixedClock
    events: RecordedEvents

    def do(self, work: Work[T]) -> T:
        return perform(self.store, self.events, work)

    def set_policy(self, policy: Policy, tenant_id: str = ALICE.tenant_id) -> None:
        self.store.state.policies[tenant_id] = policy

    def mails(self, kind: MailKind) -> list[Mail]:
        return [mail for mail in self.store.mail() if mail.kind is kind]

    def last_code(self, kind: MailKind = MailKind.LOGIN_CODE) -> str:
        """The code in the last queued mail of `kind`."""
        return self.mails(kind)[-1].codes[0]


def new_core(clock: FixedClock, random: Random | None = None) -> Core:
    """Core with the default policy and issuer "twofa"."""
    service = TwoFactorService(
        clock,
        random or SeededRandom(),
        FakeHasher(),
        ServiceSettings(default_policy=Policy(), default_issuer="twofa"),
    )
    return Core(service, MemoryStore(), clock, RecordedEvents())


# --- steps many tests take -------------------------------------------------------------


class EnabledApp(NamedTuple):
    secret: bytes
    backup_codes: tuple[str, ...]  # those the confirmation brought (first method only)


def enable_app(core: Core, user: UserRef = ALICE, *, advance: float = 30) -> EnabledApp:
    """Sets up and confirms the authenticator app through the use cases.

    The clock then moves `advance` seconds: by default past the confirmation's step,
    whose code counts as used.
    """
    setup = core.do(core.service.begin_authenticator_setup(user, "", ""))
    code = totp_at(setup.secret, core.clock.now())
    confirmed = core.do(core.service.confirm_authenticator_setup(user, code))
    assert confirmed.verdict.accepted, confirmed
    core.clock.advance(advance)
    return EnabledApp(setup.secret, confirmed.backup_codes)


def enable_email(core: Core, user: UserRef = ALICE, address: str = ADDRESS) -> tuple[str, ...]:
    """Sets up and confirms email; returns the backup codes it brought (first method only).

    The clock then moves past the resend cooldown.
    """
    core.do(core.service.begin_email_setup(user, address))
    confirmed = core.do(core.service.confirm_email_setup(user, core.last_code(MailKind.SETUP_CODE)))
    assert confirmed.verdict.accepted, confirmed
    core.clock.advance(60)
    return confirmed.backup_codes
