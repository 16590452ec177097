"""Prometheus metrics, scraped over HTTP from a running server and parsed with the client's parser.

The names and labels here are a contract (dashboards and alert rules use them), so
they are spelled out in this file rather than taken from the server's code.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import replace
from email.message import EmailMessage
from itertools import product
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from twofa_client import (
    FailedPrecondition,
    Frequency,
    InvalidArgument,
    LoginReason,
    TwoFactorClient,
)
from twofa_server.app import Application, StartupError, start
from twofa_server.config import Settings
from twofa_server.core.models import Mail, MailKind, QueuedMail
from twofa_server.delivery import DeliveryError, MailStyle, PermanentDeliveryError, Templates
from twofa_server.delivery.outbox import OutboxSender, RetryPolicy
from twofa_server.observability import Metrics

from ..support.clock import FixedClock
from ..support.enroll import enroll_app
from ..support.metrics import Labels, Series, scrape, value
from ..support.stores import another_instance, running
from ..support.totp import totp_code, wrong_code
from ..support.waiting import wait_until

T, U = "tenant-m7f3a", "user-m91c2"
ADDRESS = "metrics.person@example.org"
WAIT_SECONDS = 5.0

TWOFA_METHODS = (
    "GetUserStatus",
    "BeginAuthenticatorSetup",
    "ConfirmAuthenticatorSetup",
    "BeginEmailSetup",
    "ConfirmEmailSetup",
    "DisableMethod",
    "EvaluateLogin",
    "SendLoginCode",
    "VerifyCode",
    "RegenerateBackupCodes",
    "ListTrustedDevices",
    "RevokeTrustedDevices",
    "GetPolicy",
    "UpdatePolicy",
    "UnlockUser",
    "DeleteUser",
)
# (grpc_type, grpc_service, grpc_method) of every method with series from the start.
RPCS = (
    *(("unary", "twofa.v1.TwoFactorService", m) for m in TWOFA_METHODS),
    ("unary", "grpc.health.v1.Health", "Check"),
    ("unary", "grpc.health.v1.Health", "List"),
    ("server_stream", "grpc.health.v1.Health", "Watch"),
)
CODES = (
    "OK",
    "Canceled",
    "Unknown",
    "InvalidArgument",
    "DeadlineExceeded",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "ResourceExhausted",
    "FailedPrecondition",
    "Aborted",
    "OutOfRange",
    "Unimplemented",
    "Internal",
    "Unavailable",
    "DataLoss",
    "Unauthenticated",
)
VERIFY_METHODS = ("authenticator_app", "email", "backup_code")
VERIFY_OUTCOMES = (
    ("accepted", "ok"),
    ("rejected", "wrong_code"),
    ("rejected", "code_reused"),
    ("rejected", "code_expired"),
    ("rejected", "no_active_code"),
    ("rejected", "malformed_code"),
    ("locked_out", "too_many_attempts"),
    ("locked_out", "locked"),
)
MAIL_KINDS = ("setup_code", "login_code", "backup_codes")
LOGIN_OUTCOMES = (
    ("not_required", "not_enrolled_optional"),
    ("not_required", "trusted_device"),
    ("enrollment_required", "not_enrolled_required"),
    ("required", "every_login_policy"),
    ("required", "device_not_trusted"),
    ("required", "locked_out"),
)
# Every counter series that exists, at 0, before any traffic.
DOMAIN_SERIES: tuple[tuple[str, dict[str, str]], ...] = (
    *(
        ("twofa_verifications_total", {"method": m, "result": r, "reason": why})
        for m, (r, why) in product(VERIFY_METHODS, VERIFY_OUTCOMES)
    ),
    *(("twofa_lockouts_total", {"method": m}) for m in VERIFY_METHODS),
    *(
        ("twofa_enrollments_total", {"method": m, "event": e})
        for m, e in product(
            ("authenticator_app", "email"), ("begun", "confirmed", "rejected", "disabled")
        )
    ),
    ("twofa_enrollments_total", {"method": "authenticator_app", "event": "imported"}),
    *(("twofa_emails_sent_total", {"kind": k}) for k in MAIL_KINDS),
    *(
        ("twofa_email_failures_total", {"kind": k, "outcome": o})
        for k, o in product(MAIL_KINDS, ("retrying", "given_up", "expired", "refused"))
    ),
    ("twofa_trusted_devices_issued_total", {}),
    *(
        ("twofa_trusted_devices_revoked_total", {"reason": r})
        for r in ("user", "reset", "disable", "delete", "evicted", "expired", "import")
    ),
    ("twofa_backup_codes_used_total", {}),
    *(("twofa_login_evaluations_total", {"decision": d, "reason": r}) for d, r in LOGIN_OUTCOMES),
)


def rpc(name: str, method: str, code: str | None = None, service: str = "") -> tuple[str, Labels]:
    labels = {
        "grpc_type": "unary",
        "grpc_service": service or "twofa.v1.TwoFactorService",
        "grpc_method": method,
    }
    if code is not None:
        labels["grpc_code"] = code
    return name, tuple(sorted(labels.items()))


def label_values(series: Series) -> set[str]:
    return {v for _, labels in series for _, v in labels}


def assert_no_label_holds(series: Series, *private: str) -> None:
    """No label value anywhere equals or contains an id, address, code, secret or token."""
    for label in label_values(series):
        for item in private:
            assert item not in label, (label, item)


# --- before any traffic --------------------------------------------------------------


def test_every_series_exists_at_zero_before_any_call(app: Application) -> None:
    series = scrape(app)

    for grpc_type, service, method in RPCS:
        labels = {"grpc_type": grpc_type, "grpc_service": service, "grpc_method": method}
        assert value(series, "grpc_server_started_total", **labels) == 0
        assert value(series, "grpc_server_handling_seconds_count", **labels) == 0
        assert value(series, "grpc_server_handling_seconds_bucket", **labels, le="0.0005") == 0
        assert value(series, "grpc_server_handling_seconds_bucket", **labels, le="2.5") == 0
        for code in CODES:
            assert value(series, "grpc_server_handled_total", **labels, grpc_code=code) == 0
    for name, labels in DOMAIN_SERIES:
        assert value(series, name, **labels) == 0, (name, labels)


@pytest.mark.lmdb_only  # the LMDB map size
def test_build_info_and_store_gauges(app: Application, settings: Settings) -> None:
    series = scrape(app)

    (info,) = [labels for name, labels in series if name == "twofa_build_info"]
    assert dict(info)["version"] == "0.1.0"
    assert dict(info)["python_version"].startswith("3.")
    assert series[("twofa_build_info", info)] == 1
    assert value(series, "twofa_email_outbox_depth") == 0
    assert value(series, "twofa_email_outbox_oldest_age_seconds") == 0
    used = value(series, "twofa_store_map_used_bytes")
    size = value(series, "twofa_store_map_size_bytes")
    assert size == settings.map_size_mb * 1024 * 1024
    assert 0 < used < size
    assert value(series, "twofa_store_map_used_ratio") == pytest.approx(used / size)


# --- after known traffic ---------------------------------------------------------------


def test_verifications_lockout_and_rpc_codes_after_known_calls(
    app: Application, client: TwoFactorClient, clock: FixedClock
) -> None:
    client.update_policy(T, max_attempts=3, warn_after_failures=1)
    secret, backup_codes = enroll_app(client, clock, T, U, advance=0)
    clock.advance(30)
    wrong = wrong_code(secret, clock.now())
    for _ in range(2):
        assert not client.verify_code(T, U, wrong).accepted
    right = totp_code(secret, clock.now())
    assert client.verify_code(T, U, right).accepted
    for _ in range(3):  # the third locks the user out
        assert not client.verify_code(T, U, wrong).accepted
    assert not client.verify_code(T, U, wrong).accepted  # while locked
    with pytest.raises(FailedPrecondition):
        client.verify_code(T, "nobody-m5e1", wrong)
    with pytest.raises(InvalidArgument):
        client.verify_code("", U, wrong)
    assert client.health_check()

    series = scrape(app)

    verify = "authenticator_app"
    counts = {
        ("accepted", "ok"): 1,
        ("rejected", "wrong_code"): 4,
        ("locked_out", "too_many_attempts"): 1,
        ("locked_out", "locked"): 1,
    }
    for method, (result, reason) in product(VERIFY_METHODS, VERIFY_OUTCOMES):
        expected = counts.get((result, reason), 0) if method == verify else 0
        got = value(
            series, "twofa_verifications_total", method=method, result=result, reason=reason
        )
        assert got == expected, (method, result, reason)
    assert value(series, "twofa_lockouts_total", method=verify) == 1
    assert value(series, "twofa_lockouts_total", method="email") == 0
    assert value(series, "twofa_enrollments_total", method=verify, event="begun") == 1
    assert value(series, "twofa_enrollments_total", method=verify, event="confirmed") == 1
    assert value(series, "twofa_enrollments_total", method=verify, event="rejected") == 0

    assert series[rpc("grpc_server_started_total", "VerifyCode")] == 9
    handled = {code: series[rpc("grpc_server_handled_total", "VerifyCode", code)] for code in CODES}
    assert handled == {
        **dict.fromkeys(CODES, 0.0),
        "OK": 7,
        "FailedPrecondition": 1,
        "InvalidArgument": 1,
    }
    for method in ("UpdatePolicy", "BeginAuthenticatorSetup", "ConfirmAuthenticatorSetup"):
        assert series[rpc("grpc_server_handled_total", method, "OK")] == 1
    health = "grpc.health.v1.Health"
    assert series[rpc("grpc_server_handled_total", "Check", "OK", service=health)] == 1
    for grpc_type, service, method in RPCS:
        labels = {"grpc_type": grpc_type, "grpc_service": service, "grpc_method": method}
        total = sum(
            value(series, "grpc_server_handled_total", **labels, grpc_code=c) for c in CODES
        )
        assert value(series, "grpc_server_handling_seconds_count", **labels) == total
        assert value(series, "grpc_server_started_total", **labels) == total
        assert value(series, "grpc_server_handling_seconds_bucket", **labels, le="+Inf") == total

    assert_no_label_holds(series, T, U, "nobody-m5e1", secret, wrong, right, *backup_codes)


def test_devices_backup_codes_and_login_evaluations(
    app: Application, client: TwoFactorClient, clock: FixedClock
) -> None:
    client.update_policy(T, frequency=Frequency.TRUSTED_DEVICE)
    assert client.evaluate_login(T, U).reason is LoginReason.NOT_ENROLLED_OPTIONAL
    secret, backup_codes = enroll_app(client, clock, T, U, advance=0)
    assert client.evaluate_login(T, U).reason is LoginReason.DEVICE_NOT_TRUSTED
    clock.advance(30)
    trusted = client.verify_code(T, U, totp_code(secret, clock.now()), remember_device=True)
    token = trusted.device_token
    assert token
    assert client.evaluate_login(T, U, device_token=token).reason is LoginReason.TRUSTED_DEVICE
    assert client.verify_code(T, U, backup_codes[0]).accepted
    assert client.revoke_trusted_devices(T, U, all=True) == 1

    series = scrape(app)

    assert value(series, "twofa_trusted_devices_issued_total") == 1
    assert value(series, "twofa_trusted_devices_revoked_total", reason="user") == 1
    assert value(series, "twofa_trusted_devices_revoked_total", reason="reset") == 0
    assert value(series, "twofa_backup_codes_used_total") == 1
    assert (
        value(
            series,
            "twofa_verifications_total",
            method="backup_code",
            result="accepted",
            reason="ok",
        )
        == 1
    )
    for decision, reason in LOGIN_OUTCOMES:
        expected = 1 if reason in ("not_enrolled_optional", "device_not_trusted") else 0
        expected = 1 if reason == "trusted_device" else expected
        got = value(series, "twofa_login_evaluations_total", decision=decision, reason=reason)
        assert got == expected, (decision, reason)
    assert_no_label_holds(series, T, U, secret, token, *backup_codes)


def test_email_sent_is_counted_and_the_address_is_no_label(
    app: Application, client: TwoFactorClient
) -> None:
    client.begin_email_setup(T, U, ADDRESS)

    wait_until(
        lambda: value(scrape(app), "twofa_emails_sent_total", kind="setup_code") == 1,
        "the setup code to be delivered",
        timeout=WAIT_SECONDS,
    )
    series = scrape(app)
    assert value(series, "twofa_enrollments_total", method="email", event="begun") == 1
    assert value(series, "twofa_email_outbox_depth") == 0
    assert_no_label_holds(series, T, U, ADDRESS, "example.org")


def test_outbox_gauges_show_queued_mail_and_its_age(
    app: Application, client: TwoFactorClient, clock: FixedClock
) -> None:
    app.outbox.stop()  # nothing is delivered: the message stays queued
    client.begin_email_setup(T, U, ADDRESS)
    clock.advance(42)

    series = scrape(app)

    assert value(series, "twofa_email_outbox_depth") == 1
    assert value(series, "twofa_email_outbox_oldest_age_seconds") == 42
    assert value(series, "twofa_emails_sent_total", kind="setup_code") == 0


# --- mail delivery outcomes (the outbox's recorder) -----------------------------------------


class FakeOutbox:
    """An in-memory outbox holding given messages, all due now."""

    def __init__(self, *queued: QueuedMail) -> None:
        self.queued = {q.id: q for q in queued}

    def claim_due(self, now: float, limit: int) -> list[QueuedMail]:
        return list(self.queued.values())[:limit]

    def on_mail_queued(self, wake: Callable[[], None]) -> None:
        pass

    def next_attempt_at(self) -> float | None:
        return None

    def reschedule(self, mail_id: bytes, attempts: int, next_attempt_at: float) -> None:
        self.queued[mail_id] = replace(
            self.queued[mail_id], attempts=attempts, next_attempt_at=next_attempt_at
        )

    def remove(self, mail_id: bytes) -> None:
        del self.queued[mail_id]


class FailingMailer:
    def __init__(self, error: Exception | None) -> None:
        self.error = error

    def send(self, message: EmailMessage) -> None:
        if self.error is not None:
            raise self.error


def queued(kind: MailKind, expires_at: float | None, attempts: int = 0) -> QueuedMail:
    mail = Mail(kind, ADDRESS, ("123456",), expires_at, message_id=f"m-{kind.value}")
    return QueuedMail(kind.value.encode(), mail, 0.0, attempts, 0.0)


@pytest.mark.parametrize(
    ("error", "attempts", "expires_in", "kind", "outcome"),
    [
        (None, 0, 60.0, MailKind.LOGIN_CODE, None),
        (DeliveryError("451 try later"), 0, 60.0, MailKind.SETUP_CODE, "retrying"),
        (DeliveryError("451 try later"), 2, 60.0, MailKind.LOGIN_CODE, "given_up"),
        (PermanentDeliveryError("550 no such user"), 0, 60.0, MailKind.BACKUP_CODES, "refused"),
        (None, 0, -1.0, MailKind.LOGIN_CODE, "expired"),
    ],
)
def test_each_delivery_outcome_is_counted_by_kind(
    error: Exception | None,
    attempts: int,
    expires_in: float,
    kind: MailKind,
    outcome: str | None,
    clock: FixedClock,
) -> None:
    registry = CollectorRegistry()
    expires_at = clock.now() + expires_in if kind is not MailKind.BACKUP_CODES else None
    outbox = FakeOutbox(queued(kind, expires_at, attempts))
    sender = OutboxSender(
        outbox,
        FailingMailer(error),
        Templates(MailStyle(brand="Acme", from_address="twofa@example.com")),
        clock,
        RetryPolicy(max_attempts=3),
        recorder=Metrics(registry),
    )

    assert sender.deliver_due() == 1

    sent = registry.get_sample_value("twofa_emails_sent_total", {"kind": kind.value})
    assert sent == (1 if outcome is None else 0)
    for other in ("retrying", "given_up", "expired", "refused"):
        failed = registry.get_sample_value(
            "twofa_email_failures_total", {"kind": kind.value, "outcome": other}
        )
        assert failed == (1 if other == outcome else 0), other


# --- configuration and start-up ------------------------------------------------------------


def test_servers_in_one_process_have_their_own_metrics(
    app: Application,
    client: TwoFactorClient,
    settings: Settings,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    enroll_app(client, clock, T, U, advance=0)
    second_settings = replace(
        another_instance(settings, tmp_path / "second"), audit_log=str(tmp_path / "second.log")
    )
    with running(second_settings, clock) as second:
        assert second.metrics_address != app.metrics_address
        begun = {"method": "authenticator_app", "event": "begun"}
        assert value(scrape(app), "twofa_enrollments_total", **begun) == 1
        assert value(scrape(second), "twofa_enrollments_total", **begun) == 0


def test_empty_metrics_listen_turns_the_endpoint_off(settings: Settings, clock: FixedClock) -> None:
    with running(replace(settings, metrics_listen=""), clock) as app:
        assert app.metrics_address == ""


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_a_metrics_port_in_use_stops_start_up_with_one_line(
    settings: Settings, clock: FixedClock, busy_port: int
) -> None:
    listen = f"127.0.0.1:{busy_port}"
    with pytest.raises(StartupError, match=f"cannot serve metrics on {listen}"):
        start(replace(settings, metrics_listen=listen), clock=clock)
    # The store was closed: the same data directory opens again.
    start(settings, clock=clock).stop(0)
