"""Lockouts through the API: escalation, what a locked user costs, and the caller's own rules.

Escalation: each lockout that follows another without a success lasts twice as long,
up to max_lockout_seconds; a success, UnlockUser or a quiet max_lockout_seconds after
the last lockout restarts it; the sweeper keeps it. A locked user's refused codes cost
no write, and the audit log summarises them per lockout. A trusted device skips the
second factor even while locked (tests/api/test_logins.py), DeleteUser clears a
lockout, and user ids are compared as they are: `Alice` is not `alice`.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from twofa_client import (
    FailedPrecondition,
    InvalidArgument,
    LoginDecision,
    LoginReason,
    TwoFactorClient,
    Verification,
    VerifyReason,
    VerifyResult,
)
from twofa_server.app import Application
from twofa_server.config import Settings

from ..support.clock import FixedClock, at
from ..support.enroll import enroll_app
from ..support.lmdb_files import last_txnid
from ..support.totp import totp_code, wrong_code

T, U = "acme", "alice"
DAY = 86400


def lock_out(
    client: TwoFactorClient, clock: FixedClock, secret: str, user: str = U
) -> Verification:
    """Five wrong codes at the clock's time; returns the answer to the fifth (the lockout)."""
    answers = [client.verify_code(T, user, wrong_code(secret, clock.now())) for _ in range(5)]
    assert [a.result for a in answers] == [VerifyResult.REJECTED] * 4 + [VerifyResult.LOCKED_OUT]
    return answers[-1]


def lockout_lengths(
    client: TwoFactorClient, clock: FixedClock, secret: str, count: int
) -> list[float]:
    """`count` lockouts in a row, each sat out (and a second more) before the next."""
    lengths = []
    for _ in range(count):
        locked = lock_out(client, clock, secret)
        assert locked.retry_after is not None
        lengths.append(locked.retry_after.total_seconds())
        clock.advance(lengths[-1] + 1)
    return lengths


@pytest.fixture
def secret(client: TwoFactorClient, clock: FixedClock) -> str:
    return enroll_app(client, clock, T, U, advance=30).secret


# --- escalation ----------------------------------------------------------------------------


def test_each_lockout_after_another_doubles_and_every_answer_says_how_long(
    client: TwoFactorClient, clock: FixedClock, secret: str
) -> None:
    expected = [300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 76800, DAY, DAY]
    for seconds in expected:
        locked = lock_out(client, clock, secret)
        assert locked.reason is VerifyReason.TOO_MANY_ATTEMPTS
        assert locked.retry_after == timedelta(seconds=seconds)
        assert locked.locked_until == at(clock, seconds)
        # While locked, a right code is refused with the same wait, and so is the login.
        refused = client.verify_code(T, U, totp_code(secret, clock.now()))
        assert (refused.result, refused.reason) == (VerifyResult.LOCKED_OUT, VerifyReason.LOCKED)
        assert refused.retry_after == timedelta(seconds=seconds)
        login = client.evaluate_login(T, U)
        assert login.reason is LoginReason.LOCKED_OUT
        assert login.retry_after == timedelta(seconds=seconds)
        assert client.get_user_status(T, U).locked_until == at(clock, seconds)
        clock.advance(seconds + 1)


def test_a_success_restarts_the_escalation(
    client: TwoFactorClient, clock: FixedClock, secret: str
) -> None:
    assert lockout_lengths(client, clock, secret, 2) == [300, 600]
    assert client.verify_code(T, U, totp_code(secret, clock.now())).accepted
    clock.advance(30)
    assert lockout_lengths(client, clock, secret, 2) == [300, 600]


def test_unlock_user_restarts_the_escalation(
    client: TwoFactorClient, clock: FixedClock, secret: str
) -> None:
    assert lockout_lengths(client, clock, secret, 2) == [300, 600]
    lock_out(client, clock, secret)  # the third: 1200 s
    assert client.unlock_user(T, U) is True
    assert client.get_user_status(T, U).locked_until is None
    assert lockout_lengths(client, clock, secret, 1) == [300]


@pytest.mark.parametrize(("quiet", "next_lockout"), [(DAY - 60, 1200), (DAY, 300)])
def test_a_quiet_max_lockout_seconds_after_the_last_lockout_restarts_it(
    client: TwoFactorClient, clock: FixedClock, secret: str, quiet: int, next_lockout: int
) -> None:
    assert lockout_lengths(client, clock, secret, 2) == [300, 600]  # ended a second ago
    clock.advance(quiet - 1)
    assert lockout_lengths(client, clock, secret, 1) == [next_lockout]


def test_the_sweeper_keeps_the_escalation(
    app: Application, client: TwoFactorClient, clock: FixedClock, secret: str
) -> None:
    assert lockout_lengths(client, clock, secret, 2) == [300, 600]
    clock.advance(3600)  # the failures have lapsed; the escalation has not
    assert client.get_user_status(T, U).failed_attempts == 0
    app.housekeeper.sweep_all()
    assert lockout_lengths(client, clock, secret, 1) == [1200]


def test_without_escalation_every_lockout_lasts_lockout_seconds(
    client: TwoFactorClient, clock: FixedClock, secret: str
) -> None:
    policy = client.update_policy(T, lockout_escalation=False)
    assert policy.lockout_escalation is False
    assert lockout_lengths(client, clock, secret, 4) == [300] * 4


def test_max_lockout_seconds_is_the_ceiling(
    client: TwoFactorClient, clock: FixedClock, secret: str
) -> None:
    client.update_policy(T, lockout_seconds=120, max_lockout_seconds=1000)
    assert client.get_policy(T).policy.max_lockout_seconds == 1000
    assert lockout_lengths(client, clock, secret, 5) == [120, 240, 480, 960, 1000]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"max_lockout_seconds": 299}, "is 299; allowed: lockout_seconds (300) to 2592000 seconds"),
        (
            {"lockout_seconds": 900, "max_lockout_seconds": 600},
            "is 600; allowed: lockout_seconds (900) to 2592000 seconds",
        ),
        (
            {"max_lockout_seconds": 30 * DAY + 1},
            "is 2592001; allowed: lockout_seconds (300) to 2592000 seconds",
        ),
    ],
    ids=["below-lockout", "below-a-longer-lockout", "over-30-days"],
)
def test_max_lockout_seconds_out_of_range_names_the_field_and_range(
    client: TwoFactorClient, fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        client.update_policy(T, **fields)
    violations = [(v.field, v.description) for v in refused.value.field_violations]
    assert violations == [("policy.max_lockout_seconds", message)]
    assert client.get_policy(T).is_default  # nothing stored


def test_max_lockout_seconds_at_its_limits_is_accepted(client: TwoFactorClient) -> None:
    assert client.update_policy(T, max_lockout_seconds=30 * DAY).max_lockout_seconds == 30 * DAY
    assert client.update_policy(T, max_lockout_seconds=300).max_lockout_seconds == 300


# --- a locked user costs nothing -----------------------------------------------------------


def audit_lines(settings: Settings) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(settings.audit_log).read_text().splitlines()]


def refusals(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line["reason"] == "locked"]


@pytest.mark.lmdb_only  # counts LMDB's commits
def test_codes_refused_while_locked_write_nothing_and_are_audited_once_then_counted(
    app: Application, settings: Settings, client: TwoFactorClient, clock: FixedClock, secret: str
) -> None:
    lock_out(client, clock, secret)
    commits = last_txnid(settings.data_dir)
    assert commits == last_txnid(settings.data_dir)  # reading counts no commit
    for i in range(50):
        code = totp_code(secret, clock.now()) if i % 2 else wrong_code(secret, clock.now())
        assert client.verify_code(T, U, code).result is VerifyResult.LOCKED_OUT
    assert last_txnid(settings.data_dir) == commits
    assert client.get_user_status(T, U).failed_attempts == 5  # nothing counted

    # The first refusal has its line at once; the other 49 wait for the lockout's end.
    written = refusals(audit_lines(settings))
    assert len(written) == 1 and "count" not in written[0]
    assert (written[0]["event"], written[0]["result"]) == ("verification_rejected", "locked_out")
    app.observability.audit.flush_summaries()
    assert len(refusals(audit_lines(settings))) == 1  # still locked: nothing to add
    clock.advance(301)
    app.observability.audit.flush_summaries()
    summary = refusals(audit_lines(settings))[1:]
    assert [(line["user"], line["count"]) for line in summary] == [(U, 49)]
    # A write happens again once codes are checked.
    assert client.verify_code(T, U, totp_code(secret, clock.now())).accepted
    assert last_txnid(settings.data_dir) > commits


def test_refusals_still_counted_when_twofa_stops_are_written_then(
    app: Application, settings: Settings, client: TwoFactorClient, clock: FixedClock, secret: str
) -> None:
    lock_out(client, clock, secret)
    for _ in range(7):
        client.verify_code(T, U, wrong_code(secret, clock.now()))
    assert len(refusals(audit_lines(settings))) == 1
    app.stop(0)
    summary = refusals(audit_lines(settings))[1:]
    assert [(line["user"], line["count"]) for line in summary] == [(U, 6)]


# --- the caller's job -------------------------------------------------------------------------


def test_delete_user_clears_a_lockout(
    client: TwoFactorClient, clock: FixedClock, secret: str
) -> None:
    lock_out(client, clock, secret)
    assert client.delete_user(T, U) is True
    status = client.get_user_status(T, U)
    assert (status.enrolled, status.failed_attempts, status.locked_until) == (False, 0, None)
    login = client.evaluate_login(T, U)
    assert (login.decision, login.reason) == (
        LoginDecision.NOT_REQUIRED,
        LoginReason.NOT_ENROLLED_OPTIONAL,
    )
    # Enrolled again, the user starts with a fresh budget and no escalation.
    new = enroll_app(client, clock, T, U, advance=30).secret
    assert lockout_lengths(client, clock, new, 1) == [300]


def test_user_ids_are_compared_as_given_alice_and_upper_case_alice_are_two_users(
    client: TwoFactorClient, clock: FixedClock, secret: str
) -> None:
    for spelling in ("Alice", "ALICE", "alice "):
        assert not client.get_user_status(T, spelling).enrolled
        login = client.evaluate_login(T, spelling)
        assert login.reason is LoginReason.NOT_ENROLLED_OPTIONAL, spelling
        with pytest.raises(FailedPrecondition):
            client.verify_code(T, spelling, totp_code(secret, clock.now()))
    # Locking one out leaves the other alone, and the other way round.
    lock_out(client, clock, secret)
    other = enroll_app(client, clock, T, "Alice", advance=0).secret
    assert client.get_user_status(T, "Alice").locked_until is None
    assert client.get_user_status(T, U).locked_until is not None
    clock.advance(30)
    assert client.verify_code(T, "Alice", totp_code(other, clock.now())).accepted
