"""Housekeeping: the sweeper purges what has expired, so the store does not grow without bound.

A real server and LMDB store with a fixed clock. `app.housekeeper.sweep_all()` runs
one pass now (the background thread's interval is an hour and never fires here);
what it left behind is read from the raw user records.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from twofa_client import (
    FailedPrecondition,
    Frequency,
    LoginReason,
    Method,
    MethodState,
    TwoFactorClient,
    VerifyReason,
)
from twofa_server.app import Application
from twofa_server.config import Settings
from twofa_server.core.models import Authenticator, UserRef, UserState
from twofa_server.crypto import Sealer, generate_keyring
from twofa_server.jobs.housekeeper import Housekeeper
from twofa_server.store import keys
from twofa_server.store.codec import RecordCodec
from twofa_server.store.lmdb.store import LmdbStore, LmdbTransaction
from twofa_server.store.records_pb2 import UserRecord

from ..support.clock import FixedClock
from ..support.enroll import enroll_app
from ..support.lmdb_files import dump_store
from ..support.mail_server import TwofaWithSmtp, enroll_email
from ..support.metrics import scrape, value
from ..support.totp import totp_code, wrong_code

pytestmark = pytest.mark.lmdb_only  # reads what the sweeper left in the raw LMDB records

T, U = "acme", "alice"
DAY = 86400
PENDING_SECONDS = 15 * 60


# --- helpers ---------------------------------------------------------------------------


def raw_record(app: Application, user: str = U, tenant: str = T) -> bytes | None:
    """The user's record as stored, or None when the store holds none."""
    return dump_store(app)["users"].get(keys.user_key(UserRef(tenant, user)))


def record(app: Application, user: str = U, tenant: str = T) -> UserRecord:
    data = raw_record(app, user, tenant)
    assert data is not None, f"no record of {tenant}/{user}"
    return UserRecord.FromString(data)


def stored_users(app: Application) -> set[UserRef]:
    return {keys.parse_user_key(key) for key in dump_store(app)["users"]}


def remember(
    client: TwoFactorClient, clock: FixedClock, secret: str, user: str = U, tenant: str = T
) -> str:
    """A login with "remember this device"; returns the token."""
    verified = client.verify_code(
        tenant, user, totp_code(secret, clock.now()), remember_device=True, device_label="browser"
    )
    assert verified.accepted and verified.device_token is not None
    clock.advance(30)
    return verified.device_token


def trusted(client: TwoFactorClient, token: str, user: str = U, tenant: str = T) -> bool:
    reason = client.evaluate_login(tenant, user, device_token=token).reason
    return reason is LoginReason.TRUSTED_DEVICE


def app_state(client: TwoFactorClient, user: str = U) -> MethodState:
    status = client.get_user_status(T, user).method(Method.AUTHENTICATOR_APP)
    assert status is not None
    return status.state


def email_state(client: TwoFactorClient, user: str = U) -> MethodState:
    status = client.get_user_status(T, user).method(Method.EMAIL)
    assert status is not None
    return status.state


# --- what stays ------------------------------------------------------------------------


def test_a_pass_over_records_with_nothing_expired_changes_nothing(
    app: Application, client: TwoFactorClient, clock: FixedClock
) -> None:
    client.update_policy(T, frequency=Frequency.TRUSTED_DEVICE)
    secret = enroll_app(client, clock, advance=30).secret
    token = remember(client, clock, secret)
    client.begin_authenticator_setup(T, U)  # a reset, pending
    client.begin_authenticator_setup(T, "bob")  # a first set-up, pending
    clock.advance(PENDING_SECONDS - 60)
    client.verify_code(T, U, wrong_code(secret, clock.now()))  # a failure that still counts
    before = dump_store(app)
    assert app.housekeeper.sweep_all() == 0
    assert dump_store(app) == before
    assert trusted(client, token)
    assert client.get_user_status(T, U).failed_attempts == 1
    assert app_state(client, "bob") is MethodState.PENDING


# --- trusted devices -------------------------------------------------------------------


def test_expired_devices_are_purged_and_the_record_shrinks_back(
    app: Application, client: TwoFactorClient, clock: FixedClock
) -> None:
    client.update_policy(T, frequency=Frequency.TRUSTED_DEVICE, trusted_device_days=14)
    secret = enroll_app(client, clock, advance=30).secret
    baseline = raw_record(app)
    assert baseline is not None
    early = [remember(client, clock, secret) for _ in range(3)]
    clock.advance(10 * DAY)
    late = remember(client, clock, secret)
    with_devices = raw_record(app)
    assert with_devices is not None and len(record(app).devices) == 4

    clock.advance(4 * DAY)  # the early devices are 14 days old, the late one 4
    assert app.housekeeper.sweep_all() == 1
    after = raw_record(app)
    assert after is not None and len(after) < len(with_devices)
    assert len(record(app).devices) == 1
    assert not any(trusted(client, token) for token in early)
    assert trusted(client, late)
    assert len(client.list_trusted_devices(T, U)) == 1
    assert app.housekeeper.sweep_all() == 0  # nothing more to do

    clock.advance(10 * DAY)
    assert app.housekeeper.sweep_all() == 1
    emptied = raw_record(app)
    assert emptied is not None and len(emptied) == len(baseline)
    assert list(record(app).devices) == []
    assert client.get_user_status(T, U).enrolled


def test_validity_follows_the_current_policy_when_sweeping(
    app: Application, client: TwoFactorClient, clock: FixedClock
) -> None:
    client.update_policy(T, frequency=Frequency.TRUSTED_DEVICE, trusted_device_days=14)
    secret = enroll_app(client, clock, advance=30).secret
    token = remember(client, clock, secret)
    # The administrator lengthens trust to 30 days: a 20-day-old device stays.
    client.update_policy(T, trusted_device_days=30)
    clock.advance(20 * DAY)
    assert app.housekeeper.sweep_all() == 0
    assert len(record(app).devices) == 1
    assert trusted(client, token)

    # Back to 14 days: the device has expired and is purged for good.
    client.update_policy(T, trusted_device_days=14)
    assert app.housekeeper.sweep_all() == 1
    assert list(record(app).devices) == []
    client.update_policy(T, trusted_device_days=30)
    assert not trusted(client, token)
    assert client.list_trusted_devices(T, U) == []


def test_each_tenant_is_swept_under_its_own_policy(
    app: Application, client: TwoFactorClient, clock: FixedClock
) -> None:
    tokens: dict[str, str] = {}
    for tenant, days in (("short", 1), ("long", 30)):
        client.update_policy(tenant, frequency=Frequency.TRUSTED_DEVICE, trusted_device_days=days)
        secret = enroll_app(client, clock, tenant, U, advance=30).secret
        tokens[tenant] = remember(client, clock, secret, tenant=tenant)
    # A tenant that trusted devices, then switched to every login: its devices are
    # ignored, and still expire (and are purged) on the days of its policy.
    client.update_policy(T, frequency=Frequency.TRUSTED_DEVICE, trusted_device_days=3)
    tokens[T] = remember(client, clock, enroll_app(client, clock, advance=30).secret)
    client.update_policy(T, frequency=Frequency.EVERY_LOGIN)

    clock.advance(2 * DAY)
    assert app.housekeeper.sweep_all() == 1
    assert [len(record(app, tenant=t).devices) for t in ("short", "long", T)] == [0, 1, 1]
    clock.advance(DAY)
    assert app.housekeeper.sweep_all() == 1
    assert [len(record(app, tenant=t).devices) for t in ("short", "long", T)] == [0, 1, 0]
    assert trusted(client, tokens["long"], tenant="long")
    assert not trusted(client, tokens["short"], tenant="short")


def test_daily_trusted_logins_with_daily_sweeps_keep_the_record_bounded(
    app: Application, client: TwoFactorClient, clock: FixedClock
) -> None:
    client.update_policy(T, frequency=Frequency.TRUSTED_DEVICE, trusted_device_days=7)
    secret = enroll_app(client, clock, advance=30).secret
    sizes = []
    for _ in range(30):  # a new browser every day for a month
        remember(client, clock, secret)
        clock.advance(DAY - 30)
        app.housekeeper.sweep_all()
        stored = len(record(app).devices)
        assert stored <= 7
        assert stored == len(client.list_trusted_devices(T, U))
        data = raw_record(app)
        assert data is not None
        sizes.append(len(data))
    assert max(sizes[10:]) <= max(sizes[:10])


# --- pending set-ups and email codes -----------------------------------------------------


def test_a_user_left_with_only_an_expired_pending_setup_is_deleted(
    app: Application, client: TwoFactorClient, clock: FixedClock
) -> None:
    setup = client.begin_authenticator_setup(T, "ghost")
    typo = client.begin_authenticator_setup(T, "typo")
    clock.advance(PENDING_SECONDS - 60)
    assert not client.confirm_authenticator_setup(
        T, "typo", wrong_code(typo.secret, clock.now())
    ).accepted

    clock.advance(59)
    assert app.housekeeper.sweep_all() == 0
    assert record(app, "ghost").authenticator.sealed_pending_secret
    clock.advance(1)
    assert app.housekeeper.sweep_all() == 2
    assert raw_record(app, "ghost") is None
    # The failed confirmation still counts for a while, so its record stays until then.
    left = record(app, "typo")
    assert not left.authenticator.sealed_pending_secret and left.attempts.failures == 1
    assert client.get_user_status(T, "typo").failed_attempts == 1
    # A failure counts until a quiet max_lockout_seconds (a day, with escalation on).
    clock.advance(86_400 - 61)
    assert app.housekeeper.sweep_all() == 0
    clock.advance(1)
    assert app.housekeeper.sweep_all() == 1
    assert stored_users(app) == set()

    status = client.get_user_status(T, "ghost")
    assert not status.enrolled and status.failed_attempts == 0
    assert app_state(client, "ghost") is MethodState.DISABLED
    with pytest.raises(FailedPrecondition) as refused:
        client.confirm_authenticator_setup(T, "ghost", totp_code(setup.secret, clock.now()))
    assert refused.value.violations[0].type == "NO_PENDING_SETUP"


def test_an_expired_pending_reset_is_purged_and_the_enabled_app_stays(
    app: Application, client: TwoFactorClient, clock: FixedClock
) -> None:
    secret = enroll_app(client, clock, advance=30).secret
    baseline = raw_record(app)
    assert baseline is not None
    client.begin_authenticator_setup(T, U)
    clock.advance(PENDING_SECONDS)
    assert app.housekeeper.sweep_all() == 1
    after = raw_record(app)
    assert after is not None and len(after) == len(baseline)
    stored = record(app).authenticator
    assert stored.sealed_secret and not stored.sealed_pending_secret
    assert stored.pending_expires_at_ms == 0
    status = client.get_user_status(T, U).method(Method.AUTHENTICATOR_APP)
    assert status is not None and status.enabled and not status.reset_pending
    assert client.verify_code(T, U, totp_code(secret, clock.now())).accepted


def test_a_pending_email_setup_its_code_and_its_send_history_are_purged(
    app: Application, client: TwoFactorClient, clock: FixedClock
) -> None:
    client.begin_email_setup(T, U, "alice@example.com")
    stored = record(app).email
    assert stored.setup_code.digest and stored.sealed_pending_address
    assert len(stored.sent_at_ms) == 1

    clock.advance(599)
    assert app.housekeeper.sweep_all() == 0
    clock.advance(1)  # the code has expired; the pending address lives on
    assert app.housekeeper.sweep_all() == 1
    stored = record(app).email
    assert not stored.setup_code.digest and stored.sealed_pending_address
    assert email_state(client) is MethodState.PENDING

    clock.advance(PENDING_SECONDS - 600)
    assert app.housekeeper.sweep_all() == 1
    stored = record(app).email
    assert not stored.sealed_pending_address and stored.pending_expires_at_ms == 0
    assert email_state(client) is MethodState.DISABLED
    # The send history stays for the hour the send limits look back on.
    assert len(stored.sent_at_ms) == 1

    clock.advance(3600 - PENDING_SECONDS)
    assert app.housekeeper.sweep_all() == 1
    assert raw_record(app) is None
    assert not client.get_user_status(T, U).enrolled


def test_an_expired_login_code_is_purged_and_an_unexpired_one_stays(
    mailroom: TwofaWithSmtp,
) -> None:
    client, app = mailroom.client, mailroom.app
    enroll_email(mailroom)
    enroll_email(mailroom, "bob", "bob@example.com")
    client.send_login_code(T, U)
    alice_code = mailroom.next_code()
    mailroom.advance(300)
    client.send_login_code(T, "bob")
    bob_code = mailroom.next_code("bob@example.com")
    mailroom.advance(300)  # Alice's code has just expired; Bob's has five minutes left

    assert app.housekeeper.sweep_all() == 1
    assert not record(app).email.login_code.digest
    assert record(app, "bob").email.login_code.digest
    assert record(app).email.sealed_address  # the method itself stays
    answer = client.verify_code(T, U, alice_code, method=Method.EMAIL)
    assert answer.reason is VerifyReason.NO_ACTIVE_CODE
    assert client.verify_code(T, "bob", bob_code, method=Method.EMAIL).accepted


# --- the whole store ---------------------------------------------------------------------


def test_a_pass_visits_every_user_of_every_tenant(
    app: Application, client: TwoFactorClient, clock: FixedClock
) -> None:
    tenants = ("acme", "globex", "initech")
    kept: set[UserRef] = set()
    for i in range(30):
        ref = UserRef(tenants[i % 3], f"user-{i:02d}")
        if i % 5 == 0:
            enroll_app(client, clock, ref.tenant_id, ref.user_id, advance=30)
            kept.add(ref)
        else:
            client.begin_authenticator_setup(ref.tenant_id, ref.user_id)
    assert len(stored_users(app)) == 30
    clock.advance(PENDING_SECONDS)
    assert app.housekeeper.sweep_all() == 24
    assert stored_users(app) == kept
    assert app.housekeeper.sweep_all() == 0


@pytest.mark.parametrize("batch", [1, 3, 8, 9])
def test_small_batches_resume_after_deleted_users(
    app: Application, client: TwoFactorClient, clock: FixedClock, batch: int
) -> None:
    # The default batch is 500; a small one shows a pass resumes where the last batch
    # ended, also when that user was just deleted.
    sweeper = Housekeeper(
        app.housekeeper._service,
        app.store,
        app.observability.events,
        3600,
        batch=batch,
        pause_seconds=0,
    )
    kept: set[UserRef] = set()
    for i in range(8):
        user = f"user-{i}"
        if i % 2:
            enroll_app(client, clock, T, user, advance=30)
            kept.add(UserRef(T, user))
        client.begin_authenticator_setup(T, user)  # a first set-up, or a reset
    clock.advance(PENDING_SECONDS)
    assert sweeper.sweep_all() == 8
    assert stored_users(app) == kept
    for ref in kept:
        assert not record(app, ref.user_id).authenticator.sealed_pending_secret
    assert sweeper.sweep_all() == 0


# --- records that cannot be read ----------------------------------------------------------


def test_records_that_cannot_be_read_are_skipped_counted_and_audited(
    app: Application, client: TwoFactorClient, clock: FixedClock, settings: Settings
) -> None:
    """A damaged record and one sealed under another keyring do not stop the pass: the
    users around them are still swept."""
    for user in ("a-good", "b-damaged", "c-other-keyring", "d-good"):
        client.begin_authenticator_setup(T, user)  # a pending set-up, soon expired
    damaged = keys.user_key(UserRef(T, "b-damaged"))
    foreign = keys.user_key(UserRef(T, "c-other-keyring"))
    other_keyring = RecordCodec(Sealer(generate_keyring()))
    sealed_elsewhere = other_keyring.encode_user(
        foreign, UserState(authenticator=Authenticator(secret=b"s" * 20, enabled_at=clock.now()))
    )

    def spoil(tx: LmdbTransaction) -> None:
        tx.put_record(keys.USERS, damaged, b"\xff\x00 not a user record \x00\xff")
        tx.put_record(keys.USERS, foreign, sealed_elsewhere)

    assert isinstance(app.store, LmdbStore)
    app.store.write(spoil)
    clock.advance(PENDING_SECONDS)

    assert app.housekeeper.sweep_all() == 2  # both readable users, emptied and deleted
    assert stored_users(app) == {UserRef(T, "b-damaged"), UserRef(T, "c-other-keyring")}
    assert value(scrape(app), "twofa_unreadable_records_total", job="sweep") == 2
    audited = [json.loads(line) for line in Path(settings.audit_log).read_text().splitlines()]
    unreadable = [
        (a["event"], a["tenant"], a["user"]) for a in audited if a["event"] != "setup_begun"
    ]
    assert unreadable == [
        ("record_unreadable", T, "b-damaged"),
        ("record_unreadable", T, "c-other-keyring"),
    ]
    # The records are left as they were, for an operator to restore.
    assert raw_record(app, "b-damaged") == b"\xff\x00 not a user record \x00\xff"
    assert raw_record(app, "c-other-keyring") == sealed_elsewhere
