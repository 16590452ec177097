"""Logins end to end: EvaluateLogin, trusted devices and the login policy.

A real server and LMDB store, driven through the typed client with a fixed clock.
The last section replays the seed's scenarios one by one, as an application
would: EvaluateLogin at each login, VerifyCode with "remember this device", the
device token kept in a cookie.
"""

from __future__ import annotations

import base64
import re
import secrets
from datetime import datetime, timedelta

import lmdb
import pytest

from twofa_client import (
    DeviceTokenStatus,
    Enforcement,
    FailedPrecondition,
    Frequency,
    InvalidArgument,
    LoginDecision,
    LoginEvaluation,
    LoginReason,
    Method,
    PolicyFields,
    TwoFactorClient,
    VerifyReason,
    VerifyResult,
)
from twofa_server.app import Application
from twofa_server.config import Settings
from twofa_server.core.models import UserRef
from twofa_server.store import keys
from twofa_server.store.records_pb2 import UserRecord

from ..support.clock import FixedClock, at
from ..support.enroll import enroll_app
from ..support.lmdb_files import dump_store, store_bytes
from ..support.mail_server import TwofaWithSmtp, enroll_email
from ..support.stores import restart
from ..support.totp import totp_code, wrong_code

T, U = "acme", "alice"
DAY = 86400
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")
APP_AND_BACKUP = (Method.AUTHENTICATOR_APP, Method.BACKUP_CODE)


# --- helpers ---------------------------------------------------------------------------


def trust_devices(client: TwoFactorClient, tenant: str = T, days: int = 14) -> None:
    client.update_policy(tenant, frequency=Frequency.TRUSTED_DEVICE, trusted_device_days=days)


def remember(
    client: TwoFactorClient,
    clock: FixedClock,
    secret: str,
    user: str = U,
    tenant: str = T,
    label: str = "",
) -> str:
    """A login with the app and "remember this device"; returns the issued token."""
    verified = client.verify_code(
        tenant, user, totp_code(secret, clock.now()), remember_device=True, device_label=label
    )
    assert verified.accepted
    assert verified.device_token_status is DeviceTokenStatus.ISSUED
    assert verified.device_token is not None
    clock.advance(30)  # the next login needs a fresh time step
    return verified.device_token


def evaluate(
    client: TwoFactorClient, token: str = "", user: str = U, tenant: str = T
) -> LoginEvaluation:
    return client.evaluate_login(tenant, user, device_token=token)


def trusted(client: TwoFactorClient, token: str, user: str = U, tenant: str = T) -> bool:
    """Whether this login goes through on the strength of the device token."""
    answer = evaluate(client, token, user, tenant)
    if answer.reason is LoginReason.TRUSTED_DEVICE:
        assert answer.decision is LoginDecision.NOT_REQUIRED
        assert answer.device_expires_at is not None
        return True
    assert answer.decision is not LoginDecision.NOT_REQUIRED
    assert answer.device_expires_at is None
    return False


def asked(answer: LoginEvaluation, reason: LoginReason) -> None:
    """The login needs the second factor, for `reason`."""
    assert (answer.decision, answer.reason) == (LoginDecision.REQUIRED, reason)
    assert answer.device_expires_at is None


def a_token() -> str:
    """A well-formed token that the server never issued."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()


def lock_out(client: TwoFactorClient, clock: FixedClock, secret: str, user: str = U) -> None:
    for _ in range(5):
        client.verify_code(T, user, wrong_code(secret, clock.now()))
    assert client.get_user_status(T, user).locked_until is not None


# --- 1. EvaluateLogin ------------------------------------------------------------------


def test_a_user_without_a_method_logs_in_without_2fa_under_an_optional_policy(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    unknown = evaluate(client, user="nobody")
    assert (unknown.decision, unknown.reason) == (
        LoginDecision.NOT_REQUIRED,
        LoginReason.NOT_ENROLLED_OPTIONAL,
    )
    assert (unknown.available_methods, unknown.backup_codes_remaining) == ((), 0)
    assert unknown.locked_until is None and unknown.retry_after is None
    assert unknown.device_expires_at is None

    # A set-up that was begun and not confirmed is not a method yet.
    client.begin_authenticator_setup(T, U)
    pending = evaluate(client)
    assert (pending.decision, pending.reason, pending.available_methods) == (
        LoginDecision.NOT_REQUIRED,
        LoginReason.NOT_ENROLLED_OPTIONAL,
        (),
    )


def test_a_required_policy_sends_users_without_a_method_to_enrollment(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    policy = client.update_policy(T, enforcement=Enforcement.REQUIRED)
    assert policy.enforcement is Enforcement.REQUIRED
    answer = evaluate(client)
    assert (answer.decision, answer.reason) == (
        LoginDecision.ENROLLMENT_REQUIRED,
        LoginReason.NOT_ENROLLED_REQUIRED,
    )
    assert (answer.available_methods, answer.backup_codes_remaining) == ((), 0)
    # Even with a token-shaped cookie: there is nothing to trust it for.
    assert evaluate(client, a_token()).decision is LoginDecision.ENROLLMENT_REQUIRED
    # Another tenant keeps the default (optional) policy.
    assert evaluate(client, tenant="other").reason is LoginReason.NOT_ENROLLED_OPTIONAL

    enroll_app(client, clock, advance=30)
    asked(evaluate(client), LoginReason.EVERY_LOGIN_POLICY)


def test_an_enrolled_user_is_asked_at_every_login_by_default(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    assert client.get_policy(T).policy.frequency is Frequency.EVERY_LOGIN
    secret, _ = enroll_app(client, clock, advance=30)
    answer = evaluate(client)
    asked(answer, LoginReason.EVERY_LOGIN_POLICY)
    assert answer.available_methods == APP_AND_BACKUP
    assert answer.backup_codes_remaining == 10
    assert answer.locked_until is None and answer.retry_after is None
    # Being asked does not change when a login succeeds.
    assert client.verify_code(T, U, totp_code(secret, clock.now())).accepted
    asked(evaluate(client), LoginReason.EVERY_LOGIN_POLICY)


def test_backup_codes_are_offered_while_any_remain(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    _, codes = enroll_app(client, clock, advance=30)
    for used, code in enumerate(codes, start=1):
        assert client.verify_code(T, U, code).accepted
        answer = evaluate(client)
        assert answer.backup_codes_remaining == 10 - used
        expected = APP_AND_BACKUP if used < 10 else (Method.AUTHENTICATOR_APP,)
        assert answer.available_methods == expected
    asked(evaluate(client), LoginReason.EVERY_LOGIN_POLICY)


def test_a_locked_out_user_is_told_when_to_come_back(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    trust_devices(client)
    secret, _ = enroll_app(client, clock, advance=30)
    lock_out(client, clock, secret)
    locked_until = at(clock, 300)
    for token in ("", a_token()):
        answer = evaluate(client, token)
        asked(answer, LoginReason.LOCKED_OUT)
        assert answer.locked_until == locked_until
        assert answer.retry_after == timedelta(minutes=5)
        assert answer.available_methods == APP_AND_BACKUP
        assert answer.backup_codes_remaining == 10

    clock.advance(120)
    assert evaluate(client).retry_after == timedelta(minutes=3)
    clock.advance(180)
    answer = evaluate(client)
    asked(answer, LoginReason.DEVICE_NOT_TRUSTED)
    assert answer.locked_until is None and answer.retry_after is None


def test_a_locked_out_user_on_a_trusted_device_is_let_through(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    trust_devices(client)
    secret, _ = enroll_app(client, clock, advance=30)
    token = remember(client, clock, secret)
    lock_out(client, clock, secret)
    answer = evaluate(client, token)
    assert (answer.decision, answer.reason) == (
        LoginDecision.NOT_REQUIRED,
        LoginReason.TRUSTED_DEVICE,
    )
    assert answer.locked_until is None and answer.retry_after is None
    # The lockout itself stands: codes are still refused.
    refused = client.verify_code(T, U, totp_code(secret, clock.now()))
    assert (refused.result, refused.reason) == (VerifyResult.LOCKED_OUT, VerifyReason.LOCKED)
    # Under an every-login policy the device proves nothing: the lockout answers.
    client.update_policy(T, frequency=Frequency.EVERY_LOGIN)
    asked(evaluate(client, token), LoginReason.LOCKED_OUT)


# --- 2. trusted devices ------------------------------------------------------------------


def test_remember_device_issues_a_token_that_skips_2fa_until_it_expires(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    trust_devices(client)
    secret, _ = enroll_app(client, clock, advance=30)
    issued_at = at(clock)
    verified = client.verify_code(
        T, U, totp_code(secret, clock.now()), remember_device=True, device_label="Firefox on Linux"
    )
    assert verified.accepted and verified.device_token_status is DeviceTokenStatus.ISSUED
    token = verified.device_token
    assert token is not None and TOKEN_SHAPE.match(token)
    assert verified.device_token_expires_at == issued_at + timedelta(days=14)

    clock.advance(DAY)
    answer = evaluate(client, token)
    assert (answer.decision, answer.reason) == (
        LoginDecision.NOT_REQUIRED,
        LoginReason.TRUSTED_DEVICE,
    )
    assert answer.device_expires_at == verified.device_token_expires_at
    assert answer.available_methods == APP_AND_BACKUP
    assert answer.backup_codes_remaining == 10
    # Without the cookie the same user is asked.
    asked(evaluate(client), LoginReason.DEVICE_NOT_TRUSTED)
    assert client.get_user_status(T, U).trusted_device_count == 1


def test_remember_device_without_it_or_under_every_login_issues_no_token(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    secret, _ = enroll_app(client, clock, advance=30)
    plain = client.verify_code(T, U, totp_code(secret, clock.now()))
    assert plain.accepted
    assert plain.device_token_status is DeviceTokenStatus.UNSPECIFIED
    assert plain.device_token is None and plain.device_token_expires_at is None

    clock.advance(30)
    every_login = client.verify_code(T, U, totp_code(secret, clock.now()), remember_device=True)
    assert every_login.accepted
    assert every_login.device_token_status is DeviceTokenStatus.POLICY_EVERY_LOGIN
    assert every_login.device_token is None and every_login.device_token_expires_at is None
    assert client.list_trusted_devices(T, U) == []


def test_a_refused_code_with_remember_device_issues_no_token(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    trust_devices(client)
    secret, _ = enroll_app(client, clock, advance=30)
    answers = [
        client.verify_code(T, U, code, remember_device=True)
        for code in (totp_code(secret, clock.now() - 30), wrong_code(secret, clock.now()))
    ]
    assert [a.reason for a in answers] == [VerifyReason.CODE_REUSED, VerifyReason.WRONG_CODE]
    lock_out(client, clock, secret)
    locked = client.verify_code(T, U, totp_code(secret, clock.now()), remember_device=True)
    assert locked.result is VerifyResult.LOCKED_OUT
    for answer in [*answers, locked]:
        assert answer.device_token_status is DeviceTokenStatus.CODE_NOT_ACCEPTED
        assert answer.device_token is None and answer.device_token_expires_at is None
    assert client.list_trusted_devices(T, U) == []


@pytest.mark.lmdb_only  # reads the LMDB files
def test_tokens_are_random_urlsafe_and_never_stored_or_listed(
    client: TwoFactorClient, clock: FixedClock, settings: Settings
) -> None:
    trust_devices(client)
    secret, _ = enroll_app(client, clock, advance=30)
    tokens = [remember(client, clock, secret, label=f"browser {i}") for i in range(12)]
    assert len(set(tokens)) == len(tokens)
    raws = []
    for token in tokens:
        assert TOKEN_SHAPE.match(token), token
        raw = base64.urlsafe_b64decode(token + "=")
        assert len(raw) == 32
        raws.append(raw)
    # 12 x 256 random bits: no two tokens share a 4-byte prefix in practice.
    assert len({raw[:4] for raw in raws}) == len(raws)

    listed = client.list_trusted_devices(T, U)
    assert len(listed) == 12
    shown = " ".join(f"{d.device_id} {d.label}" for d in listed)
    on_disk = store_bytes(settings.data_dir)
    assert b"browser 0" in on_disk  # the files are really being read
    for token, raw in zip(tokens, raws, strict=True):
        assert token not in shown
        assert token[:16] not in shown
        assert token.encode() not in on_disk
        assert raw not in on_disk
        assert raw.hex().encode() not in on_disk
        assert base64.b64encode(raw) not in on_disk


def test_device_labels_are_kept_up_to_128_characters(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    trust_devices(client)
    secret, _ = enroll_app(client, clock, advance=30)
    label = "Firefox \u00e9" * 16  # 144 characters
    longest = label[:128]  # 128 characters, more bytes in UTF-8
    assert len(longest.encode()) > 128
    remember(client, clock, secret, label=longest)
    remember(client, clock, secret)
    labels = [d.label for d in client.list_trusted_devices(T, U)]
    assert labels == ["", longest]  # newest first

    for bad in (label[:129], "Firefox\x00", "line\nbreak"):
        with pytest.raises(InvalidArgument) as refused:
            client.verify_code(
                T, U, totp_code(secret, clock.now()), remember_device=True, device_label=bad
            )
        violation = refused.value.field_violations[0]
        assert violation.field == "device_label"
        assert "128 characters" in violation.description
    # Refused before the code was looked at: nothing counted, nothing used.
    assert client.get_user_status(T, U).failed_attempts == 0
    assert client.verify_code(T, U, totp_code(secret, clock.now())).accepted
    assert len(client.list_trusted_devices(T, U)) == 2


def test_a_token_of_another_user_or_tenant_never_works(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    for tenant in (T, "globex"):
        trust_devices(client, tenant)
    alice, _ = enroll_app(client, clock, advance=30)
    enroll_app(client, clock, T, "bob", advance=30)
    alice_elsewhere, _ = enroll_app(client, clock, "globex", U, advance=30)
    token = remember(client, clock, alice)
    elsewhere = remember(client, clock, alice_elsewhere, tenant="globex")

    assert trusted(client, token) and trusted(client, elsewhere, tenant="globex")
    assert not trusted(client, token, user="bob")
    assert not trusted(client, token, tenant="globex")
    assert not trusted(client, elsewhere)
    asked(evaluate(client, token, user="bob"), LoginReason.DEVICE_NOT_TRUSTED)
    # Nothing was touched by the failed tries.
    assert client.list_trusted_devices(T, "bob") == []
    assert trusted(client, token)


@pytest.mark.lmdb_only  # edits the LMDB records
def test_a_device_copied_into_another_users_record_does_not_trust_them(
    app: Application, settings: Settings, clock: FixedClock
) -> None:
    with TwoFactorClient(app.addresses[0]) as client:
        for tenant in (T, "globex"):
            trust_devices(client, tenant)
        secret, _ = enroll_app(client, clock, advance=30)
        token = remember(client, clock, secret, label="alice's laptop")
        others = (UserRef(T, "mallory"), UserRef("globex", U))
        for other in others:
            enroll_app(client, clock, other.tenant_id, other.user_id, advance=30)
    app.stop(0)
    # Someone with write access to the files copies Alice's device into other records.
    env = lmdb.open(str(settings.data_dir), max_dbs=8)
    with env.begin(write=True, db=env.open_db(keys.USERS)) as txn:

        def load(user: UserRef) -> UserRecord:
            data = txn.get(keys.user_key(user))
            assert data is not None
            return UserRecord.FromString(data)

        alice = load(UserRef(T, U))
        for other in others:
            record = load(other)
            record.devices.extend(alice.devices)
            txn.put(keys.user_key(other), record.SerializeToString())
    env.close()

    again = restart(app, settings, clock)
    try:
        with TwoFactorClient(again.addresses[0]) as client:
            assert trusted(client, token)
            for other in others:
                listed = client.list_trusted_devices(other.tenant_id, other.user_id)
                assert [d.label for d in listed] == ["alice's laptop"]  # the copy is there
                assert not trusted(client, token, user=other.user_id, tenant=other.tenant_id)
    finally:
        again.stop(0)


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("x", id="short"),
        pytest.param("A" * 42, id="42-chars"),
        pytest.param("A" * 44, id="44-chars"),
        pytest.param("A" * 256, id="256-chars"),
        pytest.param(a_token() + "=", id="padded"),
        pytest.param("!" * 43, id="not-base64"),
        pytest.param("\u00e9" * 43, id="non-ascii"),
        pytest.param(" " * 43, id="spaces"),
        pytest.param(a_token(), id="never-issued"),
    ],
)
def test_an_unknown_or_malformed_token_is_simply_not_trusted(
    client: TwoFactorClient, clock: FixedClock, token: str
) -> None:
    trust_devices(client)
    secret, _ = enroll_app(client, clock, advance=30)
    remember(client, clock, secret)
    answer = evaluate(client, token)
    asked(answer, LoginReason.DEVICE_NOT_TRUSTED)
    assert answer.available_methods == APP_AND_BACKUP


def test_an_oversized_token_is_invalid_argument(client: TwoFactorClient, clock: FixedClock) -> None:
    trust_devices(client)
    secret, _ = enroll_app(client, clock, advance=30)
    token = remember(client, clock, secret)
    for oversized in ("A" * 257, token * 6):
        with pytest.raises(InvalidArgument) as refused:
            evaluate(client, oversized)
        violation = refused.value.field_violations[0]
        assert violation.field == "device_token"
        assert "256" in violation.description
        assert token not in str(refused.value)
    assert trusted(client, token)


@pytest.mark.parametrize("spelling", ["standard-alphabet", "other-final-character"])
def test_only_the_issued_spelling_of_a_token_is_trusted(
    client: TwoFactorClient, clock: FixedClock, spelling: str
) -> None:
    trust_devices(client)
    secret, _ = enroll_app(client, clock, advance=30)
    token = remember(client, clock, secret)
    while "-" not in token and "_" not in token:  # about one token in four has neither
        token = remember(client, clock, secret)
    if spelling == "standard-alphabet":
        # '+' and '/' are not URL-safe base64: a malformed token, not this one.
        alias = token.replace("-", "+").replace("_", "/")
    else:
        # 43 characters carry 258 bits; the last character's 2 spare bits must be 0.
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        alias = token[:-1] + alphabet[alphabet.index(token[-1]) ^ 1]
    assert alias != token
    assert trusted(client, token)
    assert not trusted(client, alias)


def test_a_user_whose_methods_the_policy_all_disallows_must_enroll_again(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    _, codes = enroll_app(client, clock, advance=30)
    client.update_policy(T, allowed_methods=[Method.EMAIL])
    # While backup codes remain they are the way in.
    answer = evaluate(client)
    assert answer.decision is LoginDecision.REQUIRED
    assert answer.available_methods == (Method.BACKUP_CODE,)
    for code in codes:
        assert client.verify_code(T, U, code).accepted
    answer = evaluate(client)
    assert (answer.decision, answer.reason) == (
        LoginDecision.ENROLLMENT_REQUIRED,
        LoginReason.NOT_ENROLLED_REQUIRED,
    )
    assert answer.available_methods == ()


def test_cancelling_a_pending_setup_keeps_the_trusted_devices(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    trust_devices(client)
    secret, _ = enroll_app(client, clock, advance=30)
    token = remember(client, clock, secret)
    client.begin_email_setup(T, U, "alice@example.com")  # pending only
    assert client.disable_method(T, U, Method.EMAIL).changed
    assert trusted(client, token)
    assert len(client.list_trusted_devices(T, U)) == 1
    assert client.disable_method(T, U, Method.AUTHENTICATOR_APP).changed
    assert client.list_trusted_devices(T, U) == []


def test_trust_follows_trusted_device_days_of_the_current_policy(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    trust_devices(client, days=14)
    secret, _ = enroll_app(client, clock, advance=30)
    created = clock.now()
    token = remember(client, clock, secret)

    def expires() -> datetime:
        (device,) = client.list_trusted_devices(T, U)
        return device.expires_at

    clock.advance(created + 10 * DAY - clock.now())
    assert trusted(client, token) and expires() == at(clock, 4 * DAY)
    client.update_policy(T, trusted_device_days=7)
    assert not trusted(client, token)
    assert client.list_trusted_devices(T, U) == []
    assert client.get_user_status(T, U).trusted_device_count == 0
    client.update_policy(T, trusted_device_days=30)
    assert trusted(client, token) and expires() == at(clock, 20 * DAY)
    assert evaluate(client, token).device_expires_at == at(clock, 20 * DAY)
    client.update_policy(T, trusted_device_days=14)
    # Valid while now < created + days: one second before, yes; at the instant, no.
    clock.advance(created + 14 * DAY - 1 - clock.now())
    assert trusted(client, token)
    clock.advance(1)
    assert not trusted(client, token)
    asked(evaluate(client, token), LoginReason.DEVICE_NOT_TRUSTED)


@pytest.mark.lmdb_only  # reads the raw LMDB records
def test_last_use_is_stored_at_most_once_an_hour(
    app: Application, client: TwoFactorClient, clock: FixedClock
) -> None:
    trust_devices(client)
    secret, _ = enroll_app(client, clock, advance=30)
    token = remember(client, clock, secret, label="laptop")
    (device,) = client.list_trusted_devices(T, U)
    assert device.last_used_at == device.created_at

    # Within the hour a trusted login is a read: the store does not change.
    clock.advance(10 * 60)
    before = dump_store(app)
    assert trusted(client, token)
    assert dump_store(app) == before
    (device,) = client.list_trusted_devices(T, U)
    assert device.last_used_at == device.created_at

    clock.advance(51 * 60)  # over an hour since the last stored use
    assert trusted(client, token)
    first_use = at(clock)
    (device,) = client.list_trusted_devices(T, U)
    assert device.last_used_at == first_use

    clock.advance(59 * 60)
    before = dump_store(app)
    assert trusted(client, token)
    assert dump_store(app) == before
    assert client.list_trusted_devices(T, U)[0].last_used_at == first_use

    clock.advance(60)  # exactly an hour after the stored use
    assert trusted(client, token)
    assert client.list_trusted_devices(T, U)[0].last_used_at == at(clock)
    # A login that is asked for a code (no token) stores no use of the device.
    clock.advance(2 * 3600)
    asked(evaluate(client), LoginReason.DEVICE_NOT_TRUSTED)
    assert client.list_trusted_devices(T, U)[0].last_used_at == at(clock, -2 * 3600)


def test_list_shows_id_label_created_last_used_and_expiry_newest_first(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    trust_devices(client, days=30)
    secret, _ = enroll_app(client, clock, advance=30)
    created = []
    for label in ("phone", "laptop", "tablet"):
        created.append(at(clock))
        remember(client, clock, secret, label=label)
        clock.advance(DAY)
    listed = client.list_trusted_devices(T, U)
    assert [d.label for d in listed] == ["tablet", "laptop", "phone"]
    assert [d.created_at for d in listed] == created[::-1]
    assert [d.last_used_at for d in listed] == created[::-1]
    assert [d.expires_at for d in listed] == [c + timedelta(days=30) for c in created[::-1]]
    assert len({d.device_id for d in listed}) == 3
    assert all(d.device_id for d in listed)
    assert client.get_user_status(T, U).trusted_device_count == 3
    assert client.list_trusted_devices(T, "nobody") == []


def test_at_most_fifty_devices_per_user_the_oldest_is_evicted(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    trust_devices(client)
    secret, _ = enroll_app(client, clock, advance=30)
    tokens = [remember(client, clock, secret, label=f"device {i}") for i in range(51)]
    listed = client.list_trusted_devices(T, U)
    assert len(listed) == 50
    assert [d.label for d in listed] == [f"device {i}" for i in range(50, 0, -1)]
    assert not trusted(client, tokens[0])
    assert trusted(client, tokens[1]) and trusted(client, tokens[50])
    tokens.append(remember(client, clock, secret, label="device 51"))
    assert not trusted(client, tokens[1])
    assert trusted(client, tokens[2]) and trusted(client, tokens[51])
    assert client.get_user_status(T, U).trusted_device_count == 50


def test_revoking_needs_exactly_one_of_id_and_all(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    trust_devices(client)
    secret, _ = enroll_app(client, clock, advance=30)
    bob, _ = enroll_app(client, clock, T, "bob", advance=30)
    token = remember(client, clock, secret)
    bobs = remember(client, clock, bob, user="bob")
    (device,) = client.list_trusted_devices(T, U)
    with pytest.raises(InvalidArgument) as neither:
        client.revoke_trusted_devices(T, U)
    with pytest.raises(InvalidArgument) as both:
        client.revoke_trusted_devices(T, U, device_id=device.device_id, all=True)
    for refused in (neither, both):
        assert refused.value.field_violations[0].field == "device_id"
    assert trusted(client, token)
    # An unknown id, or another user's, revokes nothing.
    assert client.revoke_trusted_devices(T, U, device_id="0" * 16) == 0
    (bobs_device,) = client.list_trusted_devices(T, "bob")
    assert client.revoke_trusted_devices(T, U, device_id=bobs_device.device_id) == 0
    assert client.revoke_trusted_devices(T, "nobody", all=True) == 0
    assert trusted(client, token) and trusted(client, bobs, user="bob")


def test_confirming_a_reset_of_the_app_revokes_every_device(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    trust_devices(client)
    secret, _ = enroll_app(client, clock, advance=30)
    tokens = [remember(client, clock, secret) for _ in range(3)]
    reset = client.begin_authenticator_setup(T, U)
    assert reset.is_reset
    # Until the new app is confirmed, nothing changes.
    assert all(trusted(client, token) for token in tokens)
    refused = client.confirm_authenticator_setup(T, U, wrong_code(reset.secret, clock.now()))
    assert not refused.accepted
    assert all(trusted(client, token) for token in tokens)
    assert client.confirm_authenticator_setup(T, U, totp_code(reset.secret, clock.now())).accepted
    assert not any(trusted(client, token) for token in tokens)
    assert client.list_trusted_devices(T, U) == []


def test_turning_the_method_off_or_deleting_the_user_revokes_every_device(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    trust_devices(client)
    secret, _ = enroll_app(client, clock, advance=30)
    token = remember(client, clock, secret)
    disabled = client.disable_method(T, U, Method.AUTHENTICATOR_APP)
    assert disabled.changed and disabled.status.trusted_device_count == 0
    assert client.list_trusted_devices(T, U) == []
    secret, _ = enroll_app(client, clock, advance=30)
    assert not trusted(client, token)

    token = remember(client, clock, secret)
    assert client.delete_user(T, U) is True
    assert client.list_trusted_devices(T, U) == []
    secret, _ = enroll_app(client, clock, advance=30)
    assert not trusted(client, token)
    asked(evaluate(client, token), LoginReason.DEVICE_NOT_TRUSTED)


def test_with_email_and_app_both_are_offered_and_email_changes_revoke_devices(
    mailroom: TwofaWithSmtp, clock: FixedClock
) -> None:
    client = mailroom.client
    enroll_email(mailroom)
    setup = client.begin_authenticator_setup(T, U)
    assert client.confirm_authenticator_setup(T, U, totp_code(setup.secret, clock.now())).accepted
    both = (Method.AUTHENTICATOR_APP, Method.EMAIL, Method.BACKUP_CODE)
    assert evaluate(client).available_methods == both

    trust_devices(client)
    client.send_login_code(T, U)
    verified = client.verify_code(T, U, mailroom.next_code(), remember_device=True)
    assert verified.method is Method.EMAIL
    mailroom.next_notice("device_trusted")
    token = verified.device_token
    assert token is not None and trusted(client, token)

    # Methods the policy no longer allows are not offered.
    client.update_policy(T, allowed_methods=[Method.EMAIL])
    assert evaluate(client).available_methods == (Method.EMAIL, Method.BACKUP_CODE)
    client.update_policy(T, allowed_methods=[])

    # Reset of email: the old address keeps the devices until the new one is confirmed.
    mailroom.advance(60)
    client.begin_email_setup(T, U, "alice@new.example")
    code = mailroom.next_code("alice@new.example")
    assert trusted(client, token)
    assert client.confirm_email_setup(T, U, code).accepted
    assert not trusted(client, token)

    # Turning one of two methods off revokes the devices too; the user stays enrolled.
    clock.advance(30)
    token = remember(client, clock, setup.secret)
    assert client.disable_method(T, U, Method.EMAIL).changed
    asked(evaluate(client, token), LoginReason.DEVICE_NOT_TRUSTED)
    assert evaluate(client).available_methods == APP_AND_BACKUP


# --- 3. policy -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "allowed"),
    [
        pytest.param({"trusted_device_days": 0}, "trusted_device_days", "1-365", id="days-0"),
        pytest.param({"trusted_device_days": 366}, "trusted_device_days", "1-365", id="days-366"),
        pytest.param({"max_attempts": 21}, "max_attempts", "1-20", id="attempts-21"),
        pytest.param({"lockout_seconds": 59}, "lockout_seconds", "60-86400", id="lockout-59"),
        pytest.param(
            {"email_code_ttl_seconds": 3601}, "email_code_ttl_seconds", "60-3600", id="ttl-3601"
        ),
        pytest.param(
            {"warn_after_failures": 6}, "warn_after_failures", "max_attempts (5)", id="warn-6"
        ),
        pytest.param({"warning_text": ""}, "warning_text", "1-256 characters", id="text-empty"),
        pytest.param(
            {"frequency": Frequency.UNSPECIFIED},
            "frequency",
            "EVERY_LOGIN, TRUSTED_DEVICE",
            id="frequency-unset",
        ),
        pytest.param(
            {"enforcement": Enforcement.UNSPECIFIED},
            "enforcement",
            "OPTIONAL, REQUIRED",
            id="enforcement-unset",
        ),
        pytest.param(
            {"allowed_methods": [Method.BACKUP_CODE]},
            "allowed_methods",
            "AUTHENTICATOR_APP, EMAIL",
            id="methods-backup",
        ),
    ],
)
def test_update_policy_names_the_allowed_range_and_changes_nothing(
    client: TwoFactorClient, fields: PolicyFields, field: str, allowed: str
) -> None:
    before = client.update_policy(T, frequency=Frequency.TRUSTED_DEVICE)
    with pytest.raises(InvalidArgument) as refused:
        client.update_policy(T, **fields)
    (violation,) = refused.value.field_violations
    assert violation.field == f"policy.{field}"
    assert allowed in violation.description
    assert client.get_policy(T).policy == before


def test_allowed_methods_are_enforced_at_setup(client: TwoFactorClient, clock: FixedClock) -> None:
    client.update_policy(T, allowed_methods=[Method.EMAIL])
    with pytest.raises(FailedPrecondition) as refused:
        client.begin_authenticator_setup(T, U)
    assert "AUTHENTICATOR_APP" in refused.value.message
    (violation,) = refused.value.violations
    assert (violation.type, violation.subject) == ("METHOD_NOT_ALLOWED", "AUTHENTICATOR_APP")
    assert evaluate(client).reason is LoginReason.NOT_ENROLLED_OPTIONAL

    client.update_policy(T, allowed_methods=[Method.AUTHENTICATOR_APP])
    enroll_app(client, clock, advance=30)


def test_allowed_methods_are_enforced_at_verification(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    secret, codes = enroll_app(client, clock, advance=30)
    client.update_policy(T, allowed_methods=[Method.EMAIL])
    answer = evaluate(client)
    asked(answer, LoginReason.EVERY_LOGIN_POLICY)
    assert answer.available_methods == (Method.BACKUP_CODE,)
    for method in (Method.UNSPECIFIED, Method.AUTHENTICATOR_APP):
        with pytest.raises(FailedPrecondition) as refused:
            client.verify_code(T, U, totp_code(secret, clock.now()), method=method)
        assert "AUTHENTICATOR_APP" in refused.value.message
        assert refused.value.violations[0].subject == "AUTHENTICATOR_APP"
    assert client.get_user_status(T, U).failed_attempts == 0
    # Backup codes remain the way in.
    assert client.verify_code(T, U, codes[0]).accepted

    client.update_policy(T, allowed_methods=[])
    assert client.verify_code(T, U, totp_code(secret, clock.now())).accepted
    assert evaluate(client).available_methods == APP_AND_BACKUP


# --- 5. the seed's scenarios -------------------------------------------------------------


def test_scenario_skip_for_14_days_a_trusted_browser_is_not_asked_on_day_13_but_on_day_15(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    # The administrator chooses "skip 2FA for 14 days on a trusted browser".
    policy = client.update_policy(T, frequency=Frequency.TRUSTED_DEVICE, trusted_device_days=14)
    assert (policy.frequency, policy.trusted_device_days) == (Frequency.TRUSTED_DEVICE, 14)
    secret, _ = enroll_app(client, clock, advance=30)
    day0 = clock.now()
    asked(evaluate(client), LoginReason.DEVICE_NOT_TRUSTED)
    cookie = remember(client, clock, secret, label="Firefox on Linux")

    clock.advance(day0 + 13 * DAY - clock.now())
    day13 = evaluate(client, cookie)
    assert (day13.decision, day13.reason) == (
        LoginDecision.NOT_REQUIRED,
        LoginReason.TRUSTED_DEVICE,
    )
    assert day13.device_expires_at == at(clock, DAY)

    clock.advance(2 * DAY)
    day15 = evaluate(client, cookie)
    asked(day15, LoginReason.DEVICE_NOT_TRUSTED)
    assert day15.available_methods == APP_AND_BACKUP
    # Answering the code with "remember" again trusts the browser for 14 more days.
    cookie = remember(client, clock, secret, label="Firefox on Linux")
    clock.advance(13 * DAY)
    assert trusted(client, cookie)


def test_scenario_a_cleared_cookie_or_another_browser_is_asked(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    trust_devices(client)
    secret, _ = enroll_app(client, clock, advance=30)
    firefox = remember(client, clock, secret, label="Firefox")
    clock.advance(DAY)
    assert trusted(client, firefox)
    # The cookie was cleared: no token comes with the login.
    asked(evaluate(client), LoginReason.DEVICE_NOT_TRUSTED)
    # Another browser has a cookie of its own, or none.
    asked(evaluate(client, a_token()), LoginReason.DEVICE_NOT_TRUSTED)
    chrome = remember(client, clock, secret, label="Chrome")
    assert trusted(client, chrome) and trusted(client, firefox)
    assert [d.label for d in client.list_trusted_devices(T, U)] == ["Chrome", "Firefox"]


def test_scenario_the_administrator_switches_to_every_login_and_everyone_is_asked(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    trust_devices(client)
    users = ("alice", "bob", "carol")
    cookies: dict[str, str] = {}
    secrets_by_user: dict[str, str] = {}
    for user in users:
        secrets_by_user[user], _ = enroll_app(client, clock, T, user, advance=30)
        cookies[user] = remember(client, clock, secrets_by_user[user], user=user)
    assert all(trusted(client, cookies[u], user=u) for u in users)

    client.update_policy(T, frequency=Frequency.EVERY_LOGIN)
    for user in users:
        answer = evaluate(client, cookies[user], user=user)
        asked(answer, LoginReason.EVERY_LOGIN_POLICY)
        assert answer.available_methods == APP_AND_BACKUP
    # "Remember this device" is now answered with why no token comes.
    clock.advance(30)
    refused = client.verify_code(
        T, "bob", totp_code(secrets_by_user["bob"], clock.now()), remember_device=True
    )
    assert refused.accepted and refused.device_token is None
    assert refused.device_token_status is DeviceTokenStatus.POLICY_EVERY_LOGIN
    # The devices were ignored, not revoked: switching back trusts them again.
    client.update_policy(T, frequency=Frequency.TRUSTED_DEVICE)
    assert all(trusted(client, cookies[u], user=u) for u in users)


def test_scenario_revoke_one_device_then_all(client: TwoFactorClient, clock: FixedClock) -> None:
    trust_devices(client)
    secret, _ = enroll_app(client, clock, advance=30)
    cookies = {
        label: remember(client, clock, secret, label=label)
        for label in ("work laptop", "home desktop", "phone")
    }
    listed = client.list_trusted_devices(T, U)
    assert [d.label for d in listed] == ["phone", "home desktop", "work laptop"]
    laptop = next(d for d in listed if d.label == "work laptop")

    assert client.revoke_trusted_devices(T, U, device_id=laptop.device_id) == 1
    assert not trusted(client, cookies["work laptop"])
    assert trusted(client, cookies["home desktop"]) and trusted(client, cookies["phone"])
    assert [d.label for d in client.list_trusted_devices(T, U)] == ["phone", "home desktop"]
    assert client.revoke_trusted_devices(T, U, device_id=laptop.device_id) == 0

    assert client.revoke_trusted_devices(T, U, all=True) == 2
    assert not any(trusted(client, cookie) for cookie in cookies.values())
    assert client.list_trusted_devices(T, U) == []
    assert client.get_user_status(T, U).trusted_device_count == 0
    assert client.revoke_trusted_devices(T, U, all=True) == 0


def test_scenario_lost_phone_backup_code_login_then_app_reset_untrusts_every_old_device(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    trust_devices(client)
    secret, codes = enroll_app(client, clock, advance=30)
    old_cookies = [remember(client, clock, secret, label=label) for label in ("home", "work")]

    # The phone is lost; on a new laptop the user is asked and types a backup code.
    answer = evaluate(client)
    asked(answer, LoginReason.DEVICE_NOT_TRUSTED)
    assert Method.BACKUP_CODE in answer.available_methods
    by_backup = client.verify_code(
        T, U, codes[3].lower(), remember_device=True, device_label="new laptop"
    )
    assert by_backup.accepted and by_backup.method is Method.BACKUP_CODE
    assert by_backup.backup_codes_remaining == 9
    laptop = by_backup.device_token
    assert laptop is not None and trusted(client, laptop)

    # They reset the app: a new phone, a new secret.
    reset = client.begin_authenticator_setup(T, U)
    assert reset.is_reset
    assert client.confirm_authenticator_setup(T, U, totp_code(reset.secret, clock.now())).accepted
    for cookie in [*old_cookies, laptop]:
        assert not trusted(client, cookie)
        asked(evaluate(client, cookie), LoginReason.DEVICE_NOT_TRUSTED)
    assert client.list_trusted_devices(T, U) == []
    # The lost phone's codes no longer work; the new phone's do, and can trust a device.
    clock.advance(30)
    assert not client.verify_code(T, U, totp_code(secret, clock.now())).accepted
    assert trusted(client, remember(client, clock, reset.secret, label="new laptop"))
    assert client.get_user_status(T, U).backup_codes_remaining == 9
