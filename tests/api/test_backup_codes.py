"""Backup codes end to end: created with the first method, emailed, each usable once.

The servers here mail through a real SMTP server (see support/mail_server.py);
codes are taken from the API's answers and from the delivered messages.
"""

from __future__ import annotations

import math
import re

import grpc
import pytest

from twofa_client import (
    BackupCodes,
    FailedPrecondition,
    InvalidArgument,
    Method,
    TwoFactorClient,
    VerifyReason,
    VerifyResult,
)

from ..support.clock import FixedClock
from ..support.enroll import enroll_app
from ..support.lmdb_files import in_records, store_bytes
from ..support.mail_server import (
    ADDRESS,
    T,
    TwofaWithSmtp,
    U,
    backup_codes_in,
    enroll_email,
    html_body,
)
from ..support.totp import totp_code, wrong_code

NOTIFY = "alice.backup@example.org"
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
SHAPE = re.compile(rf"[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}")
NOT_ISSUED = "2222-3333-4444"  # backup-shaped; one in 2^60 that the server issued it


def remaining(client: TwoFactorClient, user: str = U) -> int:
    return client.get_user_status(T, user).backup_codes_remaining


def regenerate(client: TwoFactorClient, user: str = U, notify_email: str = "") -> BackupCodes:
    return client.regenerate_backup_codes(T, user, notify_email=notify_email)


def spellings(code: str) -> list[str]:
    """Ways a person may type `code`: any case, with or without separators."""
    bare = code.replace("-", "")
    return [
        code,
        code.lower(),
        bare,
        bare.lower(),
        code.replace("-", " "),
        f" {bare[:6].lower()} {bare[6:]} ",
        f"{bare[:4]}-{bare[4:].lower()}",
    ]


def test_the_first_method_brings_ten_codes_returned_once_and_emailed(
    mailroom: TwofaWithSmtp,
) -> None:
    # 32 symbols carry 5 bits each: 12 of them make 60 bits; nothing to misread.
    assert len(set(ALPHABET)) == 32 and not set(ALPHABET) & set("01IO")
    assert 12 * math.log2(len(ALPHABET)) >= 60

    _, codes = enroll_app(mailroom.client, mailroom, advance=30, notify_email=NOTIFY)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(SHAPE.fullmatch(code) for code in codes), codes
    symbols = set("".join(codes).replace("-", ""))
    assert len(symbols) >= 20  # 120 symbols drawn: the whole alphabet is in use

    message = mailroom.next_mail(NOTIFY)
    assert message["Subject"] == "Your new Acme backup codes"
    assert backup_codes_in(message) == list(codes)
    assert all(code in html_body(message) for code in codes)
    assert not any(code in message["Subject"] for code in codes)
    assert remaining(mailroom.client) == 10
    mailroom.assert_no_more_mail()

    # Shown once: confirming again (a Reset of the app) brings none.
    client = mailroom.client
    reset = client.begin_authenticator_setup(T, U)
    again = client.confirm_authenticator_setup(
        T, U, totp_code(reset.secret, mailroom.clock.now()), notify_email=NOTIFY
    )
    assert again.accepted and again.backup_codes == ()
    mailroom.assert_no_more_mail()


def test_without_an_address_the_codes_are_only_returned(mailroom: TwofaWithSmtp) -> None:
    _, codes = enroll_app(mailroom.client, mailroom, advance=30)
    assert len(codes) == 10
    assert remaining(mailroom.client) == 10
    mailroom.assert_no_more_mail()


def test_a_bad_notify_email_is_refused_before_anything_changes(mailroom: TwofaWithSmtp) -> None:
    client = mailroom.client
    setup = client.begin_authenticator_setup(T, U)
    with pytest.raises(InvalidArgument) as refused:
        client.confirm_authenticator_setup(
            T, U, totp_code(setup.secret, mailroom.clock.now()), notify_email="not an address"
        )
    [violation] = refused.value.field_violations
    assert violation.field == "notify_email" and "254" in violation.description
    assert not client.get_user_status(T, U).enrolled


def test_each_code_works_once_in_any_order_and_spelling(mailroom: TwofaWithSmtp) -> None:
    client = mailroom.client
    _, codes = enroll_app(mailroom.client, mailroom, advance=30)
    order = [codes[i] for i in (7, 2, 9, 0, 5, 3, 8, 1, 6)]  # codes[4] is kept for last
    for used, code in enumerate(order, start=1):
        typed = spellings(code)[used % 7]
        method = Method.BACKUP_CODE if used % 2 else Method.UNSPECIFIED
        verified = client.verify_code(T, U, typed, method=method)
        assert (verified.result, verified.reason) == (VerifyResult.ACCEPTED, VerifyReason.OK)
        assert verified.method is Method.BACKUP_CODE  # inferred from the shape, too
        assert verified.backup_codes_remaining == 10 - used
        assert remaining(client) == 10 - used

    reused = client.verify_code(T, U, codes[7].lower())
    assert (reused.result, reused.method) == (VerifyResult.REJECTED, Method.BACKUP_CODE)
    # A used code's digest is deleted, so the server cannot tell it from a wrong one; the
    # API's CODE_REUSED would be the more helpful reason, either refuses it.
    assert reused.reason in (VerifyReason.WRONG_CODE, VerifyReason.CODE_REUSED)
    assert reused.attempts_remaining == 4  # counted
    assert reused.backup_codes_remaining == 1

    last = client.verify_code(T, U, codes[4])
    assert last.accepted and last.backup_codes_remaining == 0 and last.attempts_remaining == 5
    assert remaining(client) == 0
    none_left = client.verify_code(T, U, codes[4])
    assert (none_left.result, none_left.reason) == (
        VerifyResult.REJECTED,
        VerifyReason.NO_ACTIVE_CODE,
    )
    with pytest.raises(FailedPrecondition) as refused:
        client.verify_code(T, U, codes[4], method=Method.BACKUP_CODE)
    assert refused.value.violations[0].type == "NO_BACKUP_CODES"


def test_a_wrong_backup_code_counts_against_the_shared_budget(
    mailroom: TwofaWithSmtp, clock: FixedClock
) -> None:
    client = mailroom.client
    secret, codes = enroll_app(mailroom.client, mailroom, advance=30)
    first = client.verify_code(T, U, NOT_ISSUED)
    assert (first.result, first.reason, first.method) == (
        VerifyResult.REJECTED,
        VerifyReason.WRONG_CODE,
        Method.BACKUP_CODE,
    )
    assert first.attempts_remaining == 4
    assert client.verify_code(T, U, wrong_code(secret, clock.now())).attempts_remaining == 3
    assert client.verify_code(T, U, NOT_ISSUED, method=Method.BACKUP_CODE).attempts_remaining == 2
    assert client.verify_code(T, U, wrong_code(secret, clock.now())).attempts_remaining == 1
    locking = client.verify_code(T, U, NOT_ISSUED.replace("-", ""))
    assert (locking.result, locking.reason) == (
        VerifyResult.LOCKED_OUT,
        VerifyReason.TOO_MANY_ATTEMPTS,
    )

    # While locked a right code is not checked, so it is not used up either.
    locked = client.verify_code(T, U, codes[0])
    assert (locked.result, locked.reason) == (VerifyResult.LOCKED_OUT, VerifyReason.LOCKED)
    assert remaining(client) == 10
    mailroom.advance(300)
    assert client.verify_code(T, U, codes[0]).backup_codes_remaining == 9


def test_regenerate_replaces_the_set_and_emails_it_to_the_enabled_address(
    mailroom: TwofaWithSmtp,
) -> None:
    client = mailroom.client
    old = enroll_email(mailroom)
    assert client.verify_code(T, U, old[0]).backup_codes_remaining == 9
    mailroom.next_notice("backup_code_used")

    new = client.regenerate_backup_codes(T, U)
    assert new.emailed_to == "a***@example.com"
    assert len(new.codes) == 10 and len(set(new.codes)) == 10
    assert all(SHAPE.fullmatch(code) for code in new.codes)
    assert not set(new.codes) & set(old)
    assert backup_codes_in(mailroom.next_mail(ADDRESS)) == list(new.codes)
    assert remaining(client) == 10

    stale = client.verify_code(T, U, old[1])
    assert (stale.result, stale.reason) == (VerifyResult.REJECTED, VerifyReason.WRONG_CODE)
    fresh = client.verify_code(T, U, new.codes[3].lower())
    assert fresh.accepted and fresh.backup_codes_remaining == 9
    mailroom.next_notice("backup_code_used")

    # The enabled address takes precedence over notify_email.
    again = regenerate(client, notify_email=NOTIFY)
    assert again.emailed_to == "a***@example.com"
    assert backup_codes_in(mailroom.next_mail(ADDRESS)) == list(again.codes)
    assert client.verify_code(T, U, new.codes[4]).reason is VerifyReason.WRONG_CODE
    mailroom.assert_no_more_mail()


def test_regenerate_without_email_mails_notify_email_or_nobody(mailroom: TwofaWithSmtp) -> None:
    client = mailroom.client
    _, first = enroll_app(mailroom.client, mailroom, advance=30)

    unsent = client.regenerate_backup_codes(T, U)
    assert unsent.emailed_to == "" and len(unsent.codes) == 10
    mailroom.assert_no_more_mail()

    notified = regenerate(client, notify_email=NOTIFY)
    assert notified.emailed_to == "a***@example.org"
    assert backup_codes_in(mailroom.next_mail(NOTIFY)) == list(notified.codes)
    assert client.verify_code(T, U, unsent.codes[0]).reason is VerifyReason.WRONG_CODE
    assert client.verify_code(T, U, first[0]).reason is VerifyReason.WRONG_CODE
    assert client.verify_code(T, U, notified.codes[0]).accepted

    with pytest.raises(InvalidArgument) as refused:
        regenerate(client, notify_email="no-at-sign.example.org")
    assert [v.field for v in refused.value.field_violations] == ["notify_email"]
    assert client.verify_code(T, U, notified.codes[1]).accepted  # nothing changed
    mailroom.assert_no_more_mail()


def test_regenerate_needs_an_enabled_method(mailroom: TwofaWithSmtp) -> None:
    client = mailroom.client
    with pytest.raises(FailedPrecondition) as unknown:
        client.regenerate_backup_codes(T, U)
    assert unknown.value.violations[0].type == "NOT_ENROLLED"
    client.begin_authenticator_setup(T, U)  # pending is not enabled
    with pytest.raises(FailedPrecondition) as pending:
        client.regenerate_backup_codes(T, U)
    assert pending.value.violations[0].type == "NOT_ENROLLED"
    assert remaining(client) == 0


def test_turning_off_the_last_method_deletes_the_codes(mailroom: TwofaWithSmtp) -> None:
    client = mailroom.client
    _, codes = enroll_app(mailroom.client, mailroom, advance=30)
    enroll_email(mailroom)  # the second method brings no new set

    one_left = client.disable_method(T, U, Method.AUTHENTICATOR_APP)
    assert one_left.status.enrolled and one_left.status.backup_codes_remaining == 10
    none_left = client.disable_method(T, U, Method.EMAIL)
    assert not none_left.status.enrolled and none_left.status.backup_codes_remaining == 0
    assert remaining(client) == 0
    with pytest.raises(FailedPrecondition) as refused:
        client.verify_code(T, U, codes[0], method=Method.BACKUP_CODE)
    assert refused.value.code is grpc.StatusCode.FAILED_PRECONDITION
    assert refused.value.violations[0].type == "NOT_ENROLLED"  # no method, so no codes either

    # Enabling a method again is a first method again: a new set, the old one void.
    _, fresh = enroll_app(mailroom.client, mailroom, advance=30)
    assert len(fresh) == 10 and not set(fresh) & set(codes)
    assert client.verify_code(T, U, codes[0]).reason is VerifyReason.WRONG_CODE
    assert client.verify_code(T, U, fresh[0]).accepted


def test_enabling_a_second_method_keeps_the_set(mailroom: TwofaWithSmtp) -> None:
    client = mailroom.client
    _, codes = enroll_app(mailroom.client, mailroom, advance=30, notify_email=NOTIFY)
    mailroom.next_mail(NOTIFY)
    client.begin_email_setup(T, U, ADDRESS)
    confirmation = client.confirm_email_setup(T, U, mailroom.next_code(ADDRESS))
    assert confirmation.accepted and confirmation.backup_codes == ()
    assert remaining(client) == 10
    mailroom.assert_no_more_mail()  # no new set was mailed
    assert client.verify_code(T, U, codes[0]).backup_codes_remaining == 9
    mailroom.next_notice("backup_code_used")

    # The other way round: email first, then the app (notify_email is not used then).
    enroll_email(mailroom, "bob", "bob@example.com")
    setup = client.begin_authenticator_setup(T, "bob")
    app = client.confirm_authenticator_setup(
        T, "bob", totp_code(setup.secret, mailroom.clock.now()), notify_email=NOTIFY
    )
    assert app.accepted and app.backup_codes == ()
    assert remaining(client, "bob") == 10
    mailroom.assert_no_more_mail()


@pytest.mark.lmdb_only  # reads the LMDB files
def test_codes_never_reach_the_lmdb_files(offline: TwofaWithSmtp) -> None:
    def forms(codes: tuple[str, ...] | list[str]) -> list[bytes]:
        return [
            form.encode()
            for code in codes
            for form in (code, code.replace("-", ""), code.lower(), code.replace("-", "").lower())
        ]

    _, codes = enroll_app(offline.client, offline, advance=30, notify_email=NOTIFY)
    offline.wait_for_failed_attempt()
    queued = store_bytes(offline.settings.data_dir)
    assert not [form for form in forms(codes) if form in queued]
    assert not [form for form in forms(codes) if in_records(offline.app, form)]

    offline.start_smtp()
    offline.advance(2)
    assert backup_codes_in(offline.next_mail(NOTIFY)) == list(codes)
    offline.settle()
    renewed = offline.client.regenerate_backup_codes(T, U).codes  # returned, not mailed
    delivered = store_bytes(offline.settings.data_dir)
    assert not [form for form in forms(codes) + forms(renewed) if form in delivered]
    assert offline.queued() == 0
