"""Durability: whatever an answer reported is on disk, even if the process dies right after."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from twofa_client import Method, VerifyReason

from .processes import T, connect, enroll, next_code, serve, stop, wait_until_serving
from .support import totp_code

pytestmark = pytest.mark.slow


def test_acknowledged_changes_survive_sigkill(
    tmp_path: Path, data_dir: Path, socket_path: Path
) -> None:
    with serve(tmp_path, data_dir, socket_path) as server, connect(socket_path) as client:
        wait_until_serving(client, server)
        secret = enroll(client, "alice")
        accepted = next_code(secret)
        assert client.verify_code(T, "alice", accepted).accepted
        wrong = f"{(int(accepted) + 500_000) % 1_000_000:06d}"
        for _ in range(3):
            assert not client.verify_code(T, "alice", wrong).accepted
        client.update_policy(T, max_attempts=9)
        client.begin_authenticator_setup(T, "alice")  # a Reset, pending
        # No drain, no close: the process dies the moment the last answer is sent.
        server.process.kill()
        server.process.wait(10)

    with serve(tmp_path, data_dir, socket_path) as server, connect(socket_path) as client:
        wait_until_serving(client, server)
        status = client.get_user_status(T, "alice")
        app = status.method(Method.AUTHENTICATOR_APP)
        assert app is not None and app.reset_pending
        assert status.failed_attempts == 3
        assert client.get_policy(T).policy.max_attempts == 9
        replay = client.verify_code(T, "alice", accepted)
        assert replay.reason is VerifyReason.CODE_REUSED
        if totp_code(secret, time.time(), 1) != accepted:  # a later step has come meanwhile
            assert client.verify_code(T, "alice", next_code(secret)).accepted
        stop(server)
