"""The floor under the gRPC numbers: the same use case and store, called in-process.

Runs on its own small store (same filesystem as the bench's), so what it does to
users' attempt counters does not touch the load generator's users. Each row is
bounded in time. The difference between these rows and the gRPC rows is what
serving over gRPC adds; the difference between the write rows here is what the
fsync of each commit costs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from twofa_server.api import qr
from twofa_server.clock import SystemClock, SystemRandom
from twofa_server.core.events import NoEvents
from twofa_server.core.models import LoginReason, Method, Policy, UserRef, VerifyResult
from twofa_server.core.service import ServiceSettings, TwoFactorService
from twofa_server.core.work import perform
from twofa_server.crypto import KeyedHasher, Sealer, load_keyring
from twofa_server.store import keys
from twofa_server.store.lmdb.store import LmdbStore

from .loader import MAP_SIZE_MB, prepare_store
from .users import BENCH_MAX_ATTEMPTS, Population, time_step, wrong_code

USERS = 5_000
SECONDS_PER_ROW = 1.0
THREAD_COUNTS = (1, 16)  # 16: many callers at once, so writes queue for the writer and batch
WRONG_PER_USER_PER_ROW = 9
assert WRONG_PER_USER_PER_ROW * len(THREAD_COUNTS) < BENCH_MAX_ATTEMPTS
UNLIMITED = 1 << 62


@dataclass(frozen=True, slots=True)
class FloorRow:
    """One in-process measurement: calls per second and per-call wall and CPU time."""

    what: str
    threads: int
    calls: int
    seconds: float
    cpu_seconds: float
    mismatches: int

    @property
    def per_second(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0

    @property
    def wall_us(self) -> float:
        """Wall time per call as one thread sees it (threads x window / calls)."""
        return 1e6 * self.threads * self.seconds / self.calls if self.calls else 0.0

    @property
    def cpu_us(self) -> float:
        return 1e6 * self.cpu_seconds / self.calls if self.calls else 0.0


def _timed(what: str, threads: int, call: Callable[[int], bool], limit: int) -> FloorRow:
    """Runs `call(i)` for i = thread, thread + threads, ... below `limit`, for a fixed time.

    `call` returns whether the answer was the expected one; the others are counted.
    """
    counts = [0] * threads
    wrong = [0] * threads
    deadline = time.perf_counter() + SECONDS_PER_ROW

    def loop(first: int) -> None:
        index = first
        while index < limit and time.perf_counter() < deadline:
            if not call(index):
                wrong[first] += 1
            index += threads
            counts[first] += 1

    workers = [threading.Thread(target=loop, args=(t,)) for t in range(threads)]
    started, cpu_started = time.perf_counter(), time.process_time()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return FloorRow(what, threads, sum(counts), elapsed, cpu, sum(wrong))


def measure_floor(data_dir: Path, seed: bytes) -> list[FloorRow]:
    """Measures use cases and bare store transactions in this process.

    verify_code (wrong code), evaluate_login with a trusted device,
    begin_authenticator_setup (without the QR codes the servicer adds) and the
    QR rendering on its own. No user is locked out: each verify row walks the
    users in order and stops after `WRONG_PER_USER_PER_ROW` rounds, so a user
    gets fewer wrong codes in all than the tenant's max_attempts.
    """
    population = Population("floor", USERS, seed)
    prepare_store(data_dir, population, enabled_at=time.time())
    keyring = load_keyring(data_dir / "keyring")
    clock = SystemClock()
    store = LmdbStore(data_dir, MAP_SIZE_MB, Sealer(keyring), clock)
    try:
        service = TwoFactorService(
            clock,
            SystemRandom(),
            KeyedHasher(keyring.mac_key),
            ServiceSettings(default_policy=Policy(), default_issuer="bench"),
        )
        refs = [UserRef(population.tenant_id, population.user_id(i)) for i in range(USERS)]
        step = time_step(time.time())
        codes = [wrong_code(population.secret(i), step) for i in range(USERS)]

        def verify(i: int) -> bool:
            user, code = refs[i % USERS], codes[i % USERS]
            answer = perform(
                store, NoEvents(), service.verify_code(user, code, Method.AUTHENTICATOR_APP)
            )
            return answer.verdict.result is VerifyResult.REJECTED

        def read(i: int) -> bool:
            return store.read(lambda tx: tx.get_user(refs[i % USERS])) is not None

        def tiny_commit(i: int) -> bool:
            store.write(lambda tx: tx.put_record(keys.META, b"bench-floor", b"%d" % i))
            return True

        tokens = [population.device_token(i) for i in range(USERS)]

        def evaluate(i: int) -> bool:
            login = service.evaluate_login(refs[i % USERS], tokens[i % USERS])
            return perform(store, NoEvents(), login).reason is LoginReason.TRUSTED_DEVICE

        def begin_setup(i: int) -> bool:
            setup = service.begin_authenticator_setup(refs[i % USERS], "", "")
            return perform(store, NoEvents(), setup).is_reset

        uri = perform(store, NoEvents(), service.begin_authenticator_setup(refs[0], "", ""))
        uri_text = uri.otpauth_uri

        def render_qr(i: int) -> bool:
            # What the servicer adds to BeginAuthenticatorSetup: both renderings.
            return bool(qr.render_png(uri_text)) and bool(qr.render_svg(uri_text))

        limit = USERS * WRONG_PER_USER_PER_ROW
        rows = [
            _timed("read txn: get one user (decode, AEAD open)", 1, read, UNLIMITED),
            _timed("write txn: one tiny put, commit", 1, tiny_commit, UNLIMITED),
        ]
        rows += [_timed("verify_code, wrong code", n, verify, limit) for n in THREAD_COUNTS]
        rows += [
            _timed("evaluate_login, trusted device (read txn)", 1, evaluate, UNLIMITED),
            _timed("begin_authenticator_setup, no QR (write txn)", 1, begin_setup, UNLIMITED),
            _timed("QR of the otpauth URI: render_png + render_svg", 1, render_qr, UNLIMITED),
        ]
        return rows
    finally:
        store.close()
