"""Malformed requests and requests in the wrong state: refused with rich details, nothing stored.

Every bad request here goes through the raw generated stub (so any value can be sent,
unknown enum numbers included) and its error is parsed by the typed client's
`error_from_rpc_error`. Each test first stores real state (a tenant policy, an
enrolled user with a sealed secret, a failed attempt and a pending reset) whose
requests would change it, then checks that the refused call left every LMDB record
byte for byte as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from twofa.v1 import twofa_pb2 as pb
from twofa.v1 import twofa_pb2_grpc
from twofa_client import Method, TwoFactorClient
from twofa_client.errors import (
    FailedPrecondition,
    InvalidArgument,
    TwoFactorError,
    error_from_rpc_error,
)
from twofa_server.app import Application

from ..support.clock import FixedClock
from ..support.enroll import enroll_app
from ..support.lmdb_files import dump_store
from ..support.totp import totp_code, wrong_code

# Every refusal is checked against the raw LMDB records (dump_store) for changes; a store
# that offers snapshot() too can run these tests once this mark goes.
pytestmark = pytest.mark.lmdb_only

TENANT = "acme"
USER = "alice"
OTHER_USER = "bob"
APP, EMAIL = pb.METHOD_AUTHENTICATOR_APP, pb.METHOD_EMAIL

# The tenant's stored policy: every value differs from the configured default.
STORED_POLICY: dict[str, Any] = {
    "enforcement": pb.ENFORCEMENT_REQUIRED,
    "frequency": pb.FREQUENCY_TRUSTED_DEVICE,
    "trusted_device_days": 30,
    "max_attempts": 6,
    "warn_after_failures": 3,
    "lockout_seconds": 600,
    "warning_text": "Wait a moment, please.",
    "email_code_ttl_seconds": 900,
    "allowed_methods": [APP, EMAIL],
}

# One valid request per implemented RPC; each would change the seeded store if the
# server skipped validation (a new pending secret, a counted failure, a policy edit...).
BASE: dict[str, dict[str, Any]] = {
    "GetUserStatus": {"tenant_id": TENANT, "user_id": USER},
    "BeginAuthenticatorSetup": {
        "tenant_id": TENANT,
        "user_id": USER,
        "account_name": "alice@example.com",
        "issuer": "Acme",
    },
    "ConfirmAuthenticatorSetup": {"tenant_id": TENANT, "user_id": USER, "code": "123456"},
    "VerifyCode": {"tenant_id": TENANT, "user_id": USER, "code": "123456", "method": APP},
    "DisableMethod": {"tenant_id": TENANT, "user_id": USER, "method": APP},
    "GetPolicy": {"tenant_id": TENANT},
    "UpdatePolicy": {
        "tenant_id": TENANT,
        "policy": pb.Policy(**{**STORED_POLICY, "max_attempts": 7}),
        "update_mask": FieldMask(paths=["max_attempts"]),
    },
    "UnlockUser": {"tenant_id": TENANT, "user_id": USER},
    "DeleteUser": {"tenant_id": TENANT, "user_id": USER},
    "BeginEmailSetup": {"tenant_id": TENANT, "user_id": USER, "email": "alice@example.com"},
    "ConfirmEmailSetup": {"tenant_id": TENANT, "user_id": USER, "code": "123456"},
    "SendLoginCode": {"tenant_id": TENANT, "user_id": USER},
    "RegenerateBackupCodes": {"tenant_id": TENANT, "user_id": USER},
    "EvaluateLogin": {"tenant_id": TENANT, "user_id": USER},
    "ListTrustedDevices": {"tenant_id": TENANT, "user_id": USER},
    "RevokeTrustedDevices": {"tenant_id": TENANT, "user_id": USER, "all": True},
    "ImportAuthenticators": {
        "tenant_id": TENANT,
        "authenticators": [
            pb.ImportedAuthenticator(user_id=OTHER_USER, secret_base32="JBSWY3DPEHPK3PXPJBSWY3DP")
        ],
    },
}
USER_RPCS = [rpc for rpc, fields in BASE.items() if "user_id" in fields]

# Unicode category C: control (Cc) and format (Cf) characters.
CONTROL_CHARS = {"nul": "\x00", "newline": "\n", "del": "\x7f", "zwsp": "\u200b", "rlo": "\u202e"}

# A code must never be reflected in an error: this digit run marks the bad codes.
CODE_MARK = "731905"


# --------------------------------------------------------------------------- helpers


def call(client: TwoFactorClient, rpc: str, **fields: Any) -> Any:
    """Sends BASE[rpc] with `fields` replaced through the raw stub; errors as TwoFactorError."""
    stub = twofa_pb2_grpc.TwoFactorServiceStub(client.channel)
    request = getattr(pb, f"{rpc}Request")(**{**BASE.get(rpc, {}), **fields})
    try:
        return getattr(stub, rpc)(request, timeout=10)
    except grpc.RpcError as err:
        raise error_from_rpc_error(err) from err


def refused(
    app: Application, client: TwoFactorClient, kind: type[TwoFactorError], rpc: str, **fields: Any
) -> Any:
    """Makes the call, expects `kind`, and checks that the store did not change."""
    before = dump_store(app)
    with pytest.raises(kind) as caught:
        call(client, rpc, **fields)
    assert dump_store(app) == before, f"refused {rpc} changed the store"
    return caught.value


def invalid(app: Application, client: TwoFactorClient, rpc: str, **fields: Any) -> InvalidArgument:
    error = refused(app, client, InvalidArgument, rpc, **fields)
    assert isinstance(error, InvalidArgument)
    assert error.code is grpc.StatusCode.INVALID_ARGUMENT
    return error


def assert_violation(error: InvalidArgument, field: str, *fragments: str) -> None:
    """Every field violation names `field` and states the allowed values."""
    assert error.field_violations, f"no google.rpc.BadRequest details: {error}"
    assert {v.field for v in error.field_violations} == {field}, error.field_violations
    for violation in error.field_violations:
        for fragment in fragments:
            assert fragment in violation.description, violation


def texts(error: TwoFactorError) -> list[str]:
    """Every human-readable text an error carries to the client."""
    found = [str(error), error.message]
    found += [v.description for v in getattr(error, "field_violations", ())]
    found += [f"{v.subject} {v.description}" for v in getattr(error, "violations", ())]
    return found


def assert_not_echoed(error: TwoFactorError, code: str) -> None:
    for text in texts(error):
        assert code not in text, f"the code was reflected in an error: {text!r}"


def assert_precondition(error: FailedPrecondition, kind: str, subject: str) -> None:
    assert error.code is grpc.StatusCode.FAILED_PRECONDITION
    assert [(v.type, v.subject) for v in error.violations] == [(kind, subject)]
    assert all(v.description for v in error.violations)


@pytest.fixture
def seeded(client: TwoFactorClient, clock: FixedClock) -> Iterator[str]:
    """A stored tenant policy and an enrolled user with one failure and a pending reset.

    Yields the base32 secret of the pending reset.
    """
    call(client, "UpdatePolicy", policy=pb.Policy(**STORED_POLICY), update_mask=FieldMask())
    first = enroll_app(client, clock, TENANT, USER, advance=30, account_name="alice@example.com")
    assert not client.verify_code(TENANT, USER, wrong_code(first.secret, clock.now())).accepted
    reset = client.begin_authenticator_setup(TENANT, USER, account_name="alice@example.com")
    assert reset.is_reset
    yield reset.secret


# ------------------------------------------------------------------- tenant_id, user_id


def _id_cases() -> Iterator[Any]:
    for field, limit, rpcs in (
        ("tenant_id", 128, list(BASE)),
        ("user_id", 256, USER_RPCS),
    ):
        rule = f"1-{limit} bytes"
        values = {
            "empty": ("", "is required"),
            "one-byte-over": ("x" * (limit + 1), "too long"),
            # limit/2 + 1 characters, limit + 1 bytes: the limit counts bytes.
            "multibyte-over": ("é" * (limit // 2) + "x", "too long"),
            **{name: (f"ab{ch}cd", "forbidden character") for name, ch in CONTROL_CHARS.items()},
        }
        for rpc in rpcs:
            for name, (value, problem) in values.items():
                yield pytest.param(rpc, field, value, problem, rule, id=f"{rpc}-{field}-{name}")


@pytest.mark.parametrize(("rpc", "field", "value", "problem", "rule"), list(_id_cases()))
@pytest.mark.usefixtures("seeded")
def test_bad_ids_are_refused(
    app: Application,
    client: TwoFactorClient,
    rpc: str,
    field: str,
    value: str,
    problem: str,
    rule: str,
) -> None:
    error = invalid(app, client, rpc, **{field: value})
    assert_violation(error, field, problem, rule, "without control characters")


# ------------------------------------------------------------------ other text fields


def _text_cases() -> Iterator[Any]:
    # Code fields: the bad values carry CODE_MARK, which no error may repeat.
    for rpc in ("ConfirmAuthenticatorSetup", "ConfirmEmailSetup", "VerifyCode"):
        code_values = {
            "empty": ("", "is required"),
            "65-chars": ((CODE_MARK * 11)[:65], "too long"),
            **{n: (f"{CODE_MARK}{ch}", "control character") for n, ch in CONTROL_CHARS.items()},
        }
        for name, (value, problem) in code_values.items():
            rule = "at most 64 characters" if problem != "control character" else "digits"
            yield pytest.param(rpc, "code", value, (problem, rule), id=f"{rpc}-code-{name}")
    # OTP labels: no ':' (it separates issuer and account in the otpauth URI).
    for field, limit in (("account_name", 128), ("issuer", 64)):
        rule = f"1-{limit} characters"
        label_values = {
            "one-char-over": ("a" * (limit + 1), "too long"),
            "colon": ("Acme:Admin", "forbidden character"),
            **{n: (f"ab{ch}cd", "forbidden character") for n, ch in CONTROL_CHARS.items()},
        }
        for name, (value, problem) in label_values.items():
            yield pytest.param(
                "BeginAuthenticatorSetup",
                field,
                value,
                (problem, rule, "':'"),
                id=f"BeginAuthenticatorSetup-{field}-{name}",
            )


@pytest.mark.parametrize(("rpc", "field", "value", "fragments"), list(_text_cases()))
@pytest.mark.usefixtures("seeded")
def test_bad_text_fields_are_refused(
    app: Application,
    client: TwoFactorClient,
    rpc: str,
    field: str,
    value: str,
    fragments: tuple[str, ...],
) -> None:
    error = invalid(app, client, rpc, **{field: value})
    assert_violation(error, field, *fragments)
    if field == "code":
        assert_not_echoed(error, CODE_MARK)


def _email_cases() -> Iterator[Any]:
    bad = {
        "no-at-sign": "alice.example.com",
        "255-chars": "a" * 243 + "@example.com",
        "two-at-signs": "a@b@example.com",
        "space": "alice smith@example.com",
        "no-dot-in-domain": "alice@localhost",
        **{name: f"ali{ch}ce@example.com" for name, ch in CONTROL_CHARS.items()},
    }
    fields = (
        ("BeginEmailSetup", "email"),
        ("ConfirmAuthenticatorSetup", "notify_email"),
        ("RegenerateBackupCodes", "notify_email"),
    )
    for rpc, field in fields:
        for name, value in bad.items():
            yield pytest.param(rpc, field, value, id=f"{rpc}-{field}-{name}")
    yield pytest.param("BeginEmailSetup", "email", "", id="BeginEmailSetup-email-empty")


@pytest.mark.parametrize(("rpc", "field", "value"), list(_email_cases()))
@pytest.mark.usefixtures("seeded")
def test_bad_email_addresses_are_refused(
    app: Application, client: TwoFactorClient, rpc: str, field: str, value: str
) -> None:
    assert_violation(invalid(app, client, rpc, **{field: value}), field, "at most 254 characters")


@pytest.mark.parametrize(
    ("rpc", "field", "value"),
    [
        pytest.param("VerifyCode", "device_label", "d" * 129, id="device_label-129-chars"),
        pytest.param("VerifyCode", "device_label", "Firefox\x00", id="device_label-nul"),
        pytest.param("ConfirmAuthenticatorSetup", "notify_email", "no-at-sign", id="notify_email"),
        pytest.param(
            "ConfirmAuthenticatorSetup", "notify_email", "a" * 243 + "@example.com", id="email-255"
        ),
    ],
)
@pytest.mark.usefixtures("seeded")
def test_optional_fields_are_validated(
    app: Application, client: TwoFactorClient, rpc: str, field: str, value: str
) -> None:
    assert_violation(invalid(app, client, rpc, **{field: value}), field, "characters")


# ----------------------------------------------------------------------------- enums


@pytest.mark.parametrize(
    "method",
    [
        pytest.param(pb.METHOD_UNSPECIFIED, id="UNSPECIFIED"),
        pytest.param(pb.METHOD_BACKUP_CODE, id="BACKUP_CODE"),
        pytest.param(99, id="unknown-99"),
    ],
)
@pytest.mark.usefixtures("seeded")
def test_disable_method_only_takes_a_set_up_method(
    app: Application, client: TwoFactorClient, method: int
) -> None:
    error = invalid(app, client, "DisableMethod", method=method)
    assert_violation(error, "method", "AUTHENTICATOR_APP, EMAIL")


@pytest.mark.usefixtures("seeded")
def test_verify_code_refuses_an_unknown_method_number(
    app: Application, client: TwoFactorClient
) -> None:
    error = invalid(app, client, "VerifyCode", method=99)
    assert_violation(error, "method", "AUTHENTICATOR_APP")


# ----------------------------------------------------------------------------- policy


def _policy_cases() -> Iterator[Any]:
    rows: list[tuple[str, Any, str, str]] = [
        # (field sent, value, field named in the violation, allowed values)
        ("trusted_device_days", 0, "trusted_device_days", "1-365"),
        ("trusted_device_days", 366, "trusted_device_days", "1-365"),
        ("trusted_device_days", -1, "trusted_device_days", "1-365"),
        ("max_attempts", 0, "max_attempts", "1-20"),
        ("max_attempts", 21, "max_attempts", "1-20"),
        ("warn_after_failures", 0, "warn_after_failures", "1 to max_attempts (6)"),
        ("warn_after_failures", 7, "warn_after_failures", "1 to max_attempts (6)"),
        # Lowering max_attempts under the stored warn_after_failures (3).
        ("max_attempts", 2, "warn_after_failures", "1 to max_attempts (2)"),
        ("lockout_seconds", 59, "lockout_seconds", "60-86400"),
        ("lockout_seconds", 86401, "lockout_seconds", "60-86400"),
        ("lockout_seconds", 2**31 - 1, "lockout_seconds", "60-86400"),
        ("email_code_ttl_seconds", 59, "email_code_ttl_seconds", "60-3600"),
        ("email_code_ttl_seconds", 3601, "email_code_ttl_seconds", "60-3600"),
        ("warning_text", "", "warning_text", "1-256 characters"),
        ("warning_text", "w" * 257, "warning_text", "1-256 characters"),
        *[
            ("warning_text", f"Wait{ch}", "warning_text", "without control characters")
            for ch in CONTROL_CHARS.values()
        ],
        ("enforcement", pb.ENFORCEMENT_UNSPECIFIED, "enforcement", "OPTIONAL, REQUIRED"),
        ("enforcement", 99, "enforcement", "OPTIONAL, REQUIRED"),
        ("frequency", pb.FREQUENCY_UNSPECIFIED, "frequency", "EVERY_LOGIN, TRUSTED_DEVICE"),
        ("frequency", 99, "frequency", "EVERY_LOGIN, TRUSTED_DEVICE"),
        ("allowed_methods", [pb.METHOD_BACKUP_CODE], "allowed_methods", "AUTHENTICATOR_APP, EMAIL"),
        ("allowed_methods", [pb.METHOD_UNSPECIFIED], "allowed_methods", "AUTHENTICATOR_APP, EMAIL"),
        ("allowed_methods", [APP, 99], "allowed_methods", "AUTHENTICATOR_APP, EMAIL"),
        ("allowed_methods", [APP, APP], "allowed_methods", "twice"),
        ("allowed_methods", [EMAIL, APP, EMAIL], "allowed_methods", "twice"),
    ]
    for field, value, named, allowed in rows:
        for mode in ("masked", "replace"):
            label = repr(value) if len(repr(value)) < 20 else f"len{len(value)}"
            yield pytest.param(
                field,
                value,
                f"policy.{named}",
                allowed,
                mode,
                id=f"{mode}-{field}={label}",
            )


@pytest.mark.parametrize(("field", "value", "named", "allowed", "mode"), list(_policy_cases()))
@pytest.mark.usefixtures("seeded")
def test_policy_values_out_of_range_are_refused(
    app: Application,
    client: TwoFactorClient,
    field: str,
    value: Any,
    named: str,
    allowed: str,
    mode: str,
) -> None:
    """Both with update_mask naming the field and as a whole-policy replacement."""
    mask = FieldMask(paths=[field] if mode == "masked" else [])
    policy = pb.Policy(**{**STORED_POLICY, field: value})
    error = invalid(app, client, "UpdatePolicy", policy=policy, update_mask=mask)
    assert_violation(error, named, allowed)


@pytest.mark.parametrize(
    "paths",
    [["max_attempt"], ["policy.max_attempts"], ["max_attempts", "secret"], [""]],
    ids=["typo", "prefixed", "one-unknown", "empty-path"],
)
@pytest.mark.usefixtures("seeded")
def test_unknown_update_mask_paths_are_refused(
    app: Application, client: TwoFactorClient, paths: list[str]
) -> None:
    error = invalid(app, client, "UpdatePolicy", update_mask=FieldMask(paths=paths))
    assert_violation(error, "update_mask")
    unknown = [p for p in paths if p != "max_attempts"]
    named = [v.description for v in error.field_violations if "unknown field" in v.description]
    assert named == [f"names unknown field {p!r}" for p in unknown]
    allowed = [v.description for v in error.field_violations if v.description.startswith("allowed")]
    assert len(allowed) == 1 and "max_attempts" in allowed[0] and "warning_text" in allowed[0]


@pytest.mark.usefixtures("seeded")
def test_many_unknown_update_mask_paths_give_a_bounded_answer(
    app: Application, client: TwoFactorClient
) -> None:
    # 60 unknown paths once made 24 KB of trailers, which the client saw as RESOURCE_EXHAUSTED.
    paths = [f"no_such_field_{i:02d}_" + "x" * 300 for i in range(60)]
    error = invalid(app, client, "UpdatePolicy", update_mask=FieldMask(paths=paths))
    assert_violation(error, "update_mask")
    descriptions = [v.description for v in error.field_violations]
    assert len(descriptions) == 7  # five by name, the count of the rest, the allowed names
    assert descriptions[5] == "names 55 more unknown fields"
    assert sum(len(d) for d in descriptions) < 2000
    assert len(str(error)) < 1000


@pytest.mark.usefixtures("seeded")
def test_the_status_message_quotes_three_violations_and_counts_the_rest(
    app: Application, client: TwoFactorClient
) -> None:
    error = invalid(app, client, "UpdatePolicy", policy=pb.Policy(), update_mask=FieldMask())
    violations = error.field_violations
    assert len(violations) > 3  # every field is named in the details
    quoted = [v for v in violations if f"{v.field}: {v.description}" in error.message]
    assert quoted == list(violations[:3])
    assert error.message.endswith(f"; and {len(violations) - 3} more (see the details)")


@pytest.mark.parametrize("policy", [pb.Policy(), None], ids=["all-zero", "omitted"])
@pytest.mark.usefixtures("seeded")
def test_replacing_with_an_empty_policy_names_every_field(
    app: Application, client: TwoFactorClient, policy: pb.Policy | None
) -> None:
    fields: dict[str, Any] = {"update_mask": FieldMask()}
    fields["policy"] = policy  # None leaves the message field unset
    error = invalid(app, client, "UpdatePolicy", **fields)
    expected = {f"policy.{name}" for name in STORED_POLICY if name != "allowed_methods"}
    assert {v.field for v in error.field_violations} == expected
    for violation in error.field_violations:
        assert "allowed" in violation.description or "1-256" in violation.description


@pytest.mark.parametrize(
    "fields",
    [
        {"trusted_device_days": 1},
        {"trusted_device_days": 365},
        {"max_attempts": 1, "warn_after_failures": 1},
        {"max_attempts": 20},
        {"warn_after_failures": 6},  # = the stored max_attempts
        {"lockout_seconds": 60},
        {"lockout_seconds": 86400},
        {"email_code_ttl_seconds": 60},
        {"email_code_ttl_seconds": 3600},
        {"warning_text": "!"},
        {"warning_text": "é" * 256},  # the limit counts characters
        {"enforcement": pb.ENFORCEMENT_OPTIONAL, "frequency": pb.FREQUENCY_EVERY_LOGIN},
        {"allowed_methods": [EMAIL]},
        {"allowed_methods": []},
    ],
    ids=lambda fields: ",".join(f"{k}={str(v)[:8]}" for k, v in fields.items()),
)
@pytest.mark.usefixtures("seeded")
def test_policy_values_at_their_limits_are_accepted(
    client: TwoFactorClient, fields: dict[str, Any]
) -> None:
    policy = pb.Policy(**{**STORED_POLICY, **fields})
    answer = call(client, "UpdatePolicy", policy=policy, update_mask=FieldMask(paths=list(fields)))
    stored = call(client, "GetPolicy").policy
    for name, value in fields.items():
        assert getattr(answer.policy, name) == getattr(stored, name) == value


# -------------------------------------------------------------- limits that are accepted


@pytest.mark.parametrize(
    ("tenant", "user"),
    [("t" * 128, "u" * 256), ("é" * 64, "é" * 128)],
    ids=["ascii", "two-byte-chars"],
)
def test_ids_and_texts_at_their_limits_are_accepted(
    client: TwoFactorClient, clock: FixedClock, tenant: str, user: str
) -> None:
    assert call(client, "GetPolicy", tenant_id=tenant).is_default
    client.update_policy(tenant, max_attempts=20)
    setup = client.begin_authenticator_setup(tenant, user, account_name="é" * 128, issuer="é" * 64)
    assert setup.secret
    # 64 characters: the code plus spaces, which are ignored.
    assert client.confirm_authenticator_setup(
        tenant, user, totp_code(setup.secret, clock.now()).ljust(64)
    ).accepted
    clock.advance(30)
    assert client.verify_code(tenant, user, totp_code(setup.secret, clock.now()).rjust(64)).accepted
    assert not client.verify_code(tenant, user, "1" * 64).accepted  # a verdict, not an error
    assert client.get_user_status(tenant, user).failed_attempts == 1
    assert client.unlock_user(tenant, user)
    assert client.disable_method(tenant, user, Method.AUTHENTICATOR_APP).changed
    client.begin_authenticator_setup(tenant, user, account_name="x")  # a record to delete
    assert client.delete_user(tenant, user)


# ---------------------------------------------------------------- FAILED_PRECONDITION


@pytest.mark.parametrize("already_confirmed", [False, True], ids=["never-began", "confirmed"])
def test_confirm_without_a_pending_setup(
    app: Application,
    client: TwoFactorClient,
    clock: FixedClock,
    seeded: str,
    already_confirmed: bool,
) -> None:
    user, code = OTHER_USER, totp_code(seeded, clock.now())
    if already_confirmed:  # the seeded reset is confirmed: enrolled, nothing pending
        assert client.confirm_authenticator_setup(TENANT, USER, code).accepted
        clock.advance(30)
        user, code = USER, totp_code(seeded, clock.now())
    error = refused(
        app, client, FailedPrecondition, "ConfirmAuthenticatorSetup", user_id=user, code=code
    )
    assert_precondition(error, "NO_PENDING_SETUP", "AUTHENTICATOR_APP")
    assert "BeginAuthenticatorSetup" in error.message
    assert_not_echoed(error, code)


@pytest.mark.parametrize("user", [OTHER_USER, USER], ids=["first-setup", "reset"])
def test_confirm_after_the_pending_setup_expired(
    app: Application, client: TwoFactorClient, clock: FixedClock, seeded: str, user: str
) -> None:
    secret = seeded
    if user == OTHER_USER:
        secret = client.begin_authenticator_setup(TENANT, OTHER_USER).secret
    clock.advance(15 * 60 + 1)
    code = totp_code(secret, clock.now())
    error = refused(
        app, client, FailedPrecondition, "ConfirmAuthenticatorSetup", user_id=user, code=code
    )
    assert_precondition(error, "NO_PENDING_SETUP", "AUTHENTICATOR_APP")
    assert "15 minutes" in error.message
    assert_not_echoed(error, code)


@pytest.mark.parametrize("pending", [False, True], ids=["no-method", "only-pending"])
@pytest.mark.usefixtures("seeded")
def test_verify_for_a_user_without_a_method(
    app: Application, client: TwoFactorClient, clock: FixedClock, pending: bool
) -> None:
    code = "246813"
    if pending:
        code = totp_code(client.begin_authenticator_setup(TENANT, OTHER_USER).secret, clock.now())
    error = refused(app, client, FailedPrecondition, "VerifyCode", user_id=OTHER_USER, code=code)
    assert_precondition(error, "NOT_ENROLLED", "user")
    assert_not_echoed(error, code)


@pytest.mark.usefixtures("seeded")
def test_verify_email_code_for_an_app_only_user(app: Application, client: TwoFactorClient) -> None:
    error = refused(app, client, FailedPrecondition, "VerifyCode", method=EMAIL)
    assert_precondition(error, "METHOD_NOT_ENABLED", "EMAIL")


@pytest.mark.usefixtures("seeded")
def test_begin_authenticator_setup_when_the_policy_allows_only_email(
    app: Application, client: TwoFactorClient
) -> None:
    client.update_policy("email-only", allowed_methods=[Method.EMAIL])
    error = refused(
        app, client, FailedPrecondition, "BeginAuthenticatorSetup", tenant_id="email-only"
    )
    assert_precondition(error, "METHOD_NOT_ALLOWED", "AUTHENTICATOR_APP")
    assert "AUTHENTICATOR_APP" in error.message


@pytest.mark.parametrize(
    ("rpc", "user", "kind", "subject"),
    [
        pytest.param("ConfirmEmailSetup", USER, "NO_PENDING_SETUP", "EMAIL", id="confirm-email"),
        pytest.param("SendLoginCode", USER, "METHOD_NOT_ENABLED", "EMAIL", id="send-no-email"),
        pytest.param("RegenerateBackupCodes", "nobody", "NOT_ENROLLED", "user", id="regen"),
    ],
)
@pytest.mark.usefixtures("seeded")
def test_email_and_backup_rpcs_in_the_wrong_state(
    app: Application, client: TwoFactorClient, rpc: str, user: str, kind: str, subject: str
) -> None:
    # The seeded user has the app (its backup codes were issued) and no email.
    if rpc == "VerifyCode":
        assert client.disable_method(TENANT, USER, Method.AUTHENTICATOR_APP).changed
        client.begin_authenticator_setup(TENANT, USER, account_name="x")  # pending only
        error = refused(
            app,
            client,
            FailedPrecondition,
            rpc,
            method=pb.METHOD_BACKUP_CODE,
            code="ABCD-EFGH-JKLM",
        )
        assert_precondition(error, "NOT_ENROLLED", "user")
        return
    error = refused(app, client, FailedPrecondition, rpc, user_id=user)
    assert_precondition(error, kind, subject)


# ----------------------------------------------------------------------------- edge shapes


@pytest.mark.parametrize(
    ("rpc", "fields", "field", "fragment"),
    [
        pytest.param(
            "BeginAuthenticatorSetup",
            {"user_id": "a:b", "account_name": ""},
            "account_name",
            "is required",
            id="user_id-with-colon-needs-an-account_name",
        ),
        pytest.param(
            "BeginAuthenticatorSetup",
            {"user_id": "u" * 129, "account_name": ""},
            "account_name",
            "128",
            id="long-user_id-needs-an-account_name",
        ),
        pytest.param("VerifyCode", {"code": "   "}, "code", "is required", id="blank-code"),
        pytest.param(
            "BeginAuthenticatorSetup",
            {"issuer": "Ac\u2028me"},
            "issuer",
            "control",
            id="line-separator",
        ),
    ],
)
@pytest.mark.usefixtures("seeded")
def test_edge_shapes_are_refused_with_one_clear_violation(
    app: Application,
    client: TwoFactorClient,
    rpc: str,
    fields: dict[str, Any],
    field: str,
    fragment: str,
) -> None:
    assert_violation(invalid(app, client, rpc, **fields), field, fragment)


@pytest.mark.usefixtures("seeded")
def test_unknown_policy_enum_numbers_are_named_as_unknown(
    app: Application, client: TwoFactorClient
) -> None:
    error = invalid(
        app,
        client,
        "UpdatePolicy",
        policy=pb.Policy(enforcement=99),  # type: ignore[arg-type]
        update_mask=FieldMask(paths=["enforcement"]),
    )
    assert_violation(error, "policy.enforcement", "is 99, an unknown value", "OPTIONAL")


# ------------------------------------------------------------------ ImportAuthenticators

# A secret of 20 random bytes (base32) marks the entries: no error may repeat it.
SECRET_MARK = "KRUGS4ZAONSWG4TFOQQGS4ZANZXXIIDTNBXXO3Q"
GOOD_ENTRY: dict[str, Any] = {"user_id": "carol", "secret_base32": SECRET_MARK}
# The step of support/clock.START at 30 s.
STEP_NOW = 60_000_000


def _import_cases() -> Iterator[Any]:
    bad: dict[str, tuple[dict[str, Any], str, tuple[str, ...]]] = {
        "secret-empty": ({"secret_base32": ""}, "secret", ("is required", "base32")),
        "secret-not-base32": (
            {"secret_base32": SECRET_MARK[:-4] + "0189"},
            "secret",
            ("is not usable", "A-Z and digits 2-7"),
        ),
        "secret-9-bytes": ({"secret_base32": SECRET_MARK[:15]}, "secret", ("10-64 bytes",)),
        "secret-65-bytes": ({"secret_base32": SECRET_MARK * 3}, "secret", ("10-64 bytes",)),
        "digits-7": ({"digits": 7}, "digits", ("is 7", "6 or 8")),
        "period-45": ({"period_seconds": 45}, "period", ("is 45", "30 or 60")),
        "algorithm-unknown": ({"algorithm": 9}, "algorithm", ("SHA1, SHA256 or SHA512",)),
        "last-step-a-unix-time": (
            {"last_used_step": 1_800_000_000},
            "last_used_step",
            # Ten minutes of steps past the seeded clock's (which has moved a step or so).
            ("is 1800000000", f"from 0 to {STEP_NOW // 10_000}", "not a Unix time"),
        ),
        "user-empty": ({"user_id": ""}, "user_id", ("is required", "1-256 bytes")),
        "user-repeated": ({"user_id": "carol"}, "user_id", ("repeats authenticators[0]'s user",)),
    }
    for name, (changes, field, fragments) in bad.items():
        yield pytest.param(changes, field, fragments, id=name)


@pytest.mark.parametrize(("changes", "field", "fragments"), list(_import_cases()))
@pytest.mark.usefixtures("seeded")
def test_a_bad_import_entry_is_named_and_nothing_is_imported(
    app: Application,
    client: TwoFactorClient,
    changes: dict[str, Any],
    field: str,
    fragments: tuple[str, ...],
) -> None:
    entries = [
        pb.ImportedAuthenticator(**GOOD_ENTRY),
        pb.ImportedAuthenticator(**{**GOOD_ENTRY, "user_id": "dave", **changes}),
    ]
    error = invalid(app, client, "ImportAuthenticators", authenticators=entries)
    assert_violation(error, f"authenticators[1].{field}", *fragments)
    assert_not_echoed(error, SECRET_MARK[:16])


@pytest.mark.usefixtures("seeded")
def test_every_bad_import_entry_is_named_at_once(app: Application, client: TwoFactorClient) -> None:
    entries = [
        pb.ImportedAuthenticator(user_id=f"user-{i}", secret_base32=SECRET_MARK, digits=digits)
        for i, digits in enumerate((6, 7, 8, 9, 0))
    ]
    error = invalid(app, client, "ImportAuthenticators", authenticators=entries)
    assert [v.field for v in error.field_violations] == [
        "authenticators[1].digits",
        "authenticators[3].digits",
    ]


@pytest.mark.parametrize(
    ("count", "fragment"), [(0, "is empty; give 1-1000"), (1001, "has 1001 entries; at most 1000")]
)
@pytest.mark.usefixtures("seeded")
def test_an_import_of_no_or_too_many_entries_is_refused(
    app: Application, client: TwoFactorClient, count: int, fragment: str
) -> None:
    entries = [
        pb.ImportedAuthenticator(user_id=f"user-{i}", secret_base32=SECRET_MARK)
        for i in range(count)
    ]
    error = invalid(app, client, "ImportAuthenticators", authenticators=entries)
    assert_violation(error, "authenticators", fragment)


@pytest.mark.usefixtures("seeded")
def test_an_import_where_the_policy_allows_only_email_imports_nothing(
    app: Application, client: TwoFactorClient
) -> None:
    client.update_policy("email-only", allowed_methods=[Method.EMAIL])
    error = refused(app, client, FailedPrecondition, "ImportAuthenticators", tenant_id="email-only")
    assert_precondition(error, "METHOD_NOT_ALLOWED", "AUTHENTICATOR_APP")
