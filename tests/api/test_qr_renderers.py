"""BeginAuthenticatorSetup's QR codes: only the images asked for, rendered in renderer
processes, a crashed or stuck renderer costing its own call and nothing else."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from twofa.v1 import twofa_pb2 as pb
from twofa.v1 import twofa_pb2_grpc
from twofa_client import Method, MethodState, QrImages, TwoFactorClient, VerifyResult
from twofa_server.api import rendering
from twofa_server.app import Application
from twofa_server.config import Settings

from ..support.clock import FixedClock
from ..support.enroll import enroll_app
from ..support.metrics import scrape, value
from ..support.stores import running
from ..support.tools import required_tool
from ..support.totp import wrong_code
from ..support.waiting import wait_until

T = "acme"
SVG_ROOT = "{http://www.w3.org/2000/svg}svg"
# A renderer that works like the real one, except that it dies (SIGKILL) on being asked
# for the QR code of a URI holding "crash-me".
CRASHES_ON_MARK = """
import os, signal, sys
from twofa_server.api import qr_worker

render = qr_worker.answer

def answer(text, formats, scale):
    if "crash-me" in text:
        os.kill(os.getpid(), signal.SIGKILL)
    return render(text, formats, scale)

qr_worker.answer = answer
sys.exit(qr_worker.main(["qr_worker", *sys.argv[1:]]))
"""


def decode(png: bytes, tmp_path: Path) -> str:
    image = tmp_path / "code.png"
    image.write_bytes(png)
    zbarimg = required_tool("zbarimg", "Debian/Ubuntu: apt-get install zbar-tools")
    done = subprocess.run(
        [zbarimg, "--raw", "-q", str(image)], capture_output=True, check=True, timeout=60
    )
    return done.stdout.decode("utf-8").removesuffix("\n")


def status_of(error: grpc.RpcError) -> tuple[grpc.StatusCode, float, str]:
    """The code, RetryInfo delay in seconds and ErrorInfo reason of a failed call."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    delay, reason = 0.0, ""
    for detail in status.details:
        retry, info = error_details_pb2.RetryInfo(), error_details_pb2.ErrorInfo()
        if detail.Unpack(retry):
            delay = retry.retry_delay.ToTimedelta().total_seconds()
        elif detail.Unpack(info):
            reason = info.reason
    return error.code(), delay, reason


@pytest.fixture
def stub(app: Application) -> Iterator[twofa_pb2_grpc.TwoFactorServiceStub]:
    with grpc.insecure_channel(app.addresses[0]) as channel:
        yield twofa_pb2_grpc.TwoFactorServiceStub(channel)


@pytest.mark.parametrize("images", list(QrImages))
def test_only_the_images_asked_for_are_rendered(
    client: TwoFactorClient, images: QrImages, tmp_path: Path
) -> None:
    setup = client.begin_authenticator_setup(T, "alice", qr_images=images)
    png_wanted = images in (QrImages.UNSPECIFIED, QrImages.PNG_AND_SVG, QrImages.PNG)
    svg_wanted = images in (QrImages.UNSPECIFIED, QrImages.PNG_AND_SVG, QrImages.SVG)
    assert setup.otpauth_uri.startswith("otpauth://totp/")
    assert f"secret={setup.secret}" in setup.otpauth_uri
    if png_wanted:
        assert decode(setup.qr_png, tmp_path) == setup.otpauth_uri
    else:
        assert setup.qr_png == b""
    if svg_wanted:
        root = ET.fromstring(setup.qr_svg)  # noqa: S314 (the server's own output)
        assert root.tag == SVG_ROOT
        assert root.get("width") == root.get("height")
    else:
        assert setup.qr_svg == ""


def test_a_qr_images_value_the_server_does_not_know_is_refused_before_anything_changes(
    stub: twofa_pb2_grpc.TwoFactorServiceStub, client: TwoFactorClient
) -> None:
    request = pb.BeginAuthenticatorSetupRequest(tenant_id=T, user_id="alice", qr_images=9)  # type: ignore[arg-type]
    with pytest.raises(grpc.RpcError) as refused:
        stub.BeginAuthenticatorSetup(request, timeout=10)
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "qr_images" in (refused.value.details() or "")
    pending = client.get_user_status(T, "alice").method(Method.AUTHENTICATOR_APP)
    assert pending is None or pending.state is MethodState.DISABLED


def test_a_renderer_dying_during_a_call_costs_that_call_only(
    settings: Settings,
    clock: FixedClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(
        rendering,
        "_worker_command",
        lambda fd, parent: [sys.executable, "-c", CRASHES_ON_MARK, str(fd), str(parent)],
    )
    with (
        running(replace(settings, workers=2), clock) as app,
        TwoFactorClient(app.addresses[0], timeout=10) as client,
        grpc.insecure_channel(app.addresses[0]) as channel,
    ):
        secret = enroll_app(client, clock, T, "alice", advance=30).secret
        logins = _keep_logging_in(client, secret, clock.now())
        first = app.renderers.pids()
        stub = twofa_pb2_grpc.TwoFactorServiceStub(channel)
        crash = pb.BeginAuthenticatorSetupRequest(
            tenant_id=T, user_id="bob", account_name="crash-me"
        )
        with pytest.raises(grpc.RpcError) as failed:
            stub.BeginAuthenticatorSetup(crash, timeout=10)
        code, retry, reason = status_of(failed.value)
        assert code is grpc.StatusCode.UNAVAILABLE
        assert retry > 0
        assert reason == "QR_RENDERER_UNAVAILABLE"

        setup = client.begin_authenticator_setup(T, "bob")  # the next one works
        assert decode(setup.qr_png, tmp_path) == setup.otpauth_uri
        wait_until(lambda: len(app.renderers.pids()) >= 1, "a renderer")
        assert set(app.renderers.pids()) != set(first)
        answers = logins.stop()
        assert answers and all(result is VerifyResult.REJECTED for result in answers)
        assert value(scrape(app), "twofa_qr_renderer_failures_total", reason="crashed") == 1
    printed = caplog.text + "".join(capfd.readouterr())
    assert "died during a call" in printed
    assert "otpauth" not in printed
    assert "secret=" not in printed
    assert setup.secret not in printed


def test_a_stuck_renderer_is_killed_after_the_timeout_and_replaced(
    settings: Settings, clock: FixedClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        running(replace(settings, workers=1, qr_timeout_seconds=1), clock) as app,
        TwoFactorClient(app.addresses[0], timeout=10) as client,
        grpc.insecure_channel(app.addresses[0]) as channel,
    ):
        secret = enroll_app(client, clock, T, "alice", advance=30).secret
        (stuck,) = app.renderers.pids()
        os.kill(stuck, signal.SIGSTOP)
        try:
            logins = _keep_logging_in(client, secret, clock.now())
            stub = twofa_pb2_grpc.TwoFactorServiceStub(channel)
            with pytest.raises(grpc.RpcError) as failed:
                stub.BeginAuthenticatorSetup(
                    pb.BeginAuthenticatorSetupRequest(tenant_id=T, user_id="bob"), timeout=10
                )
            code, retry, reason = status_of(failed.value)
            assert (code, reason) == (grpc.StatusCode.UNAVAILABLE, "QR_RENDERER_UNAVAILABLE")
            assert retry > 0
            answers = logins.stop()
            assert answers and all(result is VerifyResult.REJECTED for result in answers)
            wait_until(lambda: not _alive(stuck), "the stuck renderer to be killed")
            wait_until(lambda: app.renderers.pids(), "its replacement")
            setup = client.begin_authenticator_setup(T, "bob")
            assert decode(setup.qr_png, tmp_path) == setup.otpauth_uri
            assert stuck not in app.renderers.pids()
            assert value(scrape(app), "twofa_qr_renderer_failures_total", reason="timed_out") == 1
        finally:
            if _alive(stuck):
                os.kill(stuck, signal.SIGCONT)
    assert "timed out during a call" in caplog.text


def test_a_renderer_that_exits_between_calls_costs_no_call(
    app: Application, client: TwoFactorClient, tmp_path: Path
) -> None:
    (first,) = app.renderers.pids()
    os.kill(first, signal.SIGKILL)
    wait_until(lambda: app.renderers.pids() and first not in app.renderers.pids(), "a new one")
    setup = client.begin_authenticator_setup(T, "alice")
    assert decode(setup.qr_png, tmp_path) == setup.otpauth_uri
    assert value(scrape(app), "twofa_qr_renderer_failures_total", reason="exited") == 1


def test_stopping_the_server_ends_its_renderers(settings: Settings, clock: FixedClock) -> None:
    with running(settings, clock) as app, TwoFactorClient(app.addresses[0], timeout=10) as client:
        client.begin_authenticator_setup(T, "alice")
        pids = app.renderers.pids()
        assert pids
    assert not any(_alive(pid) for pid in pids)  # stop() waits for them to exit


class _Logins:
    """VerifyCode with a wrong code, over and over in a thread, until stopped."""

    def __init__(self, client: TwoFactorClient, code: str) -> None:
        self._client = client
        self._code = code
        self._stop = threading.Event()
        self.results: list[VerifyResult] = []
        self._thread = threading.Thread(target=self._run)
        self._thread.start()

    def _run(self) -> None:
        # The user allows 20 failures before a lockout; 18 leave room for the test's own.
        while not self._stop.is_set() and len(self.results) < 18:
            self.results.append(self._client.verify_code(T, "alice", self._code).result)
            self._stop.wait(0.02)

    def stop(self) -> list[VerifyResult]:
        self._stop.set()
        self._thread.join()
        return self.results


def _keep_logging_in(client: TwoFactorClient, secret: str, now: float) -> _Logins:
    client.update_policy(T, max_attempts=20, warn_after_failures=20)
    return _Logins(client, wrong_code(secret, now))


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, ProcessLookupError):  # gone before the open, or during the read
        return False
