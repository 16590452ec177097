"""ImportAuthenticators: users' existing apps moved in from another system, checked with oathtool.

The secrets are encoded by coreutils' base32 and every code a user types is computed by
oathtool (OATH Toolkit) for that user's digits, period and algorithm: twofa's own TOTP
code plays no part in what the tests expect.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import replace
from urllib.parse import parse_qs, urlparse

import pytest

from twofa_client import (
    Frequency,
    ImportedAuthenticator,
    ImportResult,
    InvalidArgument,
    Method,
    MethodState,
    TwoFactorClient,
    VerifyReason,
)
from twofa_server.app import Application

from ..support.clock import FixedClock
from ..support.enroll import enroll_app
from ..support.metrics import scrape, value
from ..support.oathtool import new_secret, oathtool
from ..support.totp import totp_code

T = "acme"
COMBINATIONS = list(itertools.product((6, 8), (30, 60), ("SHA1", "SHA256", "SHA512")))


def entry(
    user: str,
    secret: str,
    digits: int = 6,
    period: int = 30,
    algorithm: str = "SHA1",
    last_used_step: int | None = None,
) -> ImportedAuthenticator:
    return ImportedAuthenticator(
        user_id=user,
        secret_base32=secret,
        digits=digits,
        period_seconds=period,
        algorithm=algorithm,
        last_used_step=last_used_step,
    )


def test_every_parameter_combination_verifies_oathtool_codes(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    # Secret sizes from the 80-bit floor to SHA-512's 64 bytes, in lower case too.
    sizes = itertools.cycle((10, 20, 32, 64))
    users = {
        f"user-{digits}-{period}-{algorithm}": (new_secret(next(sizes)), digits, period, algorithm)
        for digits, period, algorithm in COMBINATIONS
    }
    results = client.import_authenticators(
        T,
        [
            entry(user, secret.lower() if digits == 8 else secret, digits, period, algorithm)
            for user, (secret, digits, period, algorithm) in users.items()
        ],
    )
    assert results == [(user, ImportResult.IMPORTED) for user in users]
    clock.advance(60)  # past the import's own step, which counts as used
    for user, (secret, digits, period, algorithm) in users.items():
        status = client.get_user_status(T, user).method(Method.AUTHENTICATOR_APP)
        assert status is not None and status.state is MethodState.ENABLED
        code = oathtool(secret, clock.now(), digits, period, algorithm)
        assert len(code) == digits
        accepted = client.verify_code(T, user, code)
        assert accepted.accepted, (user, accepted)
        assert accepted.method is Method.AUTHENTICATOR_APP
        again = client.verify_code(T, user, code)
        assert again.reason is VerifyReason.CODE_REUSED, (user, again)
        # The same secret under the default parameters is not this user's app.
        if (digits, period, algorithm) != (6, 30, "SHA1"):
            other = oathtool(secret, clock.now() + period)
            assert not client.verify_code(T, user, other).accepted, user


def test_a_known_last_used_step_is_the_replay_guard(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    used, older = new_secret(), new_secret()
    step = int(clock.now() // 60)
    client.import_authenticators(
        T,
        [
            entry("used-now", used, period=60, last_used_step=step),
            entry("used-before", older, period=60, last_used_step=step - 5),
        ],
    )
    code_now = oathtool(used, clock.now(), period=60)
    assert client.verify_code(T, "used-now", code_now).reason is VerifyReason.CODE_REUSED
    assert client.verify_code(T, "used-before", oathtool(older, clock.now(), period=60)).accepted
    clock.advance(60)
    assert client.verify_code(T, "used-now", oathtool(used, clock.now(), period=60)).accepted


def test_without_a_last_used_step_the_import_step_counts_as_used(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    # A code just used with the other system cannot be used again here.
    secret = new_secret()
    client.import_authenticators(T, [entry("erin", secret)])
    refused = client.verify_code(T, "erin", oathtool(secret, clock.now()))
    assert refused.reason is VerifyReason.CODE_REUSED
    clock.advance(30)
    assert client.verify_code(T, "erin", oathtool(secret, clock.now())).accepted


def test_a_rerun_is_unchanged_and_an_enrolled_user_keeps_their_app(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    enrolled = enroll_app(client, clock, T, "enrolled", advance=30)
    first, moved = new_secret(), new_secret()
    entries = [entry("moved", first), entry("enrolled", moved)]
    assert client.import_authenticators(T, entries) == [
        ("moved", ImportResult.IMPORTED),
        ("enrolled", ImportResult.ALREADY_ENROLLED),
    ]
    assert client.import_authenticators(T, entries) == [
        ("moved", ImportResult.UNCHANGED),
        ("enrolled", ImportResult.ALREADY_ENROLLED),
    ]
    clock.advance(30)
    assert client.verify_code(T, "enrolled", totp_code(enrolled.secret, clock.now())).accepted
    assert not client.verify_code(T, "enrolled", oathtool(moved, clock.now())).accepted


def test_replacing_an_enrolled_app_revokes_its_trusted_devices(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    client.update_policy(T, frequency=Frequency.TRUSTED_DEVICE)
    enrolled = enroll_app(client, clock, T, "bob", advance=30)
    code = totp_code(enrolled.secret, clock.now())
    trusted = client.verify_code(T, "bob", code, remember_device=True)
    assert trusted.device_token and client.list_trusted_devices(T, "bob")
    moved = new_secret()
    assert client.import_authenticators(T, [entry("bob", moved, 8)], replace_existing=True) == [
        ("bob", ImportResult.REPLACED)
    ]
    assert client.list_trusted_devices(T, "bob") == []
    clock.advance(30)
    assert not client.verify_code(T, "bob", totp_code(enrolled.secret, clock.now())).accepted
    assert client.verify_code(T, "bob", oathtool(moved, clock.now(), digits=8)).accepted


def test_a_later_set_up_keeps_the_imported_parameters(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    client.import_authenticators(T, [entry("carol", new_secret(), 8, 60, "SHA256")])
    clock.advance(60)
    setup = client.begin_authenticator_setup(T, "carol", account_name="carol@example.com")
    assert setup.is_reset
    query = parse_qs(urlparse(setup.otpauth_uri).query)
    assert (query["algorithm"], query["digits"], query["period"]) == (["SHA256"], ["8"], ["60"])
    code = oathtool(setup.secret, clock.now(), 8, 60, "SHA256")
    assert client.confirm_authenticator_setup(T, "carol", code).accepted


def test_an_imported_user_has_no_backup_codes_until_asked(
    client: TwoFactorClient, clock: FixedClock
) -> None:
    client.import_authenticators(T, [entry("dave", new_secret())])
    assert client.get_user_status(T, "dave").backup_codes_remaining == 0
    codes = client.regenerate_backup_codes(T, "dave")
    assert len(codes.codes) == 10
    assert client.verify_code(T, "dave", codes.codes[0]).accepted


def test_imports_are_counted_and_no_secret_reaches_a_log(
    app: Application, client: TwoFactorClient, caplog: pytest.LogCaptureFixture
) -> None:
    secrets = [new_secret() for _ in range(3)]
    caplog.set_level(logging.DEBUG)
    client.import_authenticators(T, [entry(f"u{i}", s) for i, s in enumerate(secrets)])
    with pytest.raises(InvalidArgument) as refused:
        client.import_authenticators(T, [replace(entry("bad", secrets[0]), digits=7)])
    assert secrets[0].rstrip("=") not in str(refused.value)
    series = scrape(app)
    imported = value(
        series, "twofa_enrollments_total", method="authenticator_app", event="imported"
    )
    assert imported == 3
    for secret in secrets:
        for text in (secret.rstrip("="), secret.lower().rstrip("=")):
            assert text not in caplog.text
            assert all(text not in "".join(map(str, key)) for key in series)
