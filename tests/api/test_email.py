"""Email codes end to end: a real server and LMDB store, delivering to a real SMTP server.

Every server here sends through the outbox to an aiosmtpd sink started by the test;
codes are read from the delivered messages, never from the server's internals. The
clock is fixed: it only moves when a test moves it, and the outbox sender decides
what is due and what has expired by it.
"""

from __future__ import annotations

import secrets
import threading
from datetime import timedelta

import grpc
import pytest

from twofa_client import (
    FailedPrecondition,
    InvalidArgument,
    LoginCodeSent,
    Method,
    MethodState,
    ResourceExhausted,
    TwoFactorClient,
    TwoFactorError,
    VerifyReason,
    VerifyResult,
)
from twofa_server.app import start
from twofa_server.config import Settings

from ..support.clock import FixedClock, at
from ..support.enroll import enroll_app
from ..support.lmdb_files import in_records, store_bytes
from ..support.mail_server import (
    ADDRESS,
    WAIT_SECONDS,
    T,
    TwofaWithSmtp,
    U,
    backup_codes_in,
    code_in,
    email_status,
    enroll_email,
    error_reason,
    html_body,
    send_refused,
    text_body,
)
from ..support.totp import other_code, totp_code, wrong_code


def test_setup_mails_a_code_that_enables_email_and_brings_backup_codes(
    mailroom: TwofaWithSmtp, clock: FixedClock
) -> None:
    client = mailroom.client
    begun = client.begin_email_setup(T, U, ADDRESS)
    assert begun.masked_email == "a***@example.com"
    assert begun.code_expires_at == at(clock, 600)
    assert begun.expires_at == at(clock, 15 * 60)
    assert begun.resend_available_at == at(clock, 60)
    assert not begun.is_reset
    pending = email_status(client)
    assert pending.state is MethodState.PENDING and pending.pending_expires_at == at(clock, 900)

    message = mailroom.next_mail(ADDRESS)
    code = code_in(message)
    assert message["Subject"] == "Confirm your email address for Acme"
    assert code not in message["Subject"]
    assert code in html_body(message)
    assert "expires in 10 minutes" in text_body(message)

    confirmation = client.confirm_email_setup(T, U, f"{code[:3]} {code[3:]}")
    assert (confirmation.result, confirmation.reason) == (VerifyResult.ACCEPTED, VerifyReason.OK)
    assert len(confirmation.backup_codes) == 10
    status = client.get_user_status(T, U)
    enabled = status.method(Method.EMAIL)
    assert enabled is not None and enabled.state is MethodState.ENABLED
    assert enabled.enabled_at == at(clock) and not enabled.reset_pending
    assert status.enrolled and status.masked_email == "a***@example.com"
    assert status.backup_codes_remaining == 10

    backup = mailroom.next_mail(ADDRESS)
    assert backup["Subject"] == "Your new Acme backup codes"
    assert backup_codes_in(backup) == list(confirmation.backup_codes)
    mailroom.assert_no_more_mail()
    assert mailroom.queued() == 0  # delivered mail leaves the store

    # The code was used up with the set-up.
    with pytest.raises(FailedPrecondition) as again:
        client.confirm_email_setup(T, U, code)
    assert again.value.violations[0].type == "NO_PENDING_SETUP"


def test_wrong_confirmation_codes_share_the_budget_with_the_app(
    mailroom: TwofaWithSmtp, clock: FixedClock
) -> None:
    client = mailroom.client
    secret = enroll_app(mailroom.client, mailroom, advance=30).secret
    client.begin_email_setup(T, U, ADDRESS)
    code = mailroom.next_code()
    wrong = other_code(code)

    assert client.confirm_email_setup(T, U, wrong).attempts_remaining == 4
    assert client.verify_code(T, U, wrong_code(secret, clock.now())).attempts_remaining == 3
    rejected = client.confirm_email_setup(T, U, wrong)
    assert (rejected.reason, rejected.attempts_remaining) == (VerifyReason.WRONG_CODE, 2)
    assert client.verify_code(T, U, wrong_code(secret, clock.now())).attempts_remaining == 1
    locking = client.confirm_email_setup(T, U, wrong)
    assert (locking.result, locking.reason) == (
        VerifyResult.LOCKED_OUT,
        VerifyReason.TOO_MANY_ATTEMPTS,
    )
    assert locking.retry_after == timedelta(minutes=5)
    still = client.confirm_email_setup(T, U, code)
    assert (still.result, still.reason) == (VerifyResult.LOCKED_OUT, VerifyReason.LOCKED)

    # The lockout voided the set-up code; a new one confirms (no new backup codes).
    mailroom.advance(300)
    voided = client.confirm_email_setup(T, U, code)
    assert (voided.reason, voided.attempts_remaining) == (VerifyReason.NO_ACTIVE_CODE, 4)
    client.begin_email_setup(T, U, ADDRESS)
    confirmation = client.confirm_email_setup(T, U, mailroom.next_code())
    assert confirmation.accepted and confirmation.backup_codes == ()
    assert email_status(client).state is MethodState.ENABLED
    mailroom.assert_no_more_mail()


# --- login codes -----------------------------------------------------------------------


def test_login_code_for_a_user_with_only_email(mailroom: TwofaWithSmtp, clock: FixedClock) -> None:
    client = mailroom.client
    enroll_email(mailroom)
    sent = client.send_login_code(T, U)
    assert sent.masked_email == "a***@example.com"
    assert sent.code_expires_at == at(clock, 600)
    assert sent.resend_available_at == at(clock, 60)
    message = mailroom.next_mail(ADDRESS)
    code = code_in(message)
    assert message["Subject"] == "Your Acme sign-in code"
    assert code not in message["Subject"]

    verified = client.verify_code(T, U, code, method=Method.EMAIL)
    assert (verified.result, verified.reason) == (VerifyResult.ACCEPTED, VerifyReason.OK)
    assert verified.method is Method.EMAIL
    assert (verified.attempts_remaining, verified.backup_codes_remaining) == (5, 10)

    mailroom.advance(60)
    client.send_login_code(T, U)
    inferred = client.verify_code(T, U, mailroom.next_code())
    assert inferred.accepted and inferred.method is Method.EMAIL


def test_login_with_app_and_email_accepts_either_code_when_inferred(
    mailroom: TwofaWithSmtp, clock: FixedClock
) -> None:
    client = mailroom.client
    secret = enroll_app(mailroom.client, mailroom, advance=30).secret
    enroll_email(mailroom)
    client.send_login_code(T, U)
    code = mailroom.next_code()

    # Named as the app's code, the email code is just a wrong code.
    as_app = client.verify_code(T, U, code, method=Method.AUTHENTICATOR_APP)
    assert (as_app.result, as_app.method) == (VerifyResult.REJECTED, Method.AUTHENTICATOR_APP)
    by_app = client.verify_code(T, U, totp_code(secret, clock.now()))
    assert by_app.accepted and by_app.method is Method.AUTHENTICATOR_APP
    by_email = client.verify_code(T, U, code)
    assert by_email.accepted and by_email.method is Method.EMAIL
    assert by_email.backup_codes_remaining == 10


def test_an_email_code_works_once(mailroom: TwofaWithSmtp) -> None:
    client = mailroom.client
    enroll_email(mailroom)
    client.send_login_code(T, U)
    code = mailroom.next_code()
    assert client.verify_code(T, U, code).accepted
    again = client.verify_code(T, U, code)
    assert (again.result, again.reason) == (VerifyResult.REJECTED, VerifyReason.NO_ACTIVE_CODE)
    assert again.attempts_remaining == 4  # counted
    assert client.get_user_status(T, U).failed_attempts == 1


def test_an_email_code_expires_after_the_policy_ttl(
    mailroom: TwofaWithSmtp, clock: FixedClock
) -> None:
    client = mailroom.client
    enroll_email(mailroom)
    client.send_login_code(T, U)
    code = mailroom.next_code()
    mailroom.advance(600)
    expired = client.verify_code(T, U, code, method=Method.EMAIL)
    assert (expired.result, expired.reason) == (VerifyResult.REJECTED, VerifyReason.CODE_EXPIRED)
    assert expired.attempts_remaining == 4

    assert client.update_policy(T, email_code_ttl_seconds=60).email_code_ttl_seconds == 60
    sent = client.send_login_code(T, U)
    assert sent.code_expires_at == at(clock, 60)
    message = mailroom.next_mail()
    assert "expires in 1 minute." in text_body(message)
    mailroom.advance(60)
    short = client.verify_code(T, U, code_in(message))
    assert short.reason is VerifyReason.CODE_EXPIRED

    client.send_login_code(T, U)
    code = mailroom.next_code()
    mailroom.advance(59)
    assert client.verify_code(T, U, code).accepted


def test_a_new_code_supersedes_the_previous_one(mailroom: TwofaWithSmtp) -> None:
    client = mailroom.client
    enroll_email(mailroom)
    client.send_login_code(T, U)
    first = mailroom.next_code()
    mailroom.advance(60)
    client.send_login_code(T, U)
    second = mailroom.next_code()
    assert first != second
    old = client.verify_code(T, U, first)
    assert (old.result, old.reason) == (VerifyResult.REJECTED, VerifyReason.WRONG_CODE)
    assert client.verify_code(T, U, second).accepted


# --- send limits -----------------------------------------------------------------------


def test_resend_cooldown_is_sixty_seconds_with_retry_info(
    mailroom: TwofaWithSmtp, clock: FixedClock
) -> None:
    client = mailroom.client
    enroll_email(mailroom)
    client.send_login_code(T, U)
    mailroom.advance(15)
    refused = send_refused(client)
    assert refused.code is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert refused.retry_after == timedelta(seconds=45)
    assert error_reason(refused) == "RESEND_COOLDOWN"
    assert "45 s" in refused.message
    mailroom.advance(44)
    assert send_refused(client).retry_after == timedelta(seconds=1)
    mailroom.advance(1)
    assert client.send_login_code(T, U).resend_available_at == at(clock, 60)
    mailroom.next_code()
    mailroom.next_code()
    mailroom.assert_no_more_mail()  # the refused requests sent nothing


def test_at_most_ten_sends_an_hour(mailroom: TwofaWithSmtp, clock: FixedClock) -> None:
    client = mailroom.client
    client.begin_email_setup(T, U, ADDRESS)  # the first of the hour's ten sends, at t0
    assert client.confirm_email_setup(T, U, mailroom.next_code()).accepted
    mailroom.next_mail()  # backup codes: not a code send
    for _ in range(9):
        mailroom.advance(60)
        client.send_login_code(T, U)
    mailroom.settle()
    assert len(mailroom.sink.received) == 11

    mailroom.advance(60)  # t0 + 600 s: past the cooldown, but the hour holds ten sends
    refused = send_refused(client)
    assert error_reason(refused) == "HOURLY_SEND_LIMIT"
    assert refused.retry_after == timedelta(seconds=3000)  # until t0 leaves the hour
    mailroom.advance(2999)
    assert send_refused(client).retry_after == timedelta(seconds=1)
    mailroom.advance(1)
    client.send_login_code(T, U)
    mailroom.settle()
    assert len(mailroom.sink.received) == 12


def test_concurrent_sends_respect_the_cooldown_exactly_once(mailroom: TwofaWithSmtp) -> None:
    client = mailroom.client
    enroll_email(mailroom)
    mailroom.assert_no_more_mail()
    callers = 16
    barrier = threading.Barrier(callers)
    outcomes: list[LoginCodeSent | TwoFactorError] = []
    lock = threading.Lock()

    def send() -> None:
        barrier.wait()
        try:
            outcome: LoginCodeSent | TwoFactorError = client.send_login_code(T, U)
        except TwoFactorError as error:
            outcome = error
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=send) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_SECONDS)
    assert len(outcomes) == callers

    sent = [o for o in outcomes if isinstance(o, LoginCodeSent)]
    refused = [o for o in outcomes if isinstance(o, ResourceExhausted)]
    assert (len(sent), len(refused)) == (1, callers - 1)
    assert {error_reason(r) for r in refused} == {"RESEND_COOLDOWN"}
    assert {r.retry_after for r in refused} == {timedelta(seconds=60)}
    code = mailroom.next_code()
    mailroom.assert_no_more_mail()
    assert client.verify_code(T, U, code).accepted


# --- the attempt budget ----------------------------------------------------------------


def test_a_new_code_never_resets_the_failures(mailroom: TwofaWithSmtp) -> None:
    client = mailroom.client
    enroll_email(mailroom)
    client.send_login_code(T, U)
    code = mailroom.next_code()
    for _ in range(2):
        client.verify_code(T, U, other_code(code))
    mailroom.advance(60)
    client.send_login_code(T, U)
    fresh = mailroom.next_code()
    assert client.get_user_status(T, U).failed_attempts == 2
    third = client.verify_code(T, U, other_code(fresh))
    assert third.attempts_remaining == 2
    assert third.warning == "Please try again in five minutes."
    accepted = client.verify_code(T, U, fresh)
    assert accepted.accepted and accepted.attempts_remaining == 5


def test_the_locking_failure_voids_the_code_and_sends_are_refused_while_locked(
    mailroom: TwofaWithSmtp, clock: FixedClock
) -> None:
    client = mailroom.client
    enroll_email(mailroom)
    client.send_login_code(T, U)
    code = mailroom.next_code()
    answers = [client.verify_code(T, U, other_code(code)) for _ in range(5)]
    assert [a.result for a in answers] == [VerifyResult.REJECTED] * 4 + [VerifyResult.LOCKED_OUT]
    assert answers[-1].reason is VerifyReason.TOO_MANY_ATTEMPTS
    mailroom.next_notice("locked_out")
    locked = client.verify_code(T, U, code)
    assert (locked.result, locked.reason) == (VerifyResult.LOCKED_OUT, VerifyReason.LOCKED)

    mailroom.advance(100)
    refused = send_refused(client)
    assert error_reason(refused) == "LOCKED_OUT"
    assert refused.retry_after == timedelta(seconds=200)

    mailroom.advance(200)  # the lockout is over; the code would still be within its TTL
    voided = client.verify_code(T, U, code)
    assert (voided.result, voided.reason) == (VerifyResult.REJECTED, VerifyReason.NO_ACTIVE_CODE)
    assert voided.attempts_remaining == 4
    client.send_login_code(T, U)
    assert client.verify_code(T, U, mailroom.next_code()).accepted
    mailroom.assert_no_more_mail()


# --- reset and turn off ----------------------------------------------------------------


def test_reset_keeps_the_old_address_until_the_new_one_is_confirmed(
    mailroom: TwofaWithSmtp,
) -> None:
    client = mailroom.client
    new_address = "alice.new@example.org"
    enroll_email(mailroom)
    reset = client.begin_email_setup(T, U, new_address)
    assert reset.is_reset and reset.masked_email == "a***@example.org"
    setup_code = mailroom.next_code(new_address)
    status = client.get_user_status(T, U)
    email = status.method(Method.EMAIL)
    assert email is not None and email.state is MethodState.ENABLED and email.reset_pending
    assert status.masked_email == "a***@example.com"

    # A code sent to the unconfirmed address is no login code.
    assert not client.verify_code(T, U, setup_code).accepted

    mailroom.advance(60)
    assert client.send_login_code(T, U).masked_email == "a***@example.com"
    old_login = mailroom.next_code(ADDRESS)
    assert old_login != setup_code
    # ... and a login code confirms no address.
    assert client.confirm_email_setup(T, U, old_login).reason is VerifyReason.WRONG_CODE
    assert client.verify_code(T, U, old_login).accepted

    confirmation = client.confirm_email_setup(T, U, setup_code)
    assert confirmation.accepted and confirmation.backup_codes == ()
    mailroom.next_notice("reset_confirmed", ADDRESS)  # the old address is told
    status = client.get_user_status(T, U)
    assert status.masked_email == "a***@example.org" and status.backup_codes_remaining == 10
    email = status.method(Method.EMAIL)
    assert email is not None and not email.reset_pending

    mailroom.advance(60)
    assert client.send_login_code(T, U).masked_email == "a***@example.org"
    assert client.verify_code(T, U, mailroom.next_code(new_address)).accepted
    mailroom.assert_no_more_mail()


def test_disable_email(mailroom: TwofaWithSmtp, clock: FixedClock) -> None:
    client = mailroom.client
    enroll_email(mailroom)
    turned_off = client.disable_method(T, U, Method.EMAIL)
    assert turned_off.changed and not turned_off.status.enrolled
    mailroom.next_notice("method_disabled", ADDRESS)  # the address just turned off is told
    assert turned_off.status.masked_email == ""
    assert turned_off.status.backup_codes_remaining == 0
    assert client.disable_method(T, U, Method.EMAIL).changed is False
    with pytest.raises(FailedPrecondition) as no_email:
        client.send_login_code(T, U)
    assert no_email.value.violations[0].type == "METHOD_NOT_ENABLED"

    # With the app still on, turning email off keeps the app and the backup codes.
    enroll_app(mailroom.client, mailroom, T, "bob", advance=30)
    enroll_email(mailroom, "bob", "bob@example.com")
    kept = client.disable_method(T, "bob", Method.EMAIL)
    assert kept.changed and kept.status.enrolled and kept.status.backup_codes_remaining == 10
    mailroom.next_notice("method_disabled", "bob@example.com")
    with pytest.raises(FailedPrecondition) as not_enabled:
        client.verify_code(T, "bob", "123456", method=Method.EMAIL)
    assert not_enabled.value.violations[0].type == "METHOD_NOT_ENABLED"
    mailroom.assert_no_more_mail()


# --- refused requests ------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "alice.example.com",
        "alice@@example.com",
        "a" * 64 + "@" + ".".join(["b" * 63, "c" * 63, "d" * 58, "com"]),  # 255 characters
        "alice smith@example.com",
        " alice@example.com",
        "alice@example.com\n",
        "alice\n@example.com",
        "alice\x00@example.com",
        "alice@exa\tmple.com",
        "",
    ],
)
def test_invalid_addresses_are_refused(mailroom: TwofaWithSmtp, address: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        mailroom.client.begin_email_setup(T, U, address)
    assert refused.value.code is grpc.StatusCode.INVALID_ARGUMENT
    [violation] = refused.value.field_violations
    assert violation.field == "email"
    assert "254" in violation.description
    assert address.strip() == "" or address not in refused.value.message
    assert email_status(mailroom.client).state is MethodState.DISABLED
    assert mailroom.queued() == 0


def test_an_address_of_254_characters_is_accepted(mailroom: TwofaWithSmtp) -> None:
    address = "a" * 64 + "@" + ".".join(["b" * 63, "c" * 63, "d" * 57, "com"])
    assert len(address) == 254
    assert mailroom.client.begin_email_setup(T, U, address).masked_email.startswith("a***@b")


def test_a_policy_without_email_refuses_its_setup(mailroom: TwofaWithSmtp) -> None:
    client = mailroom.client
    client.update_policy(T, allowed_methods=[Method.AUTHENTICATOR_APP])
    with pytest.raises(FailedPrecondition) as refused:
        client.begin_email_setup(T, U, ADDRESS)
    assert refused.value.violations[0].type == "METHOD_NOT_ALLOWED"
    assert error_reason(refused.value) == "METHOD_NOT_ALLOWED"
    assert mailroom.queued() == 0


def test_a_setup_cannot_be_confirmed_once_the_policy_disallows_email(
    mailroom: TwofaWithSmtp,
) -> None:
    client = mailroom.client
    client.begin_email_setup(T, U, ADDRESS)
    code = mailroom.next_code()
    client.update_policy(T, allowed_methods=[Method.AUTHENTICATOR_APP])
    with pytest.raises(FailedPrecondition) as refused:
        client.confirm_email_setup(T, U, code)
    assert refused.value.violations[0].type == "METHOD_NOT_ALLOWED"
    assert email_status(client).state is not MethodState.ENABLED


def test_a_code_for_a_method_the_policy_no_longer_allows_is_refused(
    mailroom: TwofaWithSmtp,
) -> None:
    client = mailroom.client
    enroll_email(mailroom)
    client.send_login_code(T, U)
    code = mailroom.next_code()
    client.update_policy(T, allowed_methods=[Method.AUTHENTICATOR_APP])
    for method in (Method.UNSPECIFIED, Method.EMAIL):
        with pytest.raises(FailedPrecondition) as refused:
            client.verify_code(T, U, code, method=method)
        assert refused.value.violations[0].type == "METHOD_NOT_ALLOWED"
    assert client.get_user_status(T, U).failed_attempts == 0  # refused, not counted


# --- the outbox --------------------------------------------------------------------------


@pytest.mark.lmdb_only  # reads the LMDB files
def test_queued_mail_is_sealed_at_rest_and_deleted_once_delivered(offline: TwofaWithSmtp) -> None:
    # An address no other test uses, so finding it can only mean this store wrote it.
    address = f"sealed-{secrets.token_hex(8)}@example.net"
    client = offline.client
    client.begin_email_setup(T, U, address)
    offline.wait_for_failed_attempt()
    assert offline.queued() == 1
    at_rest = store_bytes(offline.settings.data_dir)
    assert address.encode() not in at_rest
    assert not in_records(offline.app, address.encode())

    offline.start_smtp()
    offline.advance(2)
    code = offline.next_code(address)
    offline.settle()
    assert offline.queued() == 0  # delivered, so deleted
    assert code.encode() not in at_rest  # the code was not readable while queued either
    assert client.confirm_email_setup(T, U, code).accepted
    offline.next_mail(address)
    offline.settle()
    assert address.encode() not in store_bytes(offline.settings.data_dir)


@pytest.mark.lmdb_only  # reads the LMDB files
def test_the_store_never_writes_stale_process_memory(settings: Settings, clock: FixedClock) -> None:
    # Freed heap memory holding an address, as a request or a rendered mail leaves behind.
    address = f"stale-{secrets.token_hex(8)}@example.net".encode()
    page_sized = (address * (4096 // len(address) + 1))[:4095]  # a malloc(4096) buffer
    kept: list[bytearray] = []
    freed: list[bytearray] = []
    for i in range(4096):  # every other chunk stays, so the freed ones do not coalesce
        (kept if i % 2 else freed).append(bytearray(page_sized))
    del freed
    app = start(settings, clock=clock)
    try:
        with TwoFactorClient(app.addresses[0]) as client:
            client.begin_authenticator_setup(T, U)
        assert address not in store_bytes(settings.data_dir)
    finally:
        app.stop(0)
        del kept


def test_mail_queued_while_smtp_is_down_arrives_when_it_is_back(offline: TwofaWithSmtp) -> None:
    client = offline.client
    client.begin_email_setup(T, U, ADDRESS)
    client.begin_email_setup(T, "bob", "bob@example.com")
    offline.wait_for_failed_attempt()
    count, oldest = offline.app.store.outbox_summary()
    assert (count, oldest) == (2, offline.clock.now())
    assert offline.sink.received == []

    offline.start_smtp()
    offline.advance(2)  # past the retry backoff (at most 2 s here)
    arrived = {offline.next_received().rcpt_tos[0] for _ in range(2)}
    assert arrived == {ADDRESS, "bob@example.com"}
    offline.settle()
    codes = {r.rcpt_tos[0]: code_in(r.parsed()) for r in offline.sink.received}
    assert client.confirm_email_setup(T, U, codes[ADDRESS]).accepted
    assert client.confirm_email_setup(T, "bob", codes["bob@example.com"]).accepted
    backup_mails = {offline.next_received().rcpt_tos[0] for _ in range(2)}
    assert backup_mails == {ADDRESS, "bob@example.com"}
    offline.assert_no_more_mail()


def test_mail_still_queued_at_restart_is_delivered_after_it(offline: TwofaWithSmtp) -> None:
    offline.client.begin_email_setup(T, U, ADDRESS)
    offline.wait_for_failed_attempt()
    assert offline.queued() == 1
    offline.stop()
    offline.start_smtp()
    offline.start()
    assert offline.queued() == 1
    offline.advance(2)
    code = offline.next_code()
    assert offline.client.confirm_email_setup(T, U, code).accepted
    assert backup_codes_in(offline.next_mail())
    offline.assert_no_more_mail()


def test_a_message_whose_code_expired_is_dropped_not_sent(offline: TwofaWithSmtp) -> None:
    client = offline.client
    client.begin_email_setup(T, U, ADDRESS)
    offline.wait_for_failed_attempt()
    offline.advance(600)  # the code has expired before SMTP is back
    offline.start_smtp()
    client.begin_email_setup(T, "bob", "bob@example.com")  # a fresh message behind it
    offline.advance(2)
    offline.next_mail("bob@example.com")
    offline.assert_no_more_mail()


def test_delete_user_removes_their_queued_mail(offline: TwofaWithSmtp) -> None:
    client = offline.client
    client.begin_email_setup(T, U, ADDRESS)
    client.begin_email_setup(T, "bob", "bob@example.com")
    assert offline.queued() == 2
    assert client.delete_user(T, U) is True
    assert offline.queued() == 1
    assert client.delete_user(T, U) is False
    offline.start_smtp()
    offline.advance(2)
    offline.next_mail("bob@example.com")
    offline.assert_no_more_mail()
