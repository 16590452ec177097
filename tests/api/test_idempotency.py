"""Idempotency keys on VerifyCode and both set-up confirmations: a retry is not an attempt.

A repeat with the same key and code within five minutes gets the first answer again
(`replayed`), counts nothing, and hands out nothing secret a second time: no device
token, no backup codes. The same key with another code is INVALID_ARGUMENT.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from twofa_client import (
    DeviceTokenStatus,
    Frequency,
    InvalidArgument,
    TwoFactorClient,
    Verification,
    VerifyReason,
    VerifyResult,
)

from ..support.at_once import verify_all_at_once
from ..support.clock import FixedClock
from ..support.enroll import enroll_app
from ..support.mail_server import ADDRESS, TwofaWithSmtp, backup_codes_in
from ..support.totp import totp_code, wrong_code

T, U = "acme", "alice"
KEY = "6f1c2a9e-3b7d-4e0f-9a51-0c8d2e7b4f13"
ACCEPTED = (VerifyResult.ACCEPTED, VerifyReason.OK)


def outcome(answer: Verification) -> tuple[VerifyResult, VerifyReason]:
    return answer.result, answer.reason


def test_a_retry_with_the_same_key_gets_the_first_answer_and_no_second_token(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    client.update_policy(T, frequency=Frequency.TRUSTED_DEVICE)
    secret = enroll_app(client, clock, T, U, advance=30).secret
    code = totp_code(secret, clock.now())

    first = client.verify_code(T, U, code, remember_device=True, idempotency_key=KEY)
    assert outcome(first) == ACCEPTED and not first.replayed
    assert first.device_token_status is DeviceTokenStatus.ISSUED and first.device_token

    clock.advance(10)
    again = client.verify_code(T, U, code, remember_device=True, idempotency_key=KEY)
    assert outcome(again) == ACCEPTED and again.replayed
    assert again.device_token_status is DeviceTokenStatus.ALREADY_ISSUED
    assert not again.device_token
    assert again.device_token_expires_at == first.device_token_expires_at
    assert again.backup_codes_remaining == first.backup_codes_remaining == 10
    assert len(client.list_trusted_devices(T, U)) == 1
    assert client.get_user_status(T, U).failed_attempts == 0

    # Without the key the same code is a second attempt, refused and counted.
    reused = client.verify_code(T, U, code)
    assert reused.reason is VerifyReason.CODE_REUSED and not reused.replayed
    assert client.get_user_status(T, U).failed_attempts == 1


def test_a_refused_code_retried_with_its_key_is_counted_once(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    secret = enroll_app(client, clock, T, U, advance=30).secret
    bad = wrong_code(secret, clock.now())
    first = client.verify_code(T, U, bad, idempotency_key=KEY)
    assert (first.reason, first.attempts_remaining, first.replayed) == (
        VerifyReason.WRONG_CODE,
        4,
        False,
    )
    for _ in range(5):
        again = client.verify_code(T, U, bad, idempotency_key=KEY)
        assert (again.reason, again.attempts_remaining, again.replayed) == (
            VerifyReason.WRONG_CODE,
            4,
            True,
        )
    assert client.get_user_status(T, U).failed_attempts == 1


def test_a_replayed_lockout_counts_its_wait_from_now(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    secret = enroll_app(client, clock, T, U, advance=30).secret
    for i in range(4):
        client.verify_code(T, U, wrong_code(secret, clock.now()), idempotency_key=f"try-{i}")
    locking = wrong_code(secret, clock.now())
    locked = client.verify_code(T, U, locking, idempotency_key="try-4")
    assert locked.reason is VerifyReason.TOO_MANY_ATTEMPTS
    assert locked.retry_after == timedelta(seconds=300)
    clock.advance(100)
    again = client.verify_code(T, U, locking, idempotency_key="try-4")
    assert again.replayed and again.reason is VerifyReason.TOO_MANY_ATTEMPTS
    assert again.retry_after == timedelta(seconds=200)
    assert again.locked_until == locked.locked_until


@pytest.mark.parametrize("other", ["another code", "same code, other options"])
def test_the_same_key_with_another_request_is_invalid_argument(
    client: TwoFactorClient, clock: FixedClock, other: str
) -> None:
    secret = enroll_app(client, clock, T, U, advance=30).secret
    code = totp_code(secret, clock.now())
    assert client.verify_code(T, U, code, idempotency_key=KEY).accepted
    with pytest.raises(InvalidArgument) as refused:
        if other == "another code":
            client.verify_code(T, U, totp_code(secret, clock.now(), 1), idempotency_key=KEY)
        else:
            client.verify_code(T, U, code, remember_device=True, idempotency_key=KEY)
    assert [v.field for v in refused.value.field_violations] == ["idempotency_key"]
    assert client.get_user_status(T, U).failed_attempts == 0


def test_after_five_minutes_the_key_no_longer_replays(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    secret = enroll_app(client, clock, T, U, advance=30).secret
    code = totp_code(secret, clock.now())
    assert client.verify_code(T, U, code, idempotency_key=KEY).accepted
    clock.advance(299)
    assert client.verify_code(T, U, code, idempotency_key=KEY).replayed
    clock.advance(1)
    late = client.verify_code(T, U, code, idempotency_key=KEY)
    assert not late.replayed
    assert late.reason is VerifyReason.WRONG_CODE  # checked again: five minutes stale
    assert client.get_user_status(T, U).failed_attempts == 1


CALLERS = 64


def test_64_concurrent_copies_with_one_key_are_one_acceptance_and_63_replays(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    secret = enroll_app(client, clock, T, U, advance=30).secret
    answers = verify_all_at_once(
        client, T, U, totp_code(secret, clock.now()), CALLERS, idempotency_key=KEY
    )
    assert Counter((outcome(a), a.replayed) for a in answers) == {
        (ACCEPTED, False): 1,
        (ACCEPTED, True): CALLERS - 1,
    }
    status = client.get_user_status(T, U)
    assert (status.failed_attempts, status.locked_until) == (0, None)


def test_64_concurrent_copies_without_a_key_lock_the_user_out(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    """What the keys are for: the same retries, each counted as an attempt."""
    secret = enroll_app(client, clock, T, U, advance=30).secret
    answers = verify_all_at_once(client, T, U, totp_code(secret, clock.now()), CALLERS)
    assert Counter(outcome(a) for a in answers)[ACCEPTED] == 1
    assert client.get_user_status(T, U).locked_until is not None


# --- the set-up confirmations ---------------------------------------------------------------


def test_a_repeated_app_confirmation_returns_no_backup_codes_again(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    setup = client.begin_authenticator_setup(T, U)
    code = totp_code(setup.secret, clock.now())
    first = client.confirm_authenticator_setup(T, U, code, idempotency_key=KEY)
    assert first.accepted and not first.replayed and len(first.backup_codes) == 10
    again = client.confirm_authenticator_setup(T, U, code, idempotency_key=KEY)
    assert again.accepted and again.replayed and again.backup_codes == ()
    status = client.get_user_status(T, U)
    assert (status.backup_codes_remaining, status.failed_attempts) == (10, 0)
    # The first set still works: the repeat issued no new one.
    assert client.verify_code(T, U, first.backup_codes[0]).accepted
    with pytest.raises(InvalidArgument):
        client.confirm_authenticator_setup(T, U, "000000", idempotency_key=KEY)


def test_a_repeated_email_confirmation_returns_and_mails_no_backup_codes_again(
    mailroom: TwofaWithSmtp,
) -> None:
    client = mailroom.client
    client.begin_email_setup(T, U, ADDRESS)
    code = mailroom.next_code()
    first = client.confirm_email_setup(T, U, code, idempotency_key=KEY)
    assert first.accepted and len(first.backup_codes) == 10
    assert backup_codes_in(mailroom.next_mail()) == list(first.backup_codes)
    again = client.confirm_email_setup(T, U, code, idempotency_key=KEY)
    assert again.accepted and again.replayed and again.backup_codes == ()
    assert client.get_user_status(T, U).failed_attempts == 0
    mailroom.assert_no_more_mail()
