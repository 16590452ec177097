"""Security notices as pure rules: which change queues which notice, to whom, with what facts,
in whose letterhead; none without an enabled address, none a tenant turned off, none for a
change that did not commit.

The use cases run on an in-memory store (see fakes.py): a queued notice is a Mail in its
outbox, so "sent exactly for the changes that committed" is what the store kept.
"""

from __future__ import annotations

import dataclasses

import pytest

from twofa_server.core.errors import FailedPrecondition
from twofa_server.core.models import (
    NOTICE_KINDS,
    Frequency,
    Letterhead,
    Mail,
    MailKind,
    Method,
    NoticeFacts,
    NoticeKind,
    Policy,
    UserRef,
)

from ..support.totp import totp_at
from .fakes import ADDRESS, ALICE, Core, enable_app, enable_email

NEW_ADDRESS = "alice@new.example"
TENANT = Policy(brand="Acme", sender_name="Acme Security", sender_address="s@acme.example")
LETTERHEAD = Letterhead("Acme", "Acme Security", "s@acme.example", "")


def notices(core: Core) -> list[Mail]:
    return [mail for mail in core.store.mail() if mail.kind.is_notice]


def only_notice(core: Core) -> Mail:
    [notice] = notices(core)
    return notice


# --- each change, its notice --------------------------------------------------------------


def test_turning_an_enabled_method_off_tells_the_enabled_address(core: Core) -> None:
    enable_app(core)
    enable_email(core)
    core.set_policy(TENANT)

    core.do(core.service.disable_method(ALICE, Method.AUTHENTICATOR_APP))

    notice = only_notice(core)
    assert notice.kind is MailKind.METHOD_DISABLED and notice.recipient == ADDRESS
    assert notice.notice == NoticeFacts(at=core.clock.now(), method=Method.AUTHENTICATOR_APP)
    assert (notice.codes, notice.expires_at) == ((), None)
    assert notice.letterhead == LETTERHEAD


def test_turning_email_off_tells_that_address(core: Core) -> None:
    enable_email(core)

    core.do(core.service.disable_method(ALICE, Method.EMAIL))

    notice = only_notice(core)
    assert (notice.kind, notice.recipient) == (MailKind.METHOD_DISABLED, ADDRESS)
    assert notice.notice is not None and notice.notice.method is Method.EMAIL


def test_cancelling_a_pending_set_up_or_turning_off_a_disabled_method_tells_nobody(
    core: Core,
) -> None:
    enable_email(core)
    core.do(core.service.begin_authenticator_setup(ALICE, "", ""))
    core.do(core.service.disable_method(ALICE, Method.AUTHENTICATOR_APP))  # pending only
    core.do(core.service.disable_method(ALICE, Method.AUTHENTICATOR_APP))  # nothing
    assert notices(core) == []


def test_a_confirmed_email_reset_tells_the_old_address(core: Core) -> None:
    enable_email(core)
    core.do(core.service.begin_email_setup(ALICE, NEW_ADDRESS))
    assert notices(core) == []  # beginning a Reset changes nothing yet

    code = core.last_code(MailKind.SETUP_CODE)
    core.do(core.service.confirm_email_setup(ALICE, code))

    notice = only_notice(core)
    assert (notice.kind, notice.recipient) == (MailKind.RESET_CONFIRMED, ADDRESS)
    assert notice.notice == NoticeFacts(at=core.clock.now(), method=Method.EMAIL)


def test_a_confirmed_app_reset_tells_the_enabled_address_and_a_first_set_up_does_not(
    core: Core,
) -> None:
    enable_email(core)
    enable_app(core)  # a second method, not a Reset
    assert notices(core) == []

    setup = core.do(core.service.begin_authenticator_setup(ALICE, "", ""))
    code = totp_at(setup.secret, core.clock.now())
    assert core.do(core.service.confirm_authenticator_setup(ALICE, code)).verdict.accepted

    notice = only_notice(core)
    assert (notice.kind, notice.recipient) == (MailKind.RESET_CONFIRMED, ADDRESS)
    assert notice.notice is not None and notice.notice.method is Method.AUTHENTICATOR_APP


def test_new_backup_codes_mailed_to_the_address_need_no_notice_besides(core: Core) -> None:
    enable_email(core)
    core.do(core.service.regenerate_backup_codes(ALICE))
    assert notices(core) == []
    assert core.mails(MailKind.BACKUP_CODES)[-1].recipient == ADDRESS


def test_new_backup_codes_not_mailed_bring_a_notice_without_them(core: Core) -> None:
    enable_email(core)
    core.set_policy(Policy(email_backup_codes=False))
    mailed_before = len(core.mails(MailKind.BACKUP_CODES))

    issued = core.do(core.service.regenerate_backup_codes(ALICE, notify_email="x@example.org"))

    assert issued.emailed_to == "" and len(issued.codes) == 10
    assert len(core.mails(MailKind.BACKUP_CODES)) == mailed_before  # not emailed
    notice = only_notice(core)
    assert (notice.kind, notice.recipient) == (MailKind.BACKUP_CODES_REGENERATED, ADDRESS)
    assert notice.notice == NoticeFacts(at=core.clock.now())
    assert notice.codes == ()


def test_the_lockout_tells_when_it_ends(core: Core) -> None:
    enable_email(core)
    for _ in range(4):
        core.do(core.service.verify_code(ALICE, "000000"))
    assert notices(core) == []

    locked = core.do(core.service.verify_code(ALICE, "000000")).verdict

    notice = only_notice(core)
    assert (notice.kind, notice.recipient) == (MailKind.LOCKED_OUT, ADDRESS)
    assert notice.notice == NoticeFacts(at=core.clock.now(), until=locked.locked_until)
    # Codes refused while locked change nothing, so they tell nothing more.
    core.do(core.service.verify_code(ALICE, "000000"))
    assert len(notices(core)) == 1


def test_a_lockout_at_a_set_up_confirmation_tells_the_enabled_address_only(core: Core) -> None:
    bob = UserRef(ALICE.tenant_id, "bob")
    core.do(core.service.begin_email_setup(bob, NEW_ADDRESS))
    for _ in range(5):
        core.do(core.service.confirm_email_setup(bob, "000000"))
    assert notices(core) == []  # no enabled address yet: nobody to tell

    enable_app(core)
    enable_email(core)
    core.do(core.service.begin_authenticator_setup(ALICE, "", ""))
    for _ in range(5):
        core.do(core.service.confirm_authenticator_setup(ALICE, "000000"))
    assert [(n.kind, n.recipient) for n in notices(core)] == [(MailKind.LOCKED_OUT, ADDRESS)]


def test_a_used_backup_code_tells_how_many_are_left(core: Core) -> None:
    codes = enable_email(core)

    core.do(core.service.verify_code(ALICE, codes[0]))

    notice = only_notice(core)
    assert (notice.kind, notice.recipient) == (MailKind.BACKUP_CODE_USED, ADDRESS)
    assert notice.notice == NoticeFacts(at=core.clock.now(), remaining=9)


def test_a_backup_code_used_as_proof_is_told_too(core: Core) -> None:
    codes = enable_email(core)
    enable_app(core)
    core.set_policy(Policy(require_proof_for_changes=True))

    core.do(core.service.disable_method(ALICE, Method.AUTHENTICATOR_APP, proof_code=codes[0]))

    kinds = sorted(n.kind.value for n in notices(core))
    assert kinds == ["backup_code_used", "method_disabled"]


def test_a_new_trusted_device_shows_its_label_and_never_its_token(core: Core) -> None:
    setup = enable_app(core)
    enable_email(core)
    core.set_policy(Policy(frequency=Frequency.TRUSTED_DEVICE))

    code = totp_at(setup.secret, core.clock.now())
    verified = core.do(
        core.service.verify_code(ALICE, code, remember_device=True, device_label="Firefox on Linux")
    )

    notice = only_notice(core)
    assert (notice.kind, notice.recipient) == (MailKind.DEVICE_TRUSTED, ADDRESS)
    assert notice.notice == NoticeFacts(at=core.clock.now(), device_label="Firefox on Linux")
    assert verified.device_token and verified.device_token not in repr(notice)


def test_no_token_issued_no_device_notice(core: Core) -> None:
    setup = enable_app(core)
    enable_email(core)  # the policy asks at every login: no device is trusted
    code = totp_at(setup.secret, core.clock.now())
    core.do(core.service.verify_code(ALICE, code, remember_device=True))
    assert notices(core) == []


# --- who gets none --------------------------------------------------------------------------


def test_a_user_without_an_enabled_address_gets_no_notice(core: Core) -> None:
    first = enable_app(core)
    for _ in range(5):
        core.do(core.service.verify_code(ALICE, "000000"))
    core.clock.advance(300)
    core.do(core.service.verify_code(ALICE, first.backup_codes[0]))
    core.do(core.service.regenerate_backup_codes(ALICE))
    core.do(core.service.disable_method(ALICE, Method.AUTHENTICATOR_APP))
    assert notices(core) == []


@pytest.mark.parametrize("kind", NOTICE_KINDS, ids=lambda k: k.name.lower())
def test_each_notice_can_be_turned_off_alone(core: Core, kind: NoticeKind) -> None:
    codes = enable_email(core)
    setup = enable_app(core)
    trusting = Policy(frequency=Frequency.TRUSTED_DEVICE, email_backup_codes=False)
    core.set_policy(dataclasses.replace(trusting, disabled_notices=(kind,)))
    # One change of each kind.
    core.do(core.service.verify_code(ALICE, codes[0]))  # backup_code_used
    app_code = totp_at(setup.secret, core.clock.now())
    core.do(core.service.verify_code(ALICE, app_code, remember_device=True))  # device_trusted
    core.do(core.service.regenerate_backup_codes(ALICE))  # backup_codes_regenerated
    core.clock.advance(30)
    reset = core.do(core.service.begin_authenticator_setup(ALICE, "", ""))
    reset_code = totp_at(reset.secret, core.clock.now())
    core.do(core.service.confirm_authenticator_setup(ALICE, reset_code))  # reset_confirmed
    for _ in range(5):
        core.do(core.service.verify_code(ALICE, "000000"))  # locked_out
    core.clock.advance(86400)
    core.do(core.service.disable_method(ALICE, Method.AUTHENTICATOR_APP))  # method_disabled

    sent = {notice.kind for notice in notices(core)}
    assert sent == {MailKind.of_notice(k) for k in NOTICE_KINDS} - {MailKind.of_notice(kind)}


def test_a_refused_change_queues_no_notice(core: Core) -> None:
    enable_email(core)
    enable_app(core)
    core.set_policy(Policy(require_proof_for_changes=True))

    with pytest.raises(FailedPrecondition):  # no proof: nothing is written
        core.do(core.service.disable_method(ALICE, Method.AUTHENTICATOR_APP))
    with pytest.raises(FailedPrecondition):  # a wrong proof counts, but nothing is turned off
        core.do(core.service.disable_method(ALICE, Method.EMAIL, proof_code="000000"))

    assert notices(core) == []
    assert core.store.user(ALICE).enabled_methods() == (Method.AUTHENTICATOR_APP, Method.EMAIL)


def test_a_replayed_answer_queues_no_second_notice(core: Core) -> None:
    codes = enable_email(core)
    for _ in range(2):
        core.do(core.service.verify_code(ALICE, codes[0], idempotency_key="k-1"))
    assert [n.kind for n in notices(core)] == [MailKind.BACKUP_CODE_USED]


def test_notices_go_out_in_the_tenant_letterhead(core: Core) -> None:
    enable_email(core)
    core.set_policy(dataclasses.replace(TENANT, language="de"))

    core.do(core.service.disable_method(ALICE, Method.EMAIL))

    assert only_notice(core).letterhead == dataclasses.replace(LETTERHEAD, language="de")
