"""Proof of the current factor for sensitive changes (policy `require_proof_for_changes`).

With the policy on, a Reset or new set-up while a method is enabled, turning an enabled
method off and new backup codes need a current code in `proof_code` (app, email login
code or backup code), checked like VerifyCode's under the same attempt budget and used
up. Without it, or with the policy off, twofa trusts its caller.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import grpc
import pytest

from twofa_client import (
    FailedPrecondition,
    Method,
    ResourceExhausted,
    TwoFactorClient,
    UserStatus,
)

from ..support.clock import FixedClock
from ..support.enroll import enroll_app
from ..support.mail_server import ADDRESS, TwofaWithSmtp, enroll_email, error_reason
from ..support.totp import totp_code, wrong_code

T, U = "acme", "alice"
APP = Method.AUTHENTICATOR_APP

# Each sensitive change, made with a given proof code (or none).
Change = Callable[[TwoFactorClient, str], Any]
CHANGES: dict[str, Change] = {
    "reset-app": lambda c, proof: c.begin_authenticator_setup(T, U, proof_code=proof),
    "email-setup": lambda c, proof: c.begin_email_setup(T, U, ADDRESS, proof_code=proof),
    "disable-app": lambda c, proof: c.disable_method(T, U, APP, proof_code=proof),
    "new-backup-codes": lambda c, proof: c.regenerate_backup_codes(T, U, proof_code=proof),
}


def require_proof(client: TwoFactorClient, on: bool = True) -> None:
    assert client.update_policy(T, require_proof_for_changes=on).require_proof_for_changes is on


def unchanged(status: UserStatus) -> tuple[object, ...]:
    """What a refused change must not have touched (the attempt count aside)."""
    return status.methods, status.masked_email, status.backup_codes_remaining


def proof_refusal(error: FailedPrecondition) -> str:
    assert error.code is grpc.StatusCode.FAILED_PRECONDITION
    [violation] = error.violations
    assert violation.subject == "proof_code"
    return violation.type


@pytest.mark.parametrize("change", list(CHANGES))
def test_each_sensitive_change_needs_a_right_proof_that_is_then_used_up(
    client: TwoFactorClient, clock: FixedClock, change: str
) -> None:
    make = CHANGES[change]
    require_proof(client)
    enrolled = enroll_app(client, clock, T, U, advance=30)
    secret = enrolled.secret
    before = client.get_user_status(T, U)

    with pytest.raises(FailedPrecondition) as missing:
        make(client, "")
    assert proof_refusal(missing.value) == "PROOF_REQUIRED"
    after_missing = client.get_user_status(T, U)
    assert unchanged(after_missing) == unchanged(before)
    assert after_missing.failed_attempts == 0  # no code, no attempt

    with pytest.raises(FailedPrecondition) as wrong:
        make(client, wrong_code(secret, clock.now()))
    assert proof_refusal(wrong.value) == "PROOF_REJECTED"
    assert "4 attempts left" in wrong.value.message
    after_wrong = client.get_user_status(T, U)
    assert unchanged(after_wrong) == unchanged(before)
    assert after_wrong.failed_attempts == 1

    proof = totp_code(secret, clock.now())
    made = make(client, proof)
    after = client.get_user_status(T, U)
    assert after.failed_attempts == 0  # a right code is a success
    if change == "new-backup-codes":
        assert set(made.codes).isdisjoint(enrolled.backup_codes)
    else:
        assert unchanged(after) != unchanged(before)

    if change == "disable-app":
        assert not after.enrolled  # nothing left that a code could prove
        return
    # The code proved once; it cannot prove again.
    with pytest.raises(FailedPrecondition) as reused:
        CHANGES["new-backup-codes"](client, proof)
    assert proof_refusal(reused.value) == "PROOF_REJECTED"
    assert "CODE_REUSED" in reused.value.message


def test_wrong_proofs_share_the_budget_and_a_locked_user_gets_retry_info(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    require_proof(client)
    secret = enroll_app(client, clock, T, U, advance=30).secret
    bad = wrong_code(secret, clock.now())
    for _ in range(2):
        assert not client.verify_code(T, U, bad).accepted
    for _ in range(2):
        with pytest.raises(FailedPrecondition):
            client.regenerate_backup_codes(T, U, proof_code=bad)
    with pytest.raises(ResourceExhausted) as locking:
        client.regenerate_backup_codes(T, U, proof_code=bad)  # the fifth failure
    assert locking.value.retry_after == timedelta(seconds=300)
    clock.advance(60)
    with pytest.raises(ResourceExhausted) as locked:
        client.disable_method(T, U, APP, proof_code=totp_code(secret, clock.now()))
    assert locked.value.retry_after == timedelta(seconds=240)
    assert error_reason(locked.value) == "LOCKED_OUT"
    status = client.get_user_status(T, U)
    assert status.enabled_methods == (APP,) and status.failed_attempts == 5


def test_an_email_login_code_proves_once(mailroom: TwofaWithSmtp) -> None:
    client = mailroom.client
    require_proof(client)
    enroll_email(mailroom)
    client.send_login_code(T, U)
    code = mailroom.next_code()
    assert client.begin_authenticator_setup(T, U, proof_code=code).secret  # a new method
    with pytest.raises(FailedPrecondition) as reused:
        client.regenerate_backup_codes(T, U, proof_code=code)
    assert proof_refusal(reused.value) == "PROOF_REJECTED"


def test_a_backup_code_proves_once(client: TwoFactorClient, clock: FixedClock) -> None:
    require_proof(client)
    enrolled = enroll_app(client, clock, T, U, advance=30)
    code = enrolled.backup_codes[0]
    assert client.begin_authenticator_setup(T, U, proof_code=code).is_reset
    assert client.get_user_status(T, U).backup_codes_remaining == 9
    with pytest.raises(FailedPrecondition) as reused:
        client.begin_authenticator_setup(T, U, proof_code=code)
    assert proof_refusal(reused.value) == "PROOF_REJECTED"
    new = client.regenerate_backup_codes(T, U, proof_code=enrolled.backup_codes[1])
    assert len(new.codes) == 10


@pytest.mark.parametrize("change", list(CHANGES))
def test_with_the_policy_off_no_proof_is_needed(
    client: TwoFactorClient, clock: FixedClock, change: str
) -> None:
    assert client.get_policy(T).policy.require_proof_for_changes is False  # the default
    enroll_app(client, clock, T, U, advance=30)
    require_proof(client)
    require_proof(client, on=False)  # turned off again
    before = client.get_user_status(T, U)
    CHANGES[change](client, "")
    after = client.get_user_status(T, U)
    assert after.failed_attempts == 0
    assert unchanged(after) != unchanged(before) or change == "new-backup-codes"


def test_a_first_setup_and_cancelling_a_pending_one_need_no_proof(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    require_proof(client)
    setup = client.begin_authenticator_setup(T, U)  # nothing enabled yet
    assert not setup.is_reset
    client.begin_email_setup(T, U, ADDRESS)
    assert client.disable_method(T, U, Method.EMAIL).changed  # a pending set-up, cancelled
    confirmed = client.confirm_authenticator_setup(T, U, totp_code(setup.secret, clock.now()))
    assert confirmed.accepted
    clock.advance(60)  # past the resend cooldown
    with pytest.raises(FailedPrecondition) as now_needed:
        client.begin_email_setup(T, U, ADDRESS)
    assert proof_refusal(now_needed.value) == "PROOF_REQUIRED"
