"""Enrollment as pure rules: begin and confirm the app and email, the first method's backup codes,
a Reset that revokes trusted devices, pending set-ups that expire."""

from __future__ import annotations

import pytest

from twofa_server.core.errors import FailedPrecondition, InvalidArgument
from twofa_server.core.models import (
    Frequency,
    MailKind,
    Method,
    MethodState,
    Policy,
    SetupConfirmation,
    UserRef,
    VerifyReason,
    VerifyResult,
)

from ..support.totp import totp_at, wrong_code_at
from .fakes import ADDRESS, ALICE, Core, enable_app, enable_email

APP, EMAIL = Method.AUTHENTICATOR_APP, Method.EMAIL
NOTIFY = "alice.backup@example.org"


def confirm_app(core: Core, secret: bytes, notify_email: str = "") -> SetupConfirmation:
    code = totp_at(secret, core.clock.now())
    return core.do(core.service.confirm_authenticator_setup(ALICE, code, notify_email))


def state_of(core: Core, method: Method) -> MethodState:
    status = core.do(core.service.get_user_status(ALICE))
    return next(m.state for m in status.methods if m.method is method)


def trust_a_device(core: Core, secret: bytes) -> None:
    core.set_policy(Policy(frequency=Frequency.TRUSTED_DEVICE))
    code = totp_at(secret, core.clock.now())
    assert core.do(core.service.verify_code(ALICE, code, remember_device=True)).device_token
    core.clock.advance(30)


# --- the authenticator app -------------------------------------------------------------------


def test_begin_makes_a_pending_secret_with_its_uri(core: Core) -> None:
    setup = core.do(core.service.begin_authenticator_setup(ALICE, "", ""))
    assert len(setup.secret) == 20
    assert setup.otpauth_uri.startswith("otpauth://totp/twofa:alice?secret=")
    assert (setup.expires_at, setup.is_reset) == (core.clock.now() + 900, False)
    assert state_of(core, APP) is MethodState.PENDING
    assert core.store.user(ALICE).authenticator.secret is None


def test_the_first_method_brings_ten_backup_codes(core: Core) -> None:
    setup = core.do(core.service.begin_authenticator_setup(ALICE, "", ""))
    confirmed = confirm_app(core, setup.secret)
    assert (confirmed.verdict.result, confirmed.verdict.reason) == (
        VerifyResult.ACCEPTED,
        VerifyReason.OK,
    )
    assert len(confirmed.backup_codes) == 10
    assert len(core.store.user(ALICE).backup_codes) == 10
    assert core.store.mail() == []  # no address to mail them to
    assert state_of(core, APP) is MethodState.ENABLED


def test_the_first_methods_codes_go_to_notify_email_when_given(core: Core) -> None:
    setup = core.do(core.service.begin_authenticator_setup(ALICE, "", ""))
    confirmed = confirm_app(core, setup.secret, notify_email=NOTIFY)
    [mail] = core.mails(MailKind.BACKUP_CODES)
    assert (mail.recipient, mail.codes, mail.expires_at) == (NOTIFY, confirmed.backup_codes, None)


@pytest.mark.parametrize(
    ("code", "reason"),
    [("wrong", VerifyReason.WRONG_CODE), ("12345", VerifyReason.MALFORMED_CODE)],
)
def test_a_refused_confirmation_counts_and_leaves_the_setup_pending(
    core: Core, code: str, reason: VerifyReason
) -> None:
    setup = core.do(core.service.begin_authenticator_setup(ALICE, "", ""))
    typed = wrong_code_at(setup.secret, core.clock.now()) if code == "wrong" else code
    confirmed = core.do(core.service.confirm_authenticator_setup(ALICE, typed))
    assert (confirmed.verdict.result, confirmed.verdict.reason) == (VerifyResult.REJECTED, reason)
    assert confirmed.backup_codes == ()
    assert core.store.user(ALICE).attempts.failures == 1
    assert state_of(core, APP) is MethodState.PENDING


def test_a_pending_setup_expires_after_fifteen_minutes(core: Core) -> None:
    setup = core.do(core.service.begin_authenticator_setup(ALICE, "", ""))
    core.clock.advance(900)
    with pytest.raises(FailedPrecondition) as refused:
        confirm_app(core, setup.secret)
    assert (refused.value.subject, refused.value.kind) == ("AUTHENTICATOR_APP", "NO_PENDING_SETUP")
    assert state_of(core, APP) is MethodState.DISABLED


def test_confirming_without_a_pending_setup_is_refused(core: Core) -> None:
    with pytest.raises(FailedPrecondition) as refused:
        core.do(core.service.confirm_authenticator_setup(ALICE, "123456"))
    assert refused.value.kind == "NO_PENDING_SETUP"


def test_a_user_id_that_cannot_label_the_app_needs_an_account_name(core: Core) -> None:
    odd = UserRef("acme", "a:b")
    with pytest.raises(InvalidArgument) as refused:
        core.service.begin_authenticator_setup(odd, "", "")
    assert [v.field for v in refused.value.violations] == ["account_name"]
    setup = core.do(core.service.begin_authenticator_setup(odd, "ab@example.com", "Acme"))
    assert setup.otpauth_uri.startswith("otpauth://totp/Acme:ab%40example.com?")


def test_a_reset_keeps_the_old_secret_until_confirmed_then_revokes_every_device(
    core: Core,
) -> None:
    old, codes = enable_app(core)
    trust_a_device(core, old)
    reset = core.do(core.service.begin_authenticator_setup(ALICE, "", ""))
    assert reset.is_reset and state_of(core, APP) is MethodState.ENABLED
    assert core.do(core.service.verify_code(ALICE, totp_at(old, core.clock.now()))).verdict.accepted
    core.clock.advance(30)
    confirmed = confirm_app(core, reset.secret)
    assert confirmed.verdict.accepted and confirmed.backup_codes == ()  # not a first method
    stored = core.store.user(ALICE)
    assert stored.devices == []
    assert stored.authenticator.secret == reset.secret
    assert len(stored.backup_codes) == 10  # the codes of the first method stay
    core.clock.advance(30)
    stale = core.do(core.service.verify_code(ALICE, totp_at(old, core.clock.now())))
    assert stale.verdict.reason is VerifyReason.WRONG_CODE
    assert core.do(core.service.verify_code(ALICE, codes[0])).verdict.accepted  # codes stay


# --- email ---------------------------------------------------------------------------------


def test_begin_email_setup_mails_a_code_to_the_pending_address(core: Core) -> None:
    sent = core.do(core.service.begin_email_setup(ALICE, ADDRESS))
    now = core.clock.now()
    assert (sent.masked_email, sent.is_reset) == ("a***@example.com", False)
    assert (sent.code_expires_at, sent.pending_expires_at) == (now + 600, now + 900)
    assert sent.resend_available_at == now + 60
    [mail] = core.mails(MailKind.SETUP_CODE)
    assert (mail.recipient, mail.expires_at) == (ADDRESS, now + 600)
    assert state_of(core, EMAIL) is MethodState.PENDING


def test_confirming_email_as_the_first_method_mails_the_codes_to_it(core: Core) -> None:
    codes = enable_email(core)
    assert len(codes) == 10
    [mail] = core.mails(MailKind.BACKUP_CODES)
    assert (mail.recipient, mail.codes) == (ADDRESS, codes)
    stored = core.store.user(ALICE).email
    assert (stored.address, stored.pending_address, stored.setup_code) == (ADDRESS, None, None)


def test_a_second_method_brings_no_new_codes_and_revokes_no_device(core: Core) -> None:
    secret, _ = enable_app(core)
    trust_a_device(core, secret)
    assert enable_email(core) == ()
    assert core.mails(MailKind.BACKUP_CODES) == []
    stored = core.store.user(ALICE)
    assert len(stored.backup_codes) == 10 and len(stored.devices) == 1
    assert stored.enabled_methods() == (APP, EMAIL)


def test_an_email_reset_keeps_the_old_address_until_the_new_one_is_confirmed(
    core: Core,
) -> None:
    enable_email(core)
    reset = core.do(core.service.begin_email_setup(ALICE, "new@example.org"))
    assert reset.is_reset
    assert core.store.user(ALICE).email.address == ADDRESS
    code = core.last_code(MailKind.SETUP_CODE)
    assert core.do(core.service.confirm_email_setup(ALICE, code)).verdict.accepted
    assert core.store.user(ALICE).email.address == "new@example.org"


def test_a_policy_without_the_method_refuses_its_setup(core: Core) -> None:
    core.set_policy(Policy(allowed_methods=(APP,)))
    with pytest.raises(FailedPrecondition) as refused:
        core.do(core.service.begin_email_setup(ALICE, ADDRESS))
    assert (refused.value.subject, refused.value.kind) == ("EMAIL", "METHOD_NOT_ALLOWED")
    assert core.store.mail() == []


# --- backup codes and turning methods off ------------------------------------------------------


def test_regenerating_backup_codes_needs_an_enabled_method_and_voids_the_old_set(
    core: Core,
) -> None:
    with pytest.raises(FailedPrecondition) as refused:
        core.do(core.service.regenerate_backup_codes(ALICE))
    assert refused.value.kind == "NOT_ENROLLED"
    _, old = enable_app(core)
    new = core.do(core.service.regenerate_backup_codes(ALICE, NOTIFY))
    assert len(new.codes) == 10 and not set(new.codes) & set(old)
    assert new.emailed_to == "a***@example.org"
    stale = core.do(core.service.verify_code(ALICE, old[0]))
    assert stale.verdict.reason is VerifyReason.WRONG_CODE


def test_turning_off_the_last_method_drops_the_codes_but_keeps_the_send_history(
    core: Core,
) -> None:
    enable_email(core)
    changed, status = core.do(core.service.disable_method(ALICE, EMAIL))
    assert changed and not status.enrolled and status.backup_codes_remaining == 0
    stored = core.store.user(ALICE)
    assert stored.backup_codes == [] and stored.email.address is None
    assert len(stored.email.sent_at) == 1  # the limits are not reset by off and on
    assert core.do(core.service.disable_method(ALICE, EMAIL)) == (False, status)
