"""The events each use case's transaction returns (Done.events), published once it commits.

Each row is (type, method, result, reason, count): what the audit log and the metrics
are made of. A refused use case publishes nothing.
"""

from __future__ import annotations

import pytest

from twofa_server.core.errors import RateLimited
from twofa_server.core.events import Event, EventType
from twofa_server.core.models import (
    Frequency,
    MailKind,
    Method,
    Policy,
    TrustedDevice,
    UserRef,
)

from ..support.totp import totp_at, wrong_code_at
from .fakes import ADDRESS, ALICE, Core, enable_app, enable_email

E = EventType
APP, EMAIL, BACKUP = Method.AUTHENTICATOR_APP, Method.EMAIL, Method.BACKUP_CODE
Row = tuple[EventType, Method | None, str, str, int]


def rows(events: list[Event]) -> list[Row]:
    return [(e.type, e.method, e.result, e.reason, e.count) for e in events]


def published(core: Core) -> list[Row]:
    """What was published since the last call."""
    return rows(core.events.take())


def verify(core: Core, code: str, **options: object) -> None:
    core.do(core.service.verify_code(ALICE, code, **options))  # type: ignore[arg-type]


def trust_devices(core: Core, days: int = 14) -> None:
    core.set_policy(Policy(frequency=Frequency.TRUSTED_DEVICE, trusted_device_days=days))


def test_enrollment(core: Core) -> None:
    setup = core.do(core.service.begin_authenticator_setup(ALICE, "", ""))
    assert published(core) == [(E.SETUP_BEGUN, APP, "", "", 1)]
    wrong = wrong_code_at(setup.secret, core.clock.now())
    core.do(core.service.confirm_authenticator_setup(ALICE, wrong))
    assert published(core) == [(E.SETUP_REJECTED, APP, "rejected", "wrong_code", 1)]
    right = totp_at(setup.secret, core.clock.now())
    core.do(core.service.confirm_authenticator_setup(ALICE, right))
    assert published(core) == [
        (E.SETUP_CONFIRMED, APP, "accepted", "ok", 1),
        (E.BACKUP_CODES_ISSUED, None, "", "first", 1),
    ]
    core.do(core.service.begin_authenticator_setup(ALICE, "", ""))
    assert published(core) == [(E.SETUP_BEGUN, APP, "", "reset", 1)]
    core.do(core.service.begin_email_setup(ALICE, ADDRESS))
    assert published(core) == [(E.SETUP_BEGUN, EMAIL, "", "", 1)]
    core.do(core.service.confirm_email_setup(ALICE, core.last_code(MailKind.SETUP_CODE)))
    assert published(core) == [(E.SETUP_CONFIRMED, EMAIL, "accepted", "ok", 1)]


def test_verification_and_lockout(core: Core) -> None:
    secret, codes = enable_app(core)
    core.events.take()
    verify(core, totp_at(secret, core.clock.now()))
    assert published(core) == [(E.VERIFICATION_ACCEPTED, APP, "accepted", "ok", 1)]
    verify(core, codes[0])
    assert published(core) == [
        (E.VERIFICATION_ACCEPTED, BACKUP, "accepted", "ok", 1),
        (E.BACKUP_CODE_USED, BACKUP, "", "", 9),
    ]
    wrong = wrong_code_at(secret, core.clock.now())
    for _ in range(4):
        verify(core, wrong)
    assert published(core) == [(E.VERIFICATION_REJECTED, APP, "rejected", "wrong_code", 1)] * 4
    verify(core, wrong)
    assert published(core) == [
        (E.VERIFICATION_REJECTED, APP, "locked_out", "too_many_attempts", 1),
        (E.LOCKOUT, APP, "", "", 1),
    ]
    verify(core, wrong)
    assert published(core) == [(E.VERIFICATION_REJECTED, APP, "locked_out", "locked", 1)]
    assert core.do(core.service.unlock_user(ALICE))
    assert published(core) == [(E.UNLOCK, None, "", "", 1)]
    assert not core.do(core.service.unlock_user(ALICE))
    assert published(core) == []


def test_remembered_devices_and_their_eviction(core: Core) -> None:
    trust_devices(core)
    secret, _ = enable_app(core)
    stored = core.store.state.users[ALICE]
    stored.devices = [
        TrustedDevice(f"d{i}", bytes([i]) * 32, "", core.clock.now() - 1, 0.0) for i in range(50)
    ]
    core.events.take()
    verify(core, totp_at(secret, core.clock.now()), remember_device=True)
    assert published(core) == [
        (E.VERIFICATION_ACCEPTED, APP, "accepted", "ok", 1),
        (E.DEVICE_TRUSTED, APP, "", "", 1),
        (E.DEVICE_REVOKED, None, "", "evicted", 1),
    ]
    assert core.do(core.service.revoke_trusted_devices(ALICE, "", revoke_all=True)) == 50
    assert published(core) == [(E.DEVICE_REVOKED, None, "", "user", 50)]
    assert core.do(core.service.revoke_trusted_devices(ALICE, "", revoke_all=True)) == 0
    assert published(core) == []


def test_email_codes(core: Core) -> None:
    enable_email(core)
    core.events.take()
    core.do(core.service.send_login_code(ALICE))
    assert published(core) == [(E.EMAIL_CODE_SENT, EMAIL, "", "", 1)]
    core.do(core.service.regenerate_backup_codes(ALICE))
    assert published(core) == [(E.BACKUP_CODES_ISSUED, None, "", "regenerated", 1)]


def test_a_refused_use_case_publishes_nothing_and_changes_nothing(core: Core) -> None:
    enable_email(core)
    core.do(core.service.send_login_code(ALICE))
    core.events.take()
    before = core.store.user(ALICE)
    with pytest.raises(RateLimited):
        core.do(core.service.send_login_code(ALICE))  # inside the cooldown
    assert published(core) == []
    assert core.store.user(ALICE) == before


@pytest.mark.parametrize(("with_devices", "revoked"), [(True, 2), (False, 0)])
def test_disabling_and_deleting(core: Core, with_devices: bool, revoked: int) -> None:
    secret, _ = enable_app(core)
    if with_devices:
        trust_devices(core)
        for _ in range(2):
            verify(core, totp_at(secret, core.clock.now()), remember_device=True)
            core.clock.advance(30)
    core.events.take()
    core.do(core.service.disable_method(ALICE, APP))
    expected = [(E.METHOD_DISABLED, APP, "", "", 1)]
    assert published(core) == expected + [(E.DEVICE_REVOKED, None, "", "disable", 2)] * bool(
        revoked
    )
    core.do(core.service.disable_method(ALICE, APP))  # nothing left to turn off
    assert published(core) == []
    core.do(core.service.begin_authenticator_setup(ALICE, "", ""))  # a record to delete
    core.events.take()
    assert core.do(core.service.delete_user(ALICE))
    assert published(core) == [(E.USER_DELETED, None, "", "", 1)]
    assert not core.do(core.service.delete_user(ALICE))
    assert published(core) == []


def test_deleting_a_user_with_devices_revokes_them(core: Core) -> None:
    trust_devices(core)
    secret, _ = enable_app(core)
    verify(core, totp_at(secret, core.clock.now()), remember_device=True)
    core.events.take()
    core.do(core.service.delete_user(ALICE))
    assert published(core) == [
        (E.DEVICE_REVOKED, None, "", "delete", 1),
        (E.USER_DELETED, None, "", "", 1),
    ]


@pytest.mark.parametrize(
    ("mask", "reason"),
    [(["max_attempts", "lockout_seconds"], "max_attempts,lockout_seconds"), ([], "all")],
)
def test_policy_updates_name_what_changed(core: Core, mask: list[str], reason: str) -> None:
    core.do(core.service.update_policy("acme", Policy(max_attempts=4), mask))
    [event] = core.events.take()
    assert (event.type, event.tenant_id, event.user_id, event.reason) == (
        E.POLICY_UPDATED,
        "acme",
        "",
        reason,
    )


def test_login_evaluations_and_the_sweep(core: Core) -> None:
    trust_devices(core, days=1)
    secret, _ = enable_app(core)
    verify(core, totp_at(secret, core.clock.now()), remember_device=True)
    core.events.take()
    core.do(core.service.evaluate_login(ALICE))
    assert published(core) == [(E.LOGIN_EVALUATED, None, "required", "device_not_trusted", 1)]
    core.do(core.service.evaluate_login(UserRef("acme", "nobody")))
    assert published(core) == [
        (E.LOGIN_EVALUATED, None, "not_required", "not_enrolled_optional", 1)
    ]
    core.clock.advance(86400)
    assert core.do(core.service.sweep(None)) == (None, 1)
    assert published(core) == [(E.DEVICE_REVOKED, None, "", "expired", 1)]


def test_reads_publish_nothing(core: Core) -> None:
    enable_app(core)
    core.events.take()
    core.do(core.service.get_user_status(ALICE))
    core.do(core.service.get_policy("acme"))
    core.do(core.service.list_trusted_devices(ALICE))
    assert published(core) == []
