"""Enrolling a user's authenticator app through the API: the one helper every layer uses."""

from __future__ import annotations

from typing import NamedTuple, Protocol

from twofa_client import TwoFactorClient

from .totp import totp_code

TENANT, USER = "acme", "alice"


class SteppingClock(Protocol):
    """The clock the server under test runs on, as a test moves it.

    A FixedClock, the WallClock of a separate process, or a TwofaWithSmtp (which also
    lets its outbox look again when it moves).
    """

    def now(self) -> float: ...

    def advance(self, seconds: float) -> None: ...


class EnrolledApp(NamedTuple):
    secret: str  # base32, as the app was given it
    backup_codes: tuple[str, ...]  # those the confirmation returned (first method only)


def enroll_app(
    client: TwoFactorClient,
    clock: SteppingClock,
    tenant: str = TENANT,
    user: str = USER,
    *,
    advance: float,
    account_name: str = "",
    notify_email: str = "",
) -> EnrolledApp:
    """Sets up and confirms the authenticator app with the code of the current step.

    Args:
        advance: seconds to move the clock afterwards: 30 lets the confirmation's
            step pass (its code counts as used), so the next code is accepted; 0
            leaves the clock where it was.
        account_name, notify_email: passed to the set-up and the confirmation.
    """
    setup = client.begin_authenticator_setup(tenant, user, account_name=account_name)
    confirmation = client.confirm_authenticator_setup(
        tenant, user, totp_code(setup.secret, clock.now()), notify_email=notify_email
    )
    assert confirmation.accepted, confirmation
    if advance:
        clock.advance(advance)
    return EnrolledApp(setup.secret, confirmation.backup_codes)
