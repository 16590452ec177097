"""Two `twofa serve` processes on one PostgreSQL database: one truth, whichever instance answers.

Each instance is a real process with its own socket; the database is a throwaway
cluster (tests/support/pg_cluster.py). Codes are computed independently
(tests/support/totp.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from twofa_client import (
    Method,
    ResourceExhausted,
    TwoFactorClient,
    TwoFactorError,
    Unavailable,
    VerifyReason,
    VerifyResult,
)

from ..support.clock import WallClock
from ..support.enroll import enroll_app
from ..support.pg_cluster import PostgresCluster
from ..support.processes import (
    Server,
    T,
    clean_env,
    connect,
    next_code,
    run_twofa,
    stop,
    wait_until_serving,
)
from ..support.stores import new_data_dir
from ..support.totp import other_code, wrong_code

pytestmark = pytest.mark.slow


class Fleet:
    """Two instances of one deployment: a database, a keyring, two processes."""

    def __init__(self, cluster: PostgresCluster, root: Path, short_dir: Path) -> None:
        self.cluster = cluster
        self.root = root
        self.keyring = new_data_dir(root / "secrets", with_store=False) / "keyring"
        self.env = clean_env(
            TWOFA_STORE="postgres",
            TWOFA_POSTGRES_DSN=cluster.create_database(),
            TWOFA_KEYRING_FILE=str(self.keyring),
            TWOFA_LISTEN="",
            TWOFA_UNIX_SOCKET=str(short_dir / "a.sock"),
            TWOFA_POSTGRES_POOL_SIZE="4",
        )
        self.sockets = [short_dir / "a.sock", short_dir / "b.sock"]
        init = run_twofa("store", "init", cwd=root, env=self.env)
        assert init.returncode == 0, init.stderr
        self.servers: list[Server] = []
        self.clients: list[TwoFactorClient] = []

    def start(self, index: int) -> tuple[Server, TwoFactorClient]:
        env = {**self.env, "TWOFA_UNIX_SOCKET": str(self.sockets[index])}
        server = Server([], cwd=self.root, env=env)
        client = connect(self.sockets[index], timeout=15)
        wait_until_serving(client, server)
        return server, client


FleetUp = tuple[Fleet, list[TwoFactorClient], list[Server]]


@pytest.fixture
def fleet(postgres_cluster: PostgresCluster, tmp_path: Path, short_dir: Path) -> Iterator[FleetUp]:
    fleet = Fleet(postgres_cluster, tmp_path, short_dir)
    with ExitStack() as stack:
        servers, clients = [], []
        for index in (0, 1):
            server, client = fleet.start(index)
            servers.append(stack.enter_context(server))
            clients.append(stack.enter_context(client))
        yield fleet, clients, servers


def test_one_valid_code_sent_64_times_over_both_is_accepted_once(fleet: FleetUp) -> None:
    _, clients, _ = fleet
    secret = enroll_app(clients[0], WallClock(), T, "alice", advance=0).secret
    code = next_code(secret)
    with ThreadPoolExecutor(32) as pool:
        answers = list(pool.map(lambda i: clients[i % 2].verify_code(T, "alice", code), range(64)))
    accepted = [a for a in answers if a.accepted]
    assert len(accepted) == 1
    # The others are replays: counted (so 64 copies also lock the user; an idempotency
    # key is how a retry avoids that), never a second acceptance.
    refused = {a.reason for a in answers if not a.accepted}
    assert VerifyReason.CODE_REUSED in refused
    assert refused <= {
        VerifyReason.CODE_REUSED,
        VerifyReason.TOO_MANY_ATTEMPTS,
        VerifyReason.LOCKED,
    }


def test_wrong_codes_over_both_lock_after_exactly_max_attempts(fleet: FleetUp) -> None:
    _, clients, _ = fleet
    secret = enroll_app(clients[0], WallClock(), T, "bob", advance=0).secret
    wrong = wrong_code(secret, time.time())
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda i: clients[i % 2].verify_code(T, "bob", wrong), range(20)))
    counted = [a for a in answers if a.reason in (VerifyReason.WRONG_CODE,)]
    locking = [a for a in answers if a.reason is VerifyReason.TOO_MANY_ATTEMPTS]
    assert len(counted) == 4 and len(locking) == 1  # five failures, the fifth locks
    assert all(a.result is VerifyResult.LOCKED_OUT for a in answers if a not in counted)
    for client in clients:  # the lock is seen on both
        status = client.get_user_status(T, "bob")
        assert status.locked_until is not None and status.failed_attempts == 5
        assert client.verify_code(T, "bob", next_code(secret)).reason is VerifyReason.LOCKED


def test_what_one_instance_does_the_other_sees_at_once(fleet: FleetUp) -> None:
    _, (first, second), _ = fleet
    secret = enroll_app(first, WallClock(), T, "carol", advance=0).secret
    assert second.get_user_status(T, "carol").enrolled
    assert second.verify_code(T, "carol", next_code(secret)).accepted
    # A policy changed on one applies on the other at once.
    first.update_policy(T, max_attempts=2, warn_after_failures=1)
    assert second.get_policy(T).policy.max_attempts == 2
    assert second.verify_code(T, "carol", wrong_code(secret, time.time())).attempts_remaining == 1
    assert second.evaluate_login(T, "unknown").reason.name == "NOT_ENROLLED_OPTIONAL"


def test_sixteen_first_email_setups_at_once_send_one_code(fleet: FleetUp) -> None:
    f, clients, _ = fleet

    def begin(i: int) -> str:
        try:
            clients[i % 2].begin_email_setup(T, "dave", "dave@example.com")
            return "sent"
        except ResourceExhausted:
            return "cooldown"

    with ThreadPoolExecutor(16) as pool:
        outcomes = list(pool.map(begin, range(16)))
    assert outcomes.count("sent") == 1 and outcomes.count("cooldown") == 15
    dsn = f.env["TWOFA_POSTGRES_DSN"]
    queued = int(str(f.cluster.query(dsn, "SELECT count(*) FROM twofa.outbox")[0][0]))
    users = int(str(f.cluster.query(dsn, "SELECT count(*) FROM twofa.users")[0][0]))
    # The console mailer may already have sent (and deleted) it: at most one, ever.
    assert queued <= 1 and users == 1
    delivered = sum(server.stderr.count("delivered setup_code") for server in fleet[2])
    assert delivered + queued == 1


def test_an_instance_killed_under_load_loses_nothing_and_leaves_no_lock(fleet: FleetUp) -> None:
    _, clients, servers = fleet
    users = [f"user-{i}" for i in range(8)]
    secrets = {u: enroll_app(clients[0], WallClock(), T, u, advance=0).secret for u in users}
    accepted: dict[str, str] = {}
    failures: dict[str, int] = dict.fromkeys(users, 0)
    in_flight: dict[str, int] = dict.fromkeys(users, 0)
    lock = threading.Lock()
    stop_load = threading.Event()

    def load(user: str, index: int) -> None:
        code = next_code(secrets[user])
        wrong = other_code(code)
        tried = False
        while not stop_load.is_set():
            attempt = wrong if tried else code
            with lock:
                in_flight[user] += 1
            try:
                answer = clients[index].verify_code(T, user, attempt, timeout=5)
            except TwoFactorError:
                if index == 0:
                    return  # the killed instance: this answer was never seen
                continue
            with lock:
                in_flight[user] -= 1
                if answer.accepted:
                    accepted[user] = attempt
                elif answer.reason is not VerifyReason.LOCKED:
                    failures[user] += 1
            tried = True

    threads = [threading.Thread(target=load, args=(user, i % 2)) for i, user in enumerate(users)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while sum(failures.values()) < 30 and time.monotonic() < deadline:
        time.sleep(0.01)
    servers[0].process.kill()  # SIGKILL mid-load
    servers[0].process.wait(10)
    time.sleep(0.5)
    stop_load.set()
    for thread in threads:
        thread.join(10)
    assert sum(failures.values()) >= 30, "too little load to test"

    survivor = clients[1]
    for user in users:
        counted = survivor.get_user_status(T, user).failed_attempts
        assert failures[user] <= counted <= failures[user] + in_flight[user], user
        # No row lock left behind: the survivor can still write this user at once.
        assert survivor.verify_code(T, user, "12345").reason is not None
    for user, code in accepted.items():
        assert not survivor.verify_code(T, user, code).accepted, user  # never twice
    stop(servers[1])


@contextmanager
def _down(cluster: PostgresCluster) -> Iterator[None]:
    cluster.stop("fast")
    try:
        yield
    finally:
        cluster.start()


def test_a_database_outage_is_unavailable_not_serving_and_heals_by_itself(fleet: FleetUp) -> None:
    f, clients, servers = fleet
    secret = enroll_app(clients[0], WallClock(), T, "erin", advance=0).secret
    with _down(f.cluster):
        with pytest.raises(TwoFactorError) as refused:
            clients[0].verify_code(T, "erin", "000000")
        assert isinstance(refused.value, Unavailable)
        assert refused.value.retry_after is not None
        assert refused.value.reason == "DATABASE_UNREACHABLE"
        deadline = time.monotonic() + 10
        while clients[0].health_check(timeout=2) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not clients[0].health_check(timeout=2)  # readiness: NOT_SERVING
        assert servers[0].process.poll() is None  # the process stays up
    deadline = time.monotonic() + 15
    while not clients[0].health_check(timeout=2) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert clients[0].health_check(timeout=2)
    assert clients[0].verify_code(T, "erin", next_code(secret)).accepted
    assert any("cannot be reached" in line for line in servers[0].stderr.splitlines())


def test_the_other_instance_serves_a_user_enrolled_through_the_first_after_restart(
    fleet: FleetUp,
) -> None:
    _, clients, servers = fleet
    secret = enroll_app(clients[0], WallClock(), T, "frank", advance=0).secret
    stop(servers[0])
    assert clients[1].verify_code(T, "frank", next_code(secret)).accepted
    assert clients[1].get_user_status(T, "frank").methods[0].method is Method.AUTHENTICATOR_APP


def test_an_lmdb_store_moves_into_postgresql_and_serves_the_same_users(
    postgres_cluster: PostgresCluster, tmp_path: Path, short_dir: Path
) -> None:
    data_dir = new_data_dir(tmp_path / "data")
    socket = short_dir / "lmdb.sock"
    lmdb_env = clean_env(
        TWOFA_DATA_DIR=str(data_dir), TWOFA_LISTEN="", TWOFA_UNIX_SOCKET=str(socket)
    )
    with Server([], cwd=tmp_path, env=lmdb_env) as server:
        client = connect(socket, timeout=15)
        wait_until_serving(client, server)
        secret = enroll_app(client, WallClock(), T, "gina", advance=0).secret
        client.update_policy(T, max_attempts=7)
        stop(server)
        client.close()

    dsn = postgres_cluster.create_database()
    copied = run_twofa("store", "copy", "--from", str(data_dir), "--to", dsn, cwd=tmp_path)
    assert copied.returncode == 0, copied.stderr
    assert "1 users, 1 policies" in copied.stdout
    again = run_twofa("store", "copy", "--from", str(data_dir), "--to", dsn, cwd=tmp_path)
    assert again.returncode == 2 and "is not empty" in again.stderr

    pg_env = clean_env(
        TWOFA_STORE="postgres",
        TWOFA_POSTGRES_DSN=dsn,
        TWOFA_KEYRING_FILE=str(data_dir / "keyring"),  # the same keyring opens the copy
        TWOFA_LISTEN="",
        TWOFA_UNIX_SOCKET=str(socket),
    )
    with Server([], cwd=tmp_path, env=pg_env) as server:
        client = connect(socket, timeout=15)
        wait_until_serving(client, server)
        assert client.get_policy(T).policy.max_attempts == 7
        assert client.verify_code(T, "gina", next_code(secret)).accepted
        stop(server)
        client.close()


def test_a_database_restart_under_load_loses_no_acknowledged_failure(fleet: FleetUp) -> None:
    f, clients, _ = fleet
    clients[0].update_policy(T, max_attempts=20, warn_after_failures=20)  # slower to lock
    users = [f"load-{i}" for i in range(6)]
    secrets = {u: enroll_app(clients[0], WallClock(), T, u, advance=0).secret for u in users}
    failures: dict[str, int] = dict.fromkeys(users, 0)
    unanswered: dict[str, int] = dict.fromkeys(users, 0)
    lock = threading.Lock()
    done = threading.Event()

    def load(user: str, client: TwoFactorClient) -> None:
        wrong = wrong_code(secrets[user], time.time())
        while not done.is_set():
            try:
                answer = client.verify_code(T, user, wrong, timeout=5)
            except TwoFactorError:  # UNAVAILABLE while the database restarts
                with lock:
                    unanswered[user] += 1
                time.sleep(0.05)
                continue
            with lock:
                if answer.reason is VerifyReason.WRONG_CODE or answer.reason is (
                    VerifyReason.TOO_MANY_ATTEMPTS
                ):
                    failures[user] += 1

    threads = [
        threading.Thread(target=load, args=(user, clients[i % 2])) for i, user in enumerate(users)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    f.cluster.stop("fast")  # a restart under load: every connection of both instances breaks
    f.cluster.start()
    time.sleep(1.5)
    done.set()
    for thread in threads:
        thread.join(15)
    assert sum(unanswered.values()) > 0, "the restart did not happen under load"
    deadline = time.monotonic() + 15
    while not all(c.health_check(timeout=2) for c in clients) and time.monotonic() < deadline:
        time.sleep(0.2)
    for user in users:
        status = clients[1].get_user_status(T, user)
        # An acknowledged failure is never lost (an unanswered call may have counted too).
        assert failures[user] <= status.failed_attempts <= failures[user] + unanswered[user], user
