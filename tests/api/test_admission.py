"""Admission: past its bounds a set-up is refused at once (RESOURCE_EXHAUSTED, RetryInfo,
SERVER_BUSY) and changes nothing, while VerifyCode and EvaluateLogin are still served."""

from __future__ import annotations

import functools
import os
import signal
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace

import grpc
import pytest

from twofa.v1 import twofa_pb2 as pb
from twofa.v1 import twofa_pb2_grpc
from twofa_client import (
    AuthenticatorSetup,
    LoginDecision,
    Method,
    MethodState,
    ResourceExhausted,
    TwoFactorClient,
    VerifyResult,
)
from twofa_server.api.admission import AdmissionSettings, Kind
from twofa_server.app import Application
from twofa_server.config import ConfigError, Settings, load_settings
from twofa_server.observability.metrics import ADMISSION_KINDS

from ..support.clock import FixedClock
from ..support.enroll import enroll_app
from ..support.metrics import scrape, value
from ..support.stores import running
from ..support.totp import wrong_code
from ..support.waiting import wait_until
from .test_qr_renderers import status_of

T = "acme"


def test_a_set_up_beyond_the_bounds_is_refused_while_logins_are_served(
    settings: Settings, clock: FixedClock
) -> None:
    bounded = replace(
        settings,
        workers=1,
        qr_timeout_seconds=60,
        admission=AdmissionSettings(setup_concurrency=1, setup_queue=1),
    )
    with (
        running(bounded, clock) as app,
        TwoFactorClient(app.addresses[0], timeout=30) as client,
        grpc.insecure_channel(app.addresses[0]) as channel,
        ThreadPoolExecutor(2) as threads,
    ):
        secret = enroll_app(client, clock, T, "alice", advance=30).secret
        (renderer,) = app.renderers.pids()
        os.kill(renderer, signal.SIGSTOP)  # set-ups now hold their turn until it goes on
        try:
            held: list[Future[AuthenticatorSetup]] = []
            for user, load in (("bob", {"running": 1, "waiting": 0}), ("carol", {"waiting": 1})):
                held.append(threads.submit(client.begin_authenticator_setup, T, user))
                wait_until(functools.partial(_load_is, app, load), f"the setup lane at {load}")

            stub = twofa_pb2_grpc.TwoFactorServiceStub(channel)
            request = pb.BeginAuthenticatorSetupRequest(tenant_id=T, user_id="dave")
            with pytest.raises(grpc.RpcError) as refused:
                stub.BeginAuthenticatorSetup(request, timeout=10)
            code, retry, reason = status_of(refused.value)
            assert (code, reason) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "SERVER_BUSY")
            assert retry >= 1
            with pytest.raises(ResourceExhausted) as again:  # as the Python client reports it
                client.begin_authenticator_setup(T, "dave")
            assert again.value.retry_after is not None

            # Logins keep their place.
            wrong = client.verify_code(T, "alice", wrong_code(secret, clock.now()))
            assert wrong.result is VerifyResult.REJECTED
            assert client.evaluate_login(T, "alice").decision is LoginDecision.REQUIRED
            assert not any(future.done() for future in held)
        finally:
            os.kill(renderer, signal.SIGCONT)
        for future in held:
            assert future.result(timeout=30).qr_png  # the admitted ones finish once it goes on
        dave = client.get_user_status(T, "dave").method(Method.AUTHENTICATOR_APP)
        assert dave is None or dave.state is MethodState.DISABLED  # refused: nothing changed
        series = scrape(app)
        assert value(series, "twofa_admission_refused_total", kind="setup") == 2
        assert value(series, "twofa_admission_refused_total", kind="mail") == 0
        assert value(series, "twofa_admission_waiting", kind="setup") == 0


def test_refusals_are_counted_by_kind_from_the_start(app: Application) -> None:
    series = scrape(app)
    for kind in ("setup", "mail", "admin"):
        assert value(series, "twofa_admission_refused_total", kind=kind) == 0
        assert value(series, "twofa_admission_running", kind=kind) == 0
    assert set(ADMISSION_KINDS) == {kind.value for kind in Kind}


@pytest.mark.parametrize(
    ("variable", "text", "allowed"),
    [
        ("TWOFA_ADMISSION_SETUP_CONCURRENCY", "0", "1-64"),
        ("TWOFA_ADMISSION_SETUP_QUEUE", "-1", "0-100000"),
        ("TWOFA_ADMISSION_MAIL_CONCURRENCY", "257", "1-256"),
        ("TWOFA_ADMISSION_ADMIN_QUEUE", "many", "whole number"),
        ("TWOFA_QR_TIMEOUT_SECONDS", "0", "0.1-60"),
    ],
)
def test_bounds_are_checked(variable: str, text: str, allowed: str) -> None:
    with pytest.raises(ConfigError, match=allowed):
        load_settings(environ={variable: text})


def test_bounds_are_read_from_the_environment() -> None:
    settings = load_settings(
        environ={"TWOFA_ADMISSION_SETUP_QUEUE": "0", "TWOFA_ADMISSION_ADMIN_CONCURRENCY": "9"}
    )
    assert settings.admission == AdmissionSettings(setup_queue=0, admin_concurrency=9)


def _load_is(app: Application, load: dict[str, int]) -> bool:
    series = scrape(app)
    return all(
        value(series, f"twofa_admission_{name}", kind="setup") == count
        for name, count in load.items()
    )
