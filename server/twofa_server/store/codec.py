"""Versioned record encodings: domain state <-> protobuf records, secrets sealed."""

from __future__ import annotations

from ..core.models import Attempts, Authenticator, Enforcement, Frequency, Method, Policy, UserState
from ..crypto import Sealer
from . import records_pb2 as pb
from .keys import sealed_field_context

SCHEMA = 1

_TOTP_FIELD = "totp_secret"
_PENDING_TOTP_FIELD = "totp_pending_secret"


class RecordError(Exception):
    """A stored record cannot be read by this version of twofa."""


def _ms(seconds: float | None) -> int:
    return round(seconds * 1000) if seconds else 0


def _seconds(ms: int) -> float:
    return ms / 1000


def _check_schema(schema: int, what: str) -> None:
    if schema > SCHEMA:
        raise RecordError(
            f"a {what} record has schema {schema}, newer than this twofa reads ({SCHEMA}): "
            "run the newer twofa version that wrote it"
        )


class UserCodec:
    """Encodes a user's state; the TOTP secrets are sealed and bound to the record's key."""

    def __init__(self, sealer: Sealer) -> None:
        self._sealer = sealer

    def encode(self, key: bytes, state: UserState) -> bytes:
        app, tries = state.authenticator, state.attempts
        record = pb.UserRecord(
            schema=SCHEMA,
            authenticator=pb.AuthenticatorRecord(
                sealed_secret=self._seal(key, _TOTP_FIELD, app.secret),
                last_step=app.last_step,
                enabled_at_ms=_ms(app.enabled_at),
                sealed_pending_secret=self._seal(key, _PENDING_TOTP_FIELD, app.pending_secret),
                pending_expires_at_ms=_ms(app.pending_expires_at),
            ),
            attempts=pb.AttemptRecord(
                failures=tries.failures,
                last_failure_at_ms=_ms(tries.last_failure_at),
                locked_until_ms=_ms(tries.locked_until),
            ),
        )
        return record.SerializeToString()

    def decode(self, key: bytes, data: bytes) -> UserState:
        record = pb.UserRecord.FromString(data)
        _check_schema(record.schema, "user")
        app, tries = record.authenticator, record.attempts
        return UserState(
            authenticator=Authenticator(
                secret=self._open(key, _TOTP_FIELD, app.sealed_secret),
                last_step=app.last_step,
                enabled_at=_seconds(app.enabled_at_ms) if app.enabled_at_ms else None,
                pending_secret=self._open(key, _PENDING_TOTP_FIELD, app.sealed_pending_secret),
                pending_expires_at=_seconds(app.pending_expires_at_ms),
            ),
            attempts=Attempts(
                failures=tries.failures,
                last_failure_at=_seconds(tries.last_failure_at_ms),
                locked_until=_seconds(tries.locked_until_ms),
            ),
        )

    def _seal(self, key: bytes, field: str, secret: bytes | None) -> bytes:
        if secret is None:
            return b""
        return self._sealer.seal(secret, sealed_field_context(key, field))

    def _open(self, key: bytes, field: str, sealed: bytes) -> bytes | None:
        if not sealed:
            return None
        return self._sealer.open(sealed, sealed_field_context(key, field))


def encode_policy(policy: Policy) -> bytes:
    return pb.PolicyRecord(
        schema=SCHEMA,
        enforcement=policy.enforcement.value,
        frequency=policy.frequency.value,
        trusted_device_days=policy.trusted_device_days,
        max_attempts=policy.max_attempts,
        warn_after_failures=policy.warn_after_failures,
        lockout_seconds=policy.lockout_seconds,
        warning_text=policy.warning_text,
        email_code_ttl_seconds=policy.email_code_ttl_seconds,
        allowed_methods=[m.value for m in policy.allowed_methods],
    ).SerializeToString()


def decode_policy(data: bytes) -> Policy:
    record = pb.PolicyRecord.FromString(data)
    _check_schema(record.schema, "policy")
    return Policy(
        enforcement=Enforcement(record.enforcement),
        frequency=Frequency(record.frequency),
        trusted_device_days=record.trusted_device_days,
        max_attempts=record.max_attempts,
        warn_after_failures=record.warn_after_failures,
        lockout_seconds=record.lockout_seconds,
        warning_text=record.warning_text,
        email_code_ttl_seconds=record.email_code_ttl_seconds,
        allowed_methods=tuple(Method(m) for m in record.allowed_methods),
    )
