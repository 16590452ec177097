"""The email method as pure rules: send limits (cooldown, hourly cap), set-up and login codes,
and the masked address."""

from __future__ import annotations

import copy

import pytest

from twofa_server.core import email
from twofa_server.core.errors import FailedPrecondition, RateLimited
from twofa_server.core.models import EmailCode, EmailMethod, MailKind, VerifyReason

from .fakes import ADDRESS, ALICE, Core, enable_email

NOW = 1_800_000_000.0
RIGHT, WRONG = b"r" * 32, b"w" * 32


def sent(*seconds_ago: float) -> EmailMethod:
    """A method whose codes were sent that many seconds before NOW, oldest first; the last
    login code is still outstanding."""
    return EmailMethod(
        sent_at=[NOW - s for s in sorted(seconds_ago, reverse=True)],
        login_code=EmailCode(RIGHT, NOW + 600),
    )


# --- send limits -------------------------------------------------------------------------


def test_nothing_holds_back_the_first_code() -> None:
    assert email.send_limit(EmailMethod(), NOW) is None
    assert email.next_send_at(EmailMethod(), NOW) == NOW


@pytest.mark.parametrize(("ago", "limit"), [(0, NOW + 60), (59, NOW + 1), (60, None)])
def test_one_code_a_minute(ago: float, limit: float | None) -> None:
    method = sent(ago)
    expected = None if limit is None else ("RESEND_COOLDOWN", limit)
    assert email.send_limit(method, NOW) == expected
    assert email.next_send_at(method, NOW) == (NOW if limit is None else limit)


@pytest.mark.parametrize(
    "login_code",
    [None, EmailCode(RIGHT, NOW - 1)],  # used (or voided); expired
)
def test_the_cooldown_holds_only_while_a_code_is_outstanding(login_code: EmailCode | None) -> None:
    method = EmailMethod(sent_at=[NOW - 5], login_code=login_code)
    assert email.send_limit(method, NOW) is None
    assert email.next_send_at(method, NOW) == NOW


def test_an_outstanding_setup_code_holds_the_cooldown_too() -> None:
    method = EmailMethod(sent_at=[NOW - 5], setup_code=EmailCode(RIGHT, NOW + 600))
    assert email.send_limit(method, NOW) == ("RESEND_COOLDOWN", NOW + 55)


def test_the_hourly_cap_counts_codes_that_were_used() -> None:
    ten = EmailMethod(sent_at=[NOW - 60 * i for i in range(10, 0, -1)])  # none outstanding
    assert email.send_limit(ten, NOW) == ("HOURLY_SEND_LIMIT", NOW - 600 + 3600)


def test_the_first_login_code_after_email_set_up_needs_no_wait(core: Core) -> None:
    core.do(core.service.begin_email_setup(ALICE, ADDRESS))
    core.clock.advance(5)
    core.do(core.service.confirm_email_setup(ALICE, core.last_code(MailKind.SETUP_CODE)))

    sent = core.do(core.service.send_login_code(ALICE))  # 5 s after the set-up code

    assert sent.resend_available_at == core.clock.now() + 60  # this code now holds it
    with pytest.raises(RateLimited) as refused:
        core.do(core.service.send_login_code(ALICE))
    assert refused.value.reason == "RESEND_COOLDOWN"


def test_after_an_accepted_login_code_the_next_login_gets_one_at_once(core: Core) -> None:
    enable_email(core)
    core.do(core.service.send_login_code(ALICE))
    core.clock.advance(5)
    verified = core.do(core.service.verify_code(ALICE, core.last_code()))
    assert verified.verdict.accepted

    core.do(core.service.send_login_code(ALICE))

    assert len(core.mails(MailKind.LOGIN_CODE)) == 2


def test_ten_codes_an_hour() -> None:
    ten = sent(*(600 - 60 * i for i in range(10)))  # one a minute, the last 60 s ago
    assert email.send_limit(ten, NOW) == ("HOURLY_SEND_LIMIT", NOW - 600 + 3600)
    nine = sent(*(540 - 60 * i for i in range(9)))
    assert email.send_limit(nine, NOW) is None
    # Once the oldest of the ten is an hour old, the next may go.
    assert email.send_limit(ten, NOW + 3000) is None


def test_record_send_forgets_sends_older_than_an_hour() -> None:
    method = sent(3601, 3600, 10)
    email.record_send(method, NOW)
    assert method.sent_at == [NOW - 10, NOW]


def test_the_use_case_refuses_a_send_inside_the_limits_and_stores_nothing(core: Core) -> None:
    enable_email(core)
    core.do(core.service.send_login_code(ALICE))
    before = core.store.user(ALICE)
    core.clock.advance(15)
    with pytest.raises(RateLimited) as refused:
        core.do(core.service.send_login_code(ALICE))
    assert (refused.value.reason, refused.value.retry_after) == ("RESEND_COOLDOWN", 45)
    assert core.store.user(ALICE) == before
    assert len(core.mails(MailKind.LOGIN_CODE)) == 1


def test_the_use_case_needs_an_enabled_address(core: Core) -> None:
    core.do(core.service.begin_email_setup(ALICE, ADDRESS))  # pending is not enabled
    with pytest.raises(FailedPrecondition) as refused:
        core.do(core.service.send_login_code(ALICE))
    assert (refused.value.subject, refused.value.kind) == ("EMAIL", "METHOD_NOT_ENABLED")


def test_a_sent_login_code_is_queued_with_its_expiry(core: Core) -> None:
    enable_email(core)
    answer = core.do(core.service.send_login_code(ALICE))
    now = core.clock.now()
    assert (answer.masked_email, answer.code_expires_at) == ("a***@example.com", now + 600)
    assert answer.resend_available_at == now + 60
    [mail] = core.mails(MailKind.LOGIN_CODE)
    assert (mail.recipient, mail.expires_at) == (ADDRESS, now + 600)
    assert len(mail.codes[0]) == 6 and mail.codes[0].isdigit()


# --- set-up and login codes ----------------------------------------------------------------


def pending(code: EmailCode | None) -> EmailMethod:
    method = EmailMethod()
    email.begin_setup(method, "new@example.org", NOW)
    method.setup_code = code
    return method


def test_begin_setup_makes_the_address_pending_for_fifteen_minutes() -> None:
    method = EmailMethod(address="old@example.org")
    email.begin_setup(method, "new@example.org", NOW)
    assert (method.address, method.pending_address) == ("old@example.org", "new@example.org")
    assert method.pending_expires_at == NOW + 900
    assert method.pending_live(NOW + 899) and not method.pending_live(NOW + 900)


def test_confirm_setup_enables_the_address_and_uses_the_code_up() -> None:
    method = pending(EmailCode(RIGHT, NOW + 600))
    assert email.confirm_setup(method, RIGHT, NOW + 10) is VerifyReason.OK
    assert (method.address, method.enabled_at) == ("new@example.org", NOW + 10)
    assert (method.pending_address, method.pending_expires_at) == (None, 0.0)
    assert method.setup_code is None


@pytest.mark.parametrize(
    ("code", "typed", "at", "reason"),
    [
        (EmailCode(RIGHT, NOW + 600), WRONG, NOW, VerifyReason.WRONG_CODE),
        (EmailCode(RIGHT, NOW + 600), RIGHT, NOW + 600, VerifyReason.CODE_EXPIRED),
        (None, RIGHT, NOW, VerifyReason.NO_ACTIVE_CODE),
    ],
    ids=["wrong", "expired", "none"],
)
def test_a_refused_setup_code_changes_nothing(
    code: EmailCode | None, typed: bytes, at: float, reason: VerifyReason
) -> None:
    method = pending(code)
    before = copy.deepcopy(method)
    assert email.confirm_setup(method, typed, at) is reason
    assert method == before


def test_a_login_code_is_accepted_once() -> None:
    method = EmailMethod(address=ADDRESS, login_code=EmailCode(RIGHT, NOW + 600))
    assert email.verify_login_code(method, WRONG, NOW) is VerifyReason.WRONG_CODE
    assert email.verify_login_code(method, RIGHT, NOW) is VerifyReason.OK
    assert email.verify_login_code(method, RIGHT, NOW) is VerifyReason.NO_ACTIVE_CODE


def test_void_codes_drops_both_outstanding_codes() -> None:
    method = EmailMethod(
        address=ADDRESS,
        setup_code=EmailCode(RIGHT, NOW + 600),
        login_code=EmailCode(RIGHT, NOW + 600),
        sent_at=[NOW],
    )
    email.void_codes(method)
    assert (method.setup_code, method.login_code, method.sent_at) == (None, None, [NOW])


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("alice@example.com", "a***@example.com"),
        ("x@y.org", "x***@y.org"),
        ("Zoë.Long.Name+tag@mail.example.co.uk", "Z***@mail.example.co.uk"),
    ],
)
def test_mask_keeps_the_first_letter_and_the_domain(address: str, masked: str) -> None:
    assert email.mask(address) == masked
