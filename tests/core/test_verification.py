"""verify_code as a pure rule: which method a code is checked as, the budget, one use per code.

The use cases run on an in-memory store with a fixed clock (see fakes.py); TOTP codes
come from the tests' own RFC 6238 implementation.
"""

from __future__ import annotations

import pytest

from twofa_server.core import devices
from twofa_server.core.errors import FailedPrecondition
from twofa_server.core.events import EventType
from twofa_server.core.models import (
    DeviceTokenStatus,
    Frequency,
    MailKind,
    Method,
    Policy,
    UserRef,
    Verification,
    VerifyReason,
    VerifyResult,
)

from ..support.totp import other_code, totp_at, wrong_code_at
from .fakes import ALICE, Core, FakeHasher, enable_app, enable_email

APP, EMAIL, BACKUP = Method.AUTHENTICATOR_APP, Method.EMAIL, Method.BACKUP_CODE
NOT_ISSUED = "2222-3333-4444"  # backup-shaped; the seeded random issues other codes


def verify(
    core: Core, code: str, method: Method = Method.UNSPECIFIED, **options: object
) -> Verification:
    return core.do(core.service.verify_code(ALICE, code, method, **options))  # type: ignore[arg-type]


def outcome(answer: Verification) -> tuple[VerifyResult, VerifyReason, Method]:
    return answer.verdict.result, answer.verdict.reason, answer.verdict.method


def login_code(core: Core) -> str:
    core.do(core.service.send_login_code(ALICE))
    return core.last_code(MailKind.LOGIN_CODE)


# --- which method a code is checked as ----------------------------------------------------


def test_six_digits_are_tried_as_every_enabled_method_and_the_one_that_fits_wins(
    core: Core,
) -> None:
    secret, _ = enable_app(core)
    enable_email(core)
    code = login_code(core)
    assert outcome(verify(core, code)) == (VerifyResult.ACCEPTED, VerifyReason.OK, EMAIL)
    app_code = totp_at(secret, core.clock.now())
    assert outcome(verify(core, app_code)) == (VerifyResult.ACCEPTED, VerifyReason.OK, APP)


def test_a_backup_shaped_code_is_checked_as_a_backup_code(core: Core) -> None:
    enable_app(core)
    answer = verify(core, NOT_ISSUED.lower())
    assert outcome(answer) == (VerifyResult.REJECTED, VerifyReason.WRONG_CODE, BACKUP)


@pytest.mark.parametrize("code", ["12345", "1234567", "12_456", "ABCD-EFGH-JKL0"])
def test_a_code_of_no_shape_is_malformed_and_counted_against_the_first_method(
    core: Core, code: str
) -> None:
    enable_app(core)
    enable_email(core)
    answer = verify(core, code)
    assert outcome(answer) == (VerifyResult.REJECTED, VerifyReason.MALFORMED_CODE, APP)
    assert answer.verdict.attempts_remaining == 4
    assert core.store.user(ALICE).attempts.failures == 1


def test_a_named_method_the_shape_does_not_fit_is_malformed(core: Core) -> None:
    secret, _ = enable_app(core)
    answer = verify(core, totp_at(secret, core.clock.now()), BACKUP)
    assert outcome(answer) == (VerifyResult.REJECTED, VerifyReason.MALFORMED_CODE, BACKUP)


def test_a_code_failing_every_method_reports_the_most_telling_reason_once(core: Core) -> None:
    enable_email(core)
    secret, _ = enable_app(core, advance=0)
    reused = totp_at(secret, core.clock.now())  # the confirmation's code; no login code sent
    answer = verify(core, reused)
    assert outcome(answer) == (VerifyResult.REJECTED, VerifyReason.CODE_REUSED, APP)
    assert answer.verdict.attempts_remaining == 4  # two methods tried, one attempt


@pytest.mark.parametrize(
    ("method", "enabled", "kind"),
    [
        (Method.UNSPECIFIED, False, "NOT_ENROLLED"),
        (EMAIL, True, "METHOD_NOT_ENABLED"),
    ],
)
def test_a_user_without_the_method_is_a_failed_precondition(
    core: Core, method: Method, enabled: bool, kind: str
) -> None:
    if enabled:
        enable_app(core)
    before = core.store.user(ALICE)
    with pytest.raises(FailedPrecondition) as refused:
        verify(core, "123456", method)
    assert refused.value.kind == kind
    assert core.store.user(ALICE) == before  # nothing counted


def test_naming_backup_codes_when_none_are_left_is_a_failed_precondition(core: Core) -> None:
    enable_app(core)
    core.store.state.users[ALICE].backup_codes = []
    with pytest.raises(FailedPrecondition) as refused:
        verify(core, NOT_ISSUED, BACKUP)
    assert (refused.value.subject, refused.value.kind) == ("BACKUP_CODE", "NO_BACKUP_CODES")


def test_a_method_the_policy_no_longer_allows_is_refused(core: Core) -> None:
    secret, _ = enable_app(core)
    core.set_policy(Policy(allowed_methods=(EMAIL,)))
    with pytest.raises(FailedPrecondition) as refused:
        verify(core, totp_at(secret, core.clock.now()))
    assert refused.value.kind == "METHOD_NOT_ALLOWED"


# --- the attempt budget ------------------------------------------------------------------


def test_wrong_codes_are_counted_until_the_lockout(core: Core) -> None:
    secret, _ = enable_app(core)
    wrong = wrong_code_at(secret, core.clock.now())
    answers = [verify(core, wrong).verdict for _ in range(5)]
    assert [a.result for a in answers] == [VerifyResult.REJECTED] * 4 + [VerifyResult.LOCKED_OUT]
    assert answers[-1].reason is VerifyReason.TOO_MANY_ATTEMPTS
    assert answers[-1].locked_until == core.clock.now() + 300


def test_while_locked_the_gate_answers_and_the_code_is_not_checked(core: Core) -> None:
    secret, codes = enable_app(core)
    for _ in range(5):
        verify(core, wrong_code_at(secret, core.clock.now()))
    core.clock.advance(100)
    locked = verify(core, codes[0])  # a right backup code
    assert outcome(locked) == (VerifyResult.LOCKED_OUT, VerifyReason.LOCKED, BACKUP)
    assert locked.verdict.retry_after == 200
    assert locked.backup_codes_remaining == 10  # not used up
    assert core.store.user(ALICE).attempts.failures == 5  # and not counted


def test_the_lockout_voids_the_outstanding_email_code(core: Core) -> None:
    enable_email(core)
    code = login_code(core)
    for _ in range(5):
        verify(core, other_code(code))
    assert core.store.user(ALICE).email.login_code is None
    core.clock.advance(300)  # the lockout is over; the code would still be within its TTL
    answer = verify(core, code)
    assert outcome(answer) == (VerifyResult.REJECTED, VerifyReason.NO_ACTIVE_CODE, EMAIL)


# --- one use per code ----------------------------------------------------------------------


def test_an_app_code_of_a_step_already_used_is_reused(core: Core) -> None:
    secret, _ = enable_app(core, advance=0)
    confirmation_code = totp_at(secret, core.clock.now())
    assert verify(core, confirmation_code).verdict.reason is VerifyReason.CODE_REUSED
    assert verify(core, totp_at(secret, core.clock.now(), +1)).verdict.accepted
    earlier = verify(core, totp_at(secret, core.clock.now()))  # inside the window, but older
    assert earlier.verdict.reason is VerifyReason.CODE_REUSED


def test_a_backup_code_is_used_once_and_counted(core: Core) -> None:
    _, codes = enable_app(core)
    first = verify(core, f" {codes[3].lower().replace('-', ' ')} ")
    assert outcome(first) == (VerifyResult.ACCEPTED, VerifyReason.OK, BACKUP)
    assert first.backup_codes_remaining == 9
    assert len(core.store.user(ALICE).backup_codes) == 9
    assert [(e.type, e.count) for e in core.events.events][-1] == (EventType.BACKUP_CODE_USED, 9)
    again = verify(core, codes[3])
    assert outcome(again) == (VerifyResult.REJECTED, VerifyReason.WRONG_CODE, BACKUP)
    assert again.verdict.attempts_remaining == 4


def test_a_new_email_code_supersedes_the_last_and_a_used_one_is_gone(core: Core) -> None:
    enable_email(core)
    first = login_code(core)
    core.clock.advance(60)
    second = login_code(core)
    assert verify(core, first, EMAIL).verdict.reason is VerifyReason.WRONG_CODE
    assert verify(core, second, EMAIL).verdict.accepted
    used = verify(core, second, EMAIL)
    assert outcome(used) == (VerifyResult.REJECTED, VerifyReason.NO_ACTIVE_CODE, EMAIL)


@pytest.mark.parametrize(
    ("age", "reason"), [(599, VerifyReason.OK), (600, VerifyReason.CODE_EXPIRED)]
)
def test_an_email_code_expires_after_the_policy_ttl(
    core: Core, age: float, reason: VerifyReason
) -> None:
    enable_email(core)
    code = login_code(core)
    core.clock.advance(age)
    assert verify(core, code, EMAIL).verdict.reason is reason


# --- remember this device ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("frequency", "right", "remember", "status"),
    [
        (Frequency.TRUSTED_DEVICE, True, False, DeviceTokenStatus.NOT_REQUESTED),
        (Frequency.TRUSTED_DEVICE, False, True, DeviceTokenStatus.CODE_NOT_ACCEPTED),
        (Frequency.EVERY_LOGIN, True, True, DeviceTokenStatus.POLICY_EVERY_LOGIN),
    ],
    ids=["not-asked", "code-refused", "every-login-policy"],
)
def test_no_device_token_unless_accepted_and_the_policy_trusts_devices(
    core: Core, frequency: Frequency, right: bool, remember: bool, status: DeviceTokenStatus
) -> None:
    core.set_policy(Policy(frequency=frequency))
    secret, _ = enable_app(core)
    now = core.clock.now()
    code = totp_at(secret, now) if right else wrong_code_at(secret, now)
    answer = verify(core, code, remember_device=remember)
    assert answer.verdict.accepted is right
    assert (answer.device_token_status, answer.device_token) == (status, "")
    assert answer.device_token_expires_at is None
    assert core.store.user(ALICE).devices == []


def test_an_accepted_code_under_a_trusting_policy_issues_a_device_token(core: Core) -> None:
    core.set_policy(Policy(frequency=Frequency.TRUSTED_DEVICE, trusted_device_days=14))
    secret, _ = enable_app(core)
    now = core.clock.now()
    answer = verify(core, totp_at(secret, now), remember_device=True, device_label="laptop")
    assert answer.device_token_status is DeviceTokenStatus.ISSUED
    assert answer.device_token_expires_at == now + 14 * 86400
    raw = devices.parse_token(answer.device_token)
    assert raw is not None
    [device] = core.store.user(ALICE).devices
    assert (device.label, device.created_at, device.last_used_at) == ("laptop", now, now)
    assert devices.token_digest(FakeHasher(), ALICE, raw) == device.digest
    other_user = devices.token_digest(FakeHasher(), UserRef("acme", "bob"), raw)
    assert other_user != device.digest
