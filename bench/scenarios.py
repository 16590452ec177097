"""The table of scenarios: what one request of each kind sends and what it must answer.

A scenario is a name, a description and a factory that, given an open channel
and the UserBook of the target's store, returns the coroutine function one
load-generator task calls in a loop. A Load is a scenario at a concurrency; a
Mix runs one load beside another on the same server. Scenarios are not tied to
a kind of server: targets (bench/targets.py) are chosen by the caller.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from twofa.v1 import twofa_pb2 as pb
from twofa.v1 import twofa_pb2_grpc

from .book import UserBook
from .users import code_at_step, time_step, wrong_code

# A request that takes longer than this counts as an error (DEADLINE_EXCEEDED).
CALL_TIMEOUT_SECONDS = 10.0
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Outcome(enum.Enum):
    """What became of one request (gRPC errors are raised, not returned)."""

    OK = "ok"  # answered as the scenario expected
    MISMATCH = "mismatch"  # answered, but not as expected: counted and reported
    STARVED = "starved"  # nothing left to send (e.g. every fresh code used); the task stops


Call = Callable[[], Awaitable[Outcome]]


@dataclass(frozen=True, slots=True)
class Scenario:
    """One row of the table.

    Attributes:
        name: as given on the command line and shown in the report.
        rpc: the RPC it calls, for the report.
        expects: what every answer must be, for the report.
        make_call: builds the request loop's call for a channel and the run's users.
        supply: how many more requests the users allow right now (None: unbounded).
        commits: whether each request commits (the report's requests per commit are
            shown only for those: other rows' commits are background work's).
    """

    name: str
    rpc: str
    expects: str
    make_call: Callable[[grpc.aio.Channel, UserBook], Call]
    supply: Callable[[UserBook], int | None]
    commits: bool = True


def _health(channel: grpc.aio.Channel, book: UserBook) -> Call:
    stub = health_pb2_grpc.HealthStub(channel)
    request = health_pb2.HealthCheckRequest()
    serving = health_pb2.HealthCheckResponse.SERVING

    async def call() -> Outcome:
        response = await stub.Check(request, timeout=CALL_TIMEOUT_SECONDS)
        return Outcome.OK if response.status == serving else Outcome.MISMATCH

    return call


def _verify_wrong(channel: grpc.aio.Channel, book: UserBook) -> Call:
    stub = twofa_pb2_grpc.TwoFactorServiceStub(channel)
    people = book.population

    async def call() -> Outcome:
        user = book.take_wrong()
        if user is None:
            return Outcome.STARVED
        code = wrong_code(people.secret(user), time_step(time.time()))
        response = await stub.VerifyCode(
            pb.VerifyCodeRequest(
                tenant_id=people.tenant_id,
                user_id=people.user_id(user),
                code=code,
                method=pb.METHOD_AUTHENTICATOR_APP,
            ),
            timeout=CALL_TIMEOUT_SECONDS,
        )
        rejected = response.result == pb.VERIFY_RESULT_REJECTED
        return Outcome.OK if rejected else Outcome.MISMATCH

    return call


def _verify_correct(channel: grpc.aio.Channel, book: UserBook) -> Call:
    stub = twofa_pb2_grpc.TwoFactorServiceStub(channel)
    people = book.population

    async def call() -> Outcome:
        taken = book.take_fresh(time.time())
        if taken is None:
            return Outcome.STARVED
        user, step = taken
        try:
            response = await stub.VerifyCode(
                pb.VerifyCodeRequest(
                    tenant_id=people.tenant_id,
                    user_id=people.user_id(user),
                    code=code_at_step(people.secret(user), step),
                    method=pb.METHOD_AUTHENTICATOR_APP,
                ),
                timeout=CALL_TIMEOUT_SECONDS,
            )
        finally:
            book.give_back(user, step)
        accepted = response.result == pb.VERIFY_RESULT_ACCEPTED
        return Outcome.OK if accepted else Outcome.MISMATCH

    return call


def _evaluate_login(channel: grpc.aio.Channel, book: UserBook) -> Call:
    stub = twofa_pb2_grpc.TwoFactorServiceStub(channel)
    people = book.population

    async def call() -> Outcome:
        user = book.take_any()
        response = await stub.EvaluateLogin(
            pb.EvaluateLoginRequest(
                tenant_id=people.tenant_id,
                user_id=people.user_id(user),
                device_token=people.device_token(user),
            ),
            timeout=CALL_TIMEOUT_SECONDS,
        )
        trusted = (
            response.decision == pb.LOGIN_DECISION_NOT_REQUIRED
            and response.reason == pb.LOGIN_REASON_TRUSTED_DEVICE
        )
        return Outcome.OK if trusted else Outcome.MISMATCH

    return call


def _begin_setup(channel: grpc.aio.Channel, book: UserBook) -> Call:
    # Each call replaces the user's pending secret; the enabled one, which the
    # verify scenarios use, stays as it is (a Reset keeps it until confirmed).
    stub = twofa_pb2_grpc.TwoFactorServiceStub(channel)
    people = book.population

    async def call() -> Outcome:
        user = book.take_any()
        response = await stub.BeginAuthenticatorSetup(
            pb.BeginAuthenticatorSetupRequest(
                tenant_id=people.tenant_id, user_id=people.user_id(user)
            ),
            timeout=CALL_TIMEOUT_SECONDS,
        )
        complete = (
            response.qr_png.startswith(PNG_SIGNATURE)
            and response.otpauth_uri.startswith("otpauth://totp/")
            and response.is_reset
        )
        return Outcome.OK if complete else Outcome.MISMATCH

    return call


@dataclass(frozen=True, slots=True)
class Load:
    """`concurrency` tasks, each sending `scenario`'s requests one at a time."""

    scenario: str
    concurrency: int

    def __str__(self) -> str:
        return f"{self.scenario} c={self.concurrency}"


@dataclass(frozen=True, slots=True)
class Mix:
    """`main` measured while `beside` runs against the same server, each with its own counters."""

    main: Load
    beside: Load


# The mixed scenario of issue 13: VerifyCode beside concurrent set-ups, whose QR
# rendering holds the GIL the event loop and the writer thread need.
MIX_MAIN = Load("verify_wrong", 8)
MIX_BESIDE = "begin_setup"
MIX_BESIDE_COUNTS = (4, 16)


def mixes(beside_counts: tuple[int, ...]) -> tuple[Mix, ...]:
    """VerifyCode at c=8 beside each count of concurrent BeginAuthenticatorSetup calls."""
    return tuple(Mix(MIX_MAIN, Load(MIX_BESIDE, k)) for k in beside_counts)


SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (
        Scenario(
            "health",
            "grpc.health.v1.Health/Check",
            "SERVING",
            _health,
            lambda book: None,
            commits=False,
        ),
        Scenario(
            "verify_wrong",
            "VerifyCode (wrong code)",
            "REJECTED",
            _verify_wrong,
            lambda book: book.wrong_codes_left(),
        ),
        Scenario(
            "verify_correct",
            "VerifyCode (fresh correct code)",
            "ACCEPTED",
            _verify_correct,
            lambda book: book.fresh_codes(time.time()),
        ),
        Scenario(
            "evaluate_login",
            "EvaluateLogin (valid trusted-device token)",
            "NOT_REQUIRED, reason TRUSTED_DEVICE",
            _evaluate_login,
            lambda book: None,
            commits=False,
        ),
        Scenario(
            "begin_setup",
            "BeginAuthenticatorSetup (a Reset; QR PNG and SVG rendered)",
            "a PNG `qr_png`, an `otpauth://totp/` URI, `is_reset`",
            _begin_setup,
            lambda book: None,
        ),
    )
}
