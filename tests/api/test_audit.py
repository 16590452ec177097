"""The audit log: one JSON line per security event, in order, with no secret in any line."""

from __future__ import annotations

import collections
import io
import json
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import pytest

from twofa_client import Frequency, Method, TwoFactorClient
from twofa_server.app import Application, StartupError, start
from twofa_server.config import Settings, load_settings
from twofa_server.core.events import Event, EventType
from twofa_server.observability import AuditLog

from ..support.clock import FixedClock
from ..support.totp import totp_code, wrong_code

T, U = "tenant-a41d", "user-a77b"
NOTIFY = "audit.person@example.org"
KEYS = ("time", "event", "tenant", "user", "method", "result", "reason", "request_id")


class _CallDetails(
    collections.namedtuple(
        "_CallDetails",
        ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression"),
    ),
    grpc.ClientCallDetails,
):
    pass


class RequestIds(grpc.UnaryUnaryClientInterceptor):  # type: ignore[type-arg]
    """Sends `x-request-id: <next>` with each call (none when `next` is None)."""

    def __init__(self) -> None:
        self.next: str | None = None

    def intercept_unary_unary(
        self, continuation: Callable[..., Any], details: grpc.ClientCallDetails, request: Any
    ) -> Any:
        metadata = list(details.metadata or ())
        if self.next is not None:
            metadata.append(("x-request-id", self.next))
        new = _CallDetails(
            details.method,
            details.timeout,
            metadata,
            details.credentials,
            details.wait_for_ready,
            details.compression,
        )
        return continuation(new, request)


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return replace(settings, audit_log=str(tmp_path / "audit" / "twofa-audit.jsonl"))


@pytest.fixture
def audit_file(settings: Settings) -> Path:
    path = Path(settings.audit_log)
    path.parent.mkdir()
    return path


@pytest.fixture
def ids() -> RequestIds:
    return RequestIds()


@pytest.fixture
def tagged(audit_file: Path, app: Application, ids: RequestIds) -> Iterator[TwoFactorClient]:
    """A client whose calls carry the request id `ids.next`."""
    channel = grpc.intercept_channel(grpc.insecure_channel(app.addresses[0]), ids)
    with TwoFactorClient.from_channel(channel, timeout=10) as client:
        yield client
    channel.close()


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def rfc3339(unix_seconds: float) -> str:
    return datetime.fromtimestamp(unix_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def test_a_full_scenario_writes_the_expected_lines_in_order(
    tagged: TwoFactorClient, ids: RequestIds, clock: FixedClock, audit_file: Path
) -> None:
    secrets: list[str] = [NOTIFY]

    ids.next = "r-policy"
    tagged.update_policy(
        T, frequency=Frequency.TRUSTED_DEVICE, max_attempts=2, warn_after_failures=1
    )
    ids.next = "r-begin"
    setup = tagged.begin_authenticator_setup(T, U)
    secrets += [setup.secret, setup.otpauth_uri]
    ids.next = "r-confirm"
    code = totp_code(setup.secret, clock.now())
    confirmation = tagged.confirm_authenticator_setup(T, U, code, notify_email=NOTIFY)
    secrets += [code, *confirmation.backup_codes]
    wrong = wrong_code(setup.secret, clock.now())
    secrets.append(wrong)
    ids.next = "r-wrong"
    assert not tagged.verify_code(T, U, wrong).accepted
    ids.next = "r-lockout"
    assert not tagged.verify_code(T, U, wrong).accepted
    ids.next = "r-unlock"
    assert tagged.unlock_user(T, U)
    ids.next = "r-backup"
    assert tagged.verify_code(T, U, confirmation.backup_codes[0]).accepted
    ids.next = "r-regenerate"
    regenerated = tagged.regenerate_backup_codes(T, U, notify_email=NOTIFY)
    secrets += regenerated.codes
    clock.advance(30)
    ids.next = "r-trust"
    code = totp_code(setup.secret, clock.now())
    trusted = tagged.verify_code(T, U, code, remember_device=True)
    assert trusted.device_token
    secrets += [code, trusted.device_token]
    ids.next = "r-login"
    tagged.evaluate_login(T, U, device_token=trusted.device_token)  # not audited
    ids.next = "r-revoke"
    assert tagged.revoke_trusted_devices(T, U, all=True) == 1
    ids.next = "r-disable"
    assert tagged.disable_method(T, U, Method.AUTHENTICATOR_APP).changed
    ids.next = "r-begin-again"  # the user has no records left otherwise
    secrets.append(tagged.begin_authenticator_setup(T, U).secret)
    ids.next = "r-delete"
    assert tagged.delete_user(T, U)

    written = lines(audit_file)

    app, backup = "authenticator_app", "backup_code"
    assert [
        (line["request_id"], line["event"], line["method"], line["result"], line["reason"])
        for line in written
    ] == [
        ("r-policy", "policy_updated", None, None, "frequency,max_attempts,warn_after_failures"),
        ("r-begin", "setup_begun", app, None, None),
        ("r-confirm", "setup_confirmed", app, "accepted", "ok"),
        ("r-confirm", "backup_codes_issued", None, None, "first"),
        ("r-wrong", "verification_rejected", app, "rejected", "wrong_code"),
        ("r-lockout", "verification_rejected", app, "locked_out", "too_many_attempts"),
        ("r-lockout", "lockout", app, None, None),
        ("r-unlock", "unlock", None, None, None),
        ("r-backup", "verification_accepted", backup, "accepted", "ok"),
        ("r-backup", "backup_code_used", backup, None, None),
        ("r-regenerate", "backup_codes_issued", None, None, "regenerated"),
        ("r-trust", "verification_accepted", app, "accepted", "ok"),
        ("r-trust", "device_trusted", app, None, None),
        ("r-revoke", "device_revoked", None, None, "user"),
        ("r-disable", "method_disabled", app, None, None),
        ("r-begin-again", "setup_begun", app, None, None),
        ("r-delete", "user_deleted", None, None, None),
    ]
    for line in written:
        assert tuple(line)[: len(KEYS)] == KEYS
        assert line["tenant"] == T
        assert line["user"] == (None if line["event"] == "policy_updated" else U)
    assert {line["time"] for line in written[:11]} == {rfc3339(clock.now() - 30)}
    assert {line["time"] for line in written[11:]} == {rfc3339(clock.now())}
    assert "count" not in written[13]  # one device: no count

    text = audit_file.read_text()
    for secret in secrets:
        assert secret not in text, secret
        assert secret.replace("-", "") not in text, secret
    assert "example.org" not in text


def test_the_file_is_created_owner_only_and_appended_to(
    tagged: TwoFactorClient, app: Application, audit_file: Path, settings: Settings
) -> None:
    tagged.update_policy(T, max_attempts=4)
    assert stat.S_IMODE(audit_file.stat().st_mode) == 0o600
    app.stop(0)
    again = start(settings)
    try:
        with TwoFactorClient(again.addresses[0], timeout=10) as client:
            client.update_policy(T, max_attempts=5)
    finally:
        again.stop(0)
    assert [line["reason"] for line in lines(audit_file)] == ["max_attempts", "max_attempts"]


@pytest.mark.parametrize(
    "sent",
    [None, "", "has space", "x" * 129],
    ids=["none", "empty", "space", "too-long"],
)
def test_a_missing_or_unfit_request_id_is_replaced_by_a_random_one(
    tagged: TwoFactorClient, ids: RequestIds, audit_file: Path, sent: str | None
) -> None:
    ids.next = sent
    tagged.update_policy(T, max_attempts=4)
    tagged.update_policy(T, max_attempts=5)

    first, second = (line["request_id"] for line in lines(audit_file))
    for request_id in (first, second):
        assert len(request_id) == 16 and int(request_id, 16) >= 0
    assert first != second


def test_the_longest_request_id_is_kept(
    tagged: TwoFactorClient, ids: RequestIds, audit_file: Path
) -> None:
    ids.next = "~" * 64 + "!" * 64
    tagged.update_policy(T, max_attempts=4)
    assert lines(audit_file)[0]["request_id"] == ids.next


def test_stderr_is_the_default_destination(capsys: pytest.CaptureFixture[str]) -> None:
    assert load_settings(environ={}).audit_log == "stderr"
    log = AuditLog("stderr", FixedClock())
    log.publish([Event(EventType.UNLOCK, T, U)])
    (line,) = capsys.readouterr().err.splitlines()
    assert json.loads(line) == {
        "time": "2027-01-15T08:00:00.000Z",
        "event": "unlock",
        "tenant": T,
        "user": U,
        "method": None,
        "result": None,
        "reason": None,
        "request_id": None,  # not in a call (e.g. the housekeeper)
    }


def test_lines_stay_whole_when_written_from_many_threads(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(str(path), FixedClock())
    events = [Event(EventType.DEVICE_REVOKED, T, U, reason="expired", count=3)] * 50

    threads = [threading.Thread(target=log.publish, args=(events,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.close()

    written = lines(path)
    assert len(written) == 400
    assert all(line["count"] == 3 and line["reason"] == "expired" for line in written)


def test_a_failed_write_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    log = AuditLog("stderr", FixedClock())
    broken = io.StringIO()
    broken.close()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stderr", broken)
        log.publish([Event(EventType.UNLOCK, T, U)])
    assert "audit log write failed" in caplog.text


def test_an_audit_file_that_cannot_be_opened_stops_start_up(
    settings: Settings, clock: FixedClock, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-dir" / "audit.jsonl"
    with pytest.raises(StartupError, match=f"cannot open audit.log {missing}"):
        start(replace(settings, audit_log=str(missing)), clock=clock)
