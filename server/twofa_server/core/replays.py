"""Idempotency keys: a retried code submission gets the first answer again.

An application whose VerifyCode (or confirmation) answer was lost to a deadline
or a restart retries it. Without a key the retry is a second attempt: CODE_REUSED,
one more failure counted, and 64 copies of one valid code lock the user out right
after a successful login. With a key, a retry of the same code within
REPLAY_SECONDS gets the first verdict again and changes nothing. Nothing secret is
kept for that: a replayed answer carries no device token and no backup codes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .codes import bound_to_user, find_digest
from .errors import FieldViolation, InvalidArgument
from .models import DeviceTokenStatus, Replay, UserRef, Verdict
from .ports import Hasher
from .validation import Violations

REPLAY_SECONDS = 300
MAX_REPLAYS_PER_USER = 10
MAX_KEY_CHARS = 128
_KEY_PURPOSE = b"twofa-idem-key"
_REQUEST_PURPOSE = b"twofa-idem-req"


@dataclass(frozen=True, slots=True)
class Idempotency:
    """A request's idempotency key and what it asked, as the keyed digests stored."""

    key: bytes
    request: bytes


def check_key(violations: Violations, key: str) -> None:
    if key and (len(key) > MAX_KEY_CHARS or not all("!" <= ch <= "~" for ch in key)):
        violations.add(
            "idempotency_key",
            f"must be 1-{MAX_KEY_CHARS} printable ASCII characters without spaces",
        )


def of_request(
    hasher: Hasher, user: UserRef, key: str, use_case: str, code: str
) -> Idempotency | None:
    """The digests of a request's idempotency key and of what it asks; None without a key."""
    if not key:
        return None
    asked = f"{use_case}\0{code}".encode()
    return Idempotency(
        hasher.digest(_KEY_PURPOSE, bound_to_user(user, key.encode("ascii"))),
        hasher.digest(_REQUEST_PURPOSE, bound_to_user(user, asked)),
    )


def find(replays: list[Replay], idempotency: Idempotency | None, now: float) -> Replay | None:
    """The live answer stored under the request's key, if any.

    Raises:
        InvalidArgument: the key was used with another code (or another use case).
    """
    if idempotency is None:
        return None
    live = [replay for replay in replays if now < replay.expires_at]
    index = find_digest([replay.key_digest for replay in live], idempotency.key)
    if index is None:
        return None
    replay = live[index]
    if replay.request_digest != idempotency.request:
        raise InvalidArgument(
            [
                FieldViolation(
                    "idempotency_key",
                    "was used with another code: send a new key with each new submission",
                )
            ]
        )
    return replay


def remember(replays: list[Replay], replay: Replay, now: float) -> None:
    """Keeps `replay` for REPLAY_SECONDS, dropping expired ones and the oldest beyond the cap."""
    purge(replays, now)
    replays.append(replay)
    del replays[:-MAX_REPLAYS_PER_USER]


def purge(replays: list[Replay], now: float) -> None:
    replays[:] = [kept for kept in replays if now < kept.expires_at]


def new(
    idempotency: Idempotency,
    now: float,
    verdict: Verdict,
    backup_codes_remaining: int = 0,
    device_token_status: DeviceTokenStatus = DeviceTokenStatus.NOT_REQUESTED,
    device_token_expires_at: float | None = None,
) -> Replay:
    return Replay(
        idempotency.key,
        idempotency.request,
        now + REPLAY_SECONDS,
        verdict,
        backup_codes_remaining,
        device_token_status,
        device_token_expires_at,
    )


def verdict_now(replay: Replay, now: float) -> Verdict:
    """The stored verdict, its wait until the lockout ends counted from `now`."""
    until = replay.verdict.locked_until
    retry_after = max(until - now, 0.0) if until is not None else None
    return dataclasses.replace(replay.verdict, retry_after=retry_after)


def token_status(replay: Replay) -> DeviceTokenStatus:
    """What a replayed answer says of the device token: it is never sent twice."""
    if replay.device_token_status is DeviceTokenStatus.ISSUED:
        return DeviceTokenStatus.ALREADY_ISSUED
    return replay.device_token_status
