"""Durability: whatever an answer reported is on disk, even if the process dies right after."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from twofa_client import Method, TwoFactorError, VerifyReason

from ..support.clock import WallClock
from ..support.enroll import enroll_app
from ..support.processes import T, next_code, serving, stop
from ..support.totp import other_code, totp_code

pytestmark = pytest.mark.slow


def test_acknowledged_changes_survive_sigkill(
    tmp_path: Path, data_dir: Path, socket_path: Path
) -> None:
    with serving(tmp_path, data_dir, socket_path) as (server, client):
        secret = enroll_app(client, WallClock(), T, "alice", advance=0).secret
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

    with serving(tmp_path, data_dir, socket_path) as (server, client):
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


def test_sigkill_under_load_loses_nothing_acknowledged(
    tmp_path: Path, data_dir: Path, socket_path: Path
) -> None:
    """Kill the server in the middle of concurrent verifications and set-ups (group commit
    in full swing); every acknowledged acceptance, failure and enrollment must be there."""
    users = [f"user-{i}" for i in range(12)]
    with serving(tmp_path, data_dir, socket_path) as (server, client):
        client.update_policy(T, max_attempts=20, warn_after_failures=20)
        secrets = {
            user: enroll_app(client, WallClock(), T, user, advance=0).secret for user in users
        }
        accepted: dict[str, str] = {}  # user -> the code acknowledged ACCEPTED
        failures: dict[str, int] = dict.fromkeys(users, 0)  # acknowledged failures
        in_flight: dict[str, int] = dict.fromkeys(users, 0)  # sent, answer never seen
        enrolled: list[str] = []
        lock = threading.Lock()
        killed = threading.Event()

        def verifier(user: str) -> None:
            code = next_code(secrets[user])
            wrong = other_code(code)
            tried_right = False
            while not killed.is_set():
                attempt = wrong if tried_right else code
                with lock:
                    in_flight[user] += 1
                try:
                    answer = client.verify_code(T, user, attempt, timeout=5)
                except TwoFactorError:
                    return  # the server died under us: this answer was never seen
                with lock:
                    in_flight[user] -= 1
                    if answer.accepted:
                        accepted[user] = attempt
                    elif answer.reason is not VerifyReason.LOCKED:  # a refusal counts nothing
                        failures[user] += 1
                tried_right = True

        def enroller(start: int) -> None:
            for i in range(start, start + 1000, 2):
                if killed.is_set():
                    return
                user = f"new-{i}"
                try:
                    enroll_app(client, WallClock(), T, user, advance=0)
                except (TwoFactorError, AssertionError):
                    return
                with lock:
                    enrolled.append(user)

        threads = [threading.Thread(target=verifier, args=(u,)) for u in users]
        threads += [threading.Thread(target=enroller, args=(s,)) for s in (0, 1)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while (sum(failures.values()) < 100 or len(enrolled) < 4) and time.monotonic() < deadline:
            time.sleep(0.01)
        server.process.kill()  # SIGKILL mid-load: calls are in flight
        killed.set()
        server.process.wait(10)
        for thread in threads:
            thread.join(10)
    assert sum(failures.values()) >= 100 and len(enrolled) >= 4, "too little load to test"

    with serving(tmp_path, data_dir, socket_path) as (server, client):  # the store opens cleanly
        for user in users:
            counted = client.get_user_status(T, user).failed_attempts
            # Every acknowledged failure is on disk; at most the unanswered ones on top.
            assert failures[user] <= counted <= failures[user] + in_flight[user], user
        for user, code in accepted.items():
            assert not client.verify_code(T, user, code).accepted, user  # never twice
        for user in enrolled:
            assert client.get_user_status(T, user).enrolled, user
        stop(server)
