"""The authenticator app end to end: a real server, real LMDB, driven through the client."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import pytest

from twofa_client import (
    FailedPrecondition,
    Method,
    MethodState,
    MethodStatus,
    TwoFactorClient,
    VerifyReason,
    VerifyResult,
)
from twofa_server.app import Application
from twofa_server.config import Settings

from ..support.clock import FixedClock, at
from ..support.enroll import enroll_app
from ..support.stores import restart
from ..support.tools import required_tool
from ..support.totp import totp_code, wrong_code

T, U = "acme", "alice"


def app_status(client: TwoFactorClient, user: str = U) -> MethodStatus:
    status = client.get_user_status(T, user).method(Method.AUTHENTICATOR_APP)
    assert status is not None
    return status


def test_enrollment_shows_uri_and_qr_then_confirms(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    setup = client.begin_authenticator_setup(
        T, U, account_name="alice@example.com", issuer="Acme Corp"
    )
    uri = urlparse(setup.otpauth_uri)
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert unquote(uri.path) == "/Acme Corp:alice@example.com"
    assert parse_qs(uri.query) == {
        "secret": [setup.secret],
        "issuer": ["Acme Corp"],
        "algorithm": ["SHA1"],
        "digits": ["6"],
        "period": ["30"],
    }
    assert "=" not in setup.secret and len(setup.secret) == 32  # 160 bits, no padding
    assert setup.qr_png.startswith(b"\x89PNG") and "<svg" in setup.qr_svg
    assert setup.expires_at == at(clock) + timedelta(minutes=15)
    assert not setup.is_reset
    assert app_status(client).state is MethodState.PENDING

    confirmation = client.confirm_authenticator_setup(T, U, totp_code(setup.secret, clock.now()))
    assert confirmation.result is VerifyResult.ACCEPTED
    app = app_status(client)
    assert app.state is MethodState.ENABLED and app.enabled_at == at(clock)
    status = client.get_user_status(T, U)
    assert status.enrolled and status.failed_attempts == 0


def test_qr_png_from_the_api_decodes_to_the_uri(client: TwoFactorClient, tmp_path: Path) -> None:
    zbarimg = required_tool("zbarimg", "apt-get install zbar-tools")
    setup = client.begin_authenticator_setup(T, U)
    image = tmp_path / "qr.png"
    image.write_bytes(setup.qr_png)
    decoded = subprocess.run(
        [zbarimg, "--raw", "-q", str(image)], capture_output=True, text=True, check=True
    ).stdout.rstrip("\n")
    assert decoded == setup.otpauth_uri


def test_defaults_issuer_from_config_and_account_from_user_id(client: TwoFactorClient) -> None:
    setup = client.begin_authenticator_setup(T, "bob")
    assert setup.otpauth_uri.startswith("otpauth://totp/twofa:bob?")
    assert "issuer=twofa" in setup.otpauth_uri


def test_codes_within_one_step_verify_and_none_works_twice(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    secret = enroll_app(client, clock, advance=0).secret
    # The confirmation's step counts as used (RFC 6238 §5.2).
    reused = client.verify_code(T, U, totp_code(secret, clock.now()))
    assert (reused.result, reused.reason) == (VerifyResult.REJECTED, VerifyReason.CODE_REUSED)

    clock.advance(60)
    assert client.verify_code(T, U, totp_code(secret, clock.now(), -1)).accepted
    assert not client.verify_code(T, U, totp_code(secret, clock.now(), -1)).accepted
    # An earlier step than the last accepted one is refused even though it is in the window.
    clock.advance(30)
    assert client.verify_code(T, U, totp_code(secret, clock.now(), +1)).accepted
    earlier = client.verify_code(T, U, totp_code(secret, clock.now()))
    assert earlier.reason is VerifyReason.CODE_REUSED
    clock.advance(90)
    # Two steps back is older than the last accepted code: simply wrong. Two steps
    # ahead is a fresh code of another time: a phone whose clock runs fast.
    behind = client.verify_code(T, U, totp_code(secret, clock.now(), -2))
    assert behind.reason is VerifyReason.WRONG_CODE
    ahead = client.verify_code(T, U, totp_code(secret, clock.now(), 2))
    assert (ahead.reason, ahead.clock_offset_seconds) == (VerifyReason.CLOCK_DRIFT, 60)
    spaced = totp_code(secret, clock.now())
    assert client.verify_code(T, U, f"{spaced[:3]} {spaced[3:]}").accepted
    assert client.verify_code(T, U, "12345").reason is VerifyReason.MALFORMED_CODE


def test_five_failures_lock_for_five_minutes_with_warnings(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    secret = enroll_app(client, clock, advance=0).secret
    clock.advance(30)
    bad = wrong_code(secret, clock.now())
    answers = [client.verify_code(T, U, bad) for _ in range(5)]
    assert [a.result for a in answers] == [VerifyResult.REJECTED] * 4 + [VerifyResult.LOCKED_OUT]
    assert [a.attempts_remaining for a in answers] == [4, 3, 2, 1, 0]
    assert [a.warning for a in answers] == ["", ""] + ["Please try again in five minutes."] * 3
    assert all(a.retry_after is None for a in answers[:4])
    assert answers[4].retry_after == timedelta(minutes=5)
    assert answers[4].locked_until == at(clock) + timedelta(minutes=5)
    assert answers[4].method is Method.AUTHENTICATOR_APP

    clock.advance(120)
    right = client.verify_code(T, U, totp_code(secret, clock.now()))
    assert (right.result, right.reason) == (VerifyResult.LOCKED_OUT, VerifyReason.LOCKED)
    assert right.retry_after == timedelta(minutes=3)  # the lock was not extended
    status = client.get_user_status(T, U)
    assert status.failed_attempts == 5 and status.locked_until == answers[4].locked_until

    clock.advance(180)
    accepted = client.verify_code(T, U, totp_code(secret, clock.now()))
    assert accepted.accepted and accepted.attempts_remaining == 5
    assert client.get_user_status(T, U).locked_until is None


def test_confirmation_codes_count_against_the_same_budget(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    old = enroll_app(client, clock, advance=0).secret
    new = client.begin_authenticator_setup(T, U).secret
    clock.advance(30)
    for _ in range(3):
        assert not client.confirm_authenticator_setup(T, U, wrong_code(new, clock.now())).accepted
    assert client.verify_code(T, U, wrong_code(old, clock.now())).attempts_remaining == 1
    locked = client.confirm_authenticator_setup(T, U, wrong_code(new, clock.now()))
    assert locked.result is VerifyResult.LOCKED_OUT
    still = client.confirm_authenticator_setup(T, U, totp_code(new, clock.now()))
    assert (still.result, still.reason) == (VerifyResult.LOCKED_OUT, VerifyReason.LOCKED)


def test_pending_setup_expires_after_fifteen_minutes(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    setup = client.begin_authenticator_setup(T, U)
    clock.advance(15 * 60)
    with pytest.raises(FailedPrecondition) as refused:
        client.confirm_authenticator_setup(T, U, totp_code(setup.secret, clock.now()))
    assert refused.value.violations[0].type == "NO_PENDING_SETUP"
    assert app_status(client).state is (MethodState.DISABLED)


def test_begin_while_pending_replaces_the_pending_secret(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    first = client.begin_authenticator_setup(T, U).secret
    second = client.begin_authenticator_setup(T, U).secret
    assert first != second
    stale = client.confirm_authenticator_setup(T, U, totp_code(first, clock.now()))
    assert stale.reason is VerifyReason.WRONG_CODE
    assert client.confirm_authenticator_setup(T, U, totp_code(second, clock.now())).accepted


def test_reset_keeps_the_old_app_working_until_the_new_one_is_confirmed(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    old = enroll_app(client, clock, advance=0).secret
    reset = client.begin_authenticator_setup(T, U)
    assert reset.is_reset
    app = app_status(client)
    assert app.state is MethodState.ENABLED and app.reset_pending
    clock.advance(30)
    assert client.verify_code(T, U, totp_code(old, clock.now())).accepted
    clock.advance(30)
    assert client.confirm_authenticator_setup(T, U, totp_code(reset.secret, clock.now())).accepted
    clock.advance(30)
    assert client.verify_code(T, U, totp_code(old, clock.now())).reason is VerifyReason.WRONG_CODE
    assert client.verify_code(T, U, totp_code(reset.secret, clock.now())).accepted
    assert not app_status(client).reset_pending


def test_disable_unlock_and_delete(client: TwoFactorClient, clock: FixedClock) -> None:
    secret = enroll_app(client, clock, advance=0).secret
    clock.advance(30)
    for _ in range(5):
        client.verify_code(T, U, wrong_code(secret, clock.now()))
    assert client.unlock_user(T, U) is True
    assert client.unlock_user(T, U) is False
    assert client.verify_code(T, U, totp_code(secret, clock.now())).accepted

    turned_off = client.disable_method(T, U, Method.AUTHENTICATOR_APP)
    assert turned_off.changed and not turned_off.status.enrolled
    assert client.disable_method(T, U, Method.AUTHENTICATOR_APP).changed is False
    with pytest.raises(FailedPrecondition):
        client.verify_code(T, U, totp_code(secret, clock.now() + 30))

    enroll_app(client, clock, T, "carol", advance=0)
    assert client.delete_user(T, "carol") is True
    assert client.delete_user(T, "carol") is False
    assert not client.get_user_status(T, "carol").enrolled


def test_tenants_and_users_are_independent(client: TwoFactorClient, clock: FixedClock) -> None:
    secret = enroll_app(client, clock, "one", U, advance=0).secret
    assert not client.get_user_status("two", U).enrolled
    with pytest.raises(FailedPrecondition):
        client.verify_code("two", U, totp_code(secret, clock.now() + 30))
    # The length-prefixed key keeps ("ab", "c") and ("a", "bc") apart.
    enroll_app(client, clock, "ab", "c", advance=0)
    assert not client.get_user_status("a", "bc").enrolled


def test_policy_attempt_fields_take_effect_per_tenant(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    assert client.get_policy(T).is_default
    policy = client.update_policy(
        T, max_attempts=3, warn_after_failures=2, lockout_seconds=60, warning_text="Wait a minute."
    )
    assert (policy.max_attempts, policy.lockout_seconds) == (3, 60)
    info = client.get_policy(T)
    assert not info.is_default and info.policy == policy
    assert client.get_policy("other").is_default

    secret = enroll_app(client, clock, advance=0).secret
    clock.advance(30)
    answers = [client.verify_code(T, U, wrong_code(secret, clock.now())) for _ in range(3)]
    assert [a.warning for a in answers] == ["", "Wait a minute.", "Wait a minute."]
    assert answers[-1].result is VerifyResult.LOCKED_OUT
    assert answers[-1].retry_after == timedelta(seconds=60)

    other = enroll_app(client, clock, "other", U, advance=0).secret
    clock.advance(60)
    counts = [
        client.verify_code("other", U, wrong_code(other, clock.now())).attempts_remaining
        for _ in range(3)
    ]
    assert counts == [4, 3, 2]


def test_state_survives_a_restart(app: Application, settings: Settings, clock: FixedClock) -> None:
    with TwoFactorClient(app.addresses[0]) as client:
        secret = enroll_app(client, clock, advance=0).secret
        clock.advance(30)
        code = totp_code(secret, clock.now())
        assert client.verify_code(T, U, code).accepted
        client.verify_code(T, U, wrong_code(secret, clock.now()))
        client.update_policy(T, max_attempts=7)
    again = restart(app, settings, clock)
    try:
        with TwoFactorClient(again.addresses[0]) as client:
            assert client.verify_code(T, U, code).reason is VerifyReason.CODE_REUSED
            status = client.get_user_status(T, U)
            assert status.enrolled and status.failed_attempts == 2
            assert client.get_policy(T).policy.max_attempts == 7
    finally:
        again.stop(0)
