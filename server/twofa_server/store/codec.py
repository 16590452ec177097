"""Versioned record encodings: domain state <-> protobuf records, secrets sealed.

Sealed fields (TOTP secrets, email addresses, queued codes) are bound to their
record's key and field name, so a ciphertext moved elsewhere does not open.
"""

from __future__ import annotations

import secrets

from google.protobuf.message import DecodeError

from ..core import otp
from ..core.models import (
    Attempts,
    Authenticator,
    DeviceTokenStatus,
    EmailCode,
    EmailMethod,
    Letterhead,
    Mail,
    MailKind,
    Method,
    NoticeFacts,
    Policy,
    QueuedMail,
    Replay,
    TrustedDevice,
    UserState,
    Verdict,
    VerifyReason,
    VerifyResult,
)
from ..core.policy import POLICY_FIELDS, policy_from_numbers, policy_numbers
from ..crypto import Sealer, SealError
from ..errors import OperatorError
from . import records_pb2 as pb
from .keys import sealed_field_context

SCHEMA = 1


class RecordError(OperatorError):
    """A stored record cannot be read by this version of twofa."""


# What reading one stored record can fail with: a damaged encoding, a newer schema, a
# sealed field that does not open (or whose key this instance lacks), text that is not UTF-8.
UNREADABLE = (DecodeError, RecordError, SealError, UnicodeDecodeError)


def _ms(seconds: float | None) -> int:
    return round(seconds * 1000) if seconds else 0


def _seconds(ms: int) -> float:
    return ms / 1000


def _optional_seconds(ms: int) -> float | None:
    return ms / 1000 if ms else None


def _check_schema(schema: int, what: str) -> None:
    if schema > SCHEMA:
        raise RecordError(
            f"a {what} record has schema {schema}, newer than this twofa reads ({SCHEMA}): "
            "run the newer twofa version that wrote it"
        )


def _code_record(code: EmailCode | None) -> pb.EmailCodeRecord | None:
    return (
        None
        if code is None
        else pb.EmailCodeRecord(digest=code.digest, expires_at_ms=_ms(code.expires_at))
    )


def _email_code(record: pb.EmailCodeRecord) -> EmailCode | None:
    return EmailCode(record.digest, _seconds(record.expires_at_ms)) if record.digest else None


def new_message_id() -> str:
    """A queued message's Message-ID left part: 128 random bits, so ids are unique across
    stores and instances without a shared counter, and tell nothing (not even the time)."""
    return secrets.token_hex(16)


class RecordCodec:
    """Encodes users and queued mail, sealing their secret fields with `sealer`."""

    def __init__(self, sealer: Sealer) -> None:
        self._sealer = sealer

    # --- users --------------------------------------------------------------------------

    def encode_user(self, key: bytes, state: UserState) -> bytes:
        app, tries, mail = state.authenticator, state.attempts, state.email
        record = pb.UserRecord(
            schema=SCHEMA,
            authenticator=pb.AuthenticatorRecord(
                sealed_secret=self._seal(key, "totp_secret", app.secret),
                last_step=app.last_step,
                enabled_at_ms=_ms(app.enabled_at),
                sealed_pending_secret=self._seal(key, "totp_pending_secret", app.pending_secret),
                pending_expires_at_ms=_ms(app.pending_expires_at),
                digits=app.params.digits if app.params.digits != otp.DIGITS else 0,
                period=app.params.period if app.params.period != otp.PERIOD_SECONDS else 0,
                algorithm=app.params.algorithm if app.params.algorithm != "sha1" else "",
                drift_steps=app.drift_steps,
                drift_candidate=app.drift_candidate,
                drift_candidate_step=app.drift_candidate_step,
            ),
            attempts=pb.AttemptRecord(
                failures=tries.failures,
                last_failure_at_ms=_ms(tries.last_failure_at),
                locked_until_ms=_ms(tries.locked_until),
                lockouts=tries.lockouts,
            ),
            email=pb.EmailRecord(
                sealed_address=self._seal(key, "email_address", _utf8(mail.address)),
                enabled_at_ms=_ms(mail.enabled_at),
                sealed_pending_address=self._seal(
                    key, "email_pending_address", _utf8(mail.pending_address)
                ),
                pending_expires_at_ms=_ms(mail.pending_expires_at),
                setup_code=_code_record(mail.setup_code),
                login_code=_code_record(mail.login_code),
                sent_at_ms=[_ms(sent) for sent in mail.sent_at],
            ),
            backup_code_digests=state.backup_codes,
            devices=[
                pb.TrustedDeviceRecord(
                    device_id=d.device_id,
                    digest=d.digest,
                    label=d.label,
                    created_at_ms=_ms(d.created_at),
                    last_used_at_ms=_ms(d.last_used_at),
                )
                for d in state.devices
            ],
            replays=[_replay_record(replay) for replay in state.replays],
        )
        return record.SerializeToString()

    def decode_user(self, key: bytes, data: bytes) -> UserState:
        record = pb.UserRecord.FromString(data)
        _check_schema(record.schema, "user")
        app, tries, mail = record.authenticator, record.attempts, record.email
        return UserState(
            authenticator=Authenticator(
                secret=self._open(key, "totp_secret", app.sealed_secret),
                last_step=app.last_step,
                enabled_at=_optional_seconds(app.enabled_at_ms),
                pending_secret=self._open(key, "totp_pending_secret", app.sealed_pending_secret),
                pending_expires_at=_seconds(app.pending_expires_at_ms),
                params=otp.TotpParameters(
                    app.digits or otp.DIGITS,
                    app.period or otp.PERIOD_SECONDS,
                    app.algorithm or "sha1",
                ),
                drift_steps=app.drift_steps,
                drift_candidate=app.drift_candidate if app.HasField("drift_candidate") else None,
                drift_candidate_step=app.drift_candidate_step,
            ),
            attempts=Attempts(
                failures=tries.failures,
                last_failure_at=_seconds(tries.last_failure_at_ms),
                locked_until=_seconds(tries.locked_until_ms),
                lockouts=tries.lockouts,
            ),
            email=EmailMethod(
                address=_text(self._open(key, "email_address", mail.sealed_address)),
                enabled_at=_optional_seconds(mail.enabled_at_ms),
                pending_address=_text(
                    self._open(key, "email_pending_address", mail.sealed_pending_address)
                ),
                pending_expires_at=_seconds(mail.pending_expires_at_ms),
                setup_code=_email_code(mail.setup_code),
                login_code=_email_code(mail.login_code),
                sent_at=[_seconds(sent) for sent in mail.sent_at_ms],
            ),
            backup_codes=list(record.backup_code_digests),
            devices=[
                TrustedDevice(
                    d.device_id,
                    d.digest,
                    d.label,
                    _seconds(d.created_at_ms),
                    _seconds(d.last_used_at_ms),
                )
                for d in record.devices
            ],
            replays=[_replay(replay) for replay in record.replays],
        )

    def decode_user_or_none(self, key: bytes, data: bytes) -> UserState | None:
        """The user's state, or None when the record cannot be read (see UNREADABLE)."""
        try:
            return self.decode_user(key, data)
        except UNREADABLE:
            return None

    # --- queued mail -----------------------------------------------------------------------

    def encode_mail(self, key: bytes, user_key: bytes, mail: Mail, now: float) -> bytes:
        return pb.OutboxRecord(
            schema=SCHEMA,
            user_key=user_key,
            kind=mail.kind.value,
            sealed_recipient=self._seal_text(key, "mail_recipient", mail.recipient),
            sealed_codes=self._seal_text(key, "mail_codes", "\n".join(mail.codes)),
            expires_at_ms=_ms(mail.expires_at),
            created_at_ms=_ms(now),
            next_attempt_at_ms=_ms(now),
            message_id=mail.message_id or new_message_id(),
            brand=mail.letterhead.brand,
            sender_name=mail.letterhead.sender_name,
            sender_address=mail.letterhead.sender_address,
            language=mail.letterhead.language,
            notice=_notice_record(mail.notice),
        ).SerializeToString()

    def decode_mail(self, key: bytes, record: pb.OutboxRecord) -> QueuedMail:
        """Opens a queued message parsed with `mail_record`."""
        mail = Mail(
            kind=MailKind(record.kind),
            recipient=self._open_text(key, "mail_recipient", record.sealed_recipient) or "",
            codes=tuple((self._open_text(key, "mail_codes", record.sealed_codes) or "").split()),
            expires_at=_optional_seconds(record.expires_at_ms),
            message_id=record.message_id or key.hex(),
            letterhead=Letterhead(
                record.brand, record.sender_name, record.sender_address, record.language
            ),
            notice=_notice(record.notice) if record.HasField("notice") else None,
        )
        return QueuedMail(
            id=key,
            mail=mail,
            created_at=_seconds(record.created_at_ms),
            attempts=record.attempts,
            next_attempt_at=_seconds(record.next_attempt_at_ms),
        )

    @staticmethod
    def mail_record(data: bytes) -> pb.OutboxRecord:
        """The outbox record without opening its sealed fields."""
        record = pb.OutboxRecord.FromString(data)
        _check_schema(record.schema, "outbox")
        return record

    # --- sealing ----------------------------------------------------------------------------

    def _seal(self, key: bytes, field: str, secret: bytes | None) -> bytes:
        if secret is None:
            return b""
        return self._sealer.seal(secret, sealed_field_context(key, field))

    def _open(self, key: bytes, field: str, sealed: bytes) -> bytes | None:
        if not sealed:
            return None
        return self._sealer.open(sealed, sealed_field_context(key, field))

    def _seal_text(self, key: bytes, field: str, text: str | None) -> bytes:
        return self._seal(key, field, _utf8(text))

    def _open_text(self, key: bytes, field: str, sealed: bytes) -> str | None:
        return _text(self._open(key, field, sealed))


def _notice_record(facts: NoticeFacts | None) -> pb.NoticeRecord | None:
    if facts is None:
        return None
    return pb.NoticeRecord(
        at_ms=_ms(facts.at),
        method=facts.method.value if facts.method is not None else 0,
        until_ms=_ms(facts.until),
        device_label=facts.device_label,
        remaining=facts.remaining,
    )


def _notice(record: pb.NoticeRecord) -> NoticeFacts:
    return NoticeFacts(
        at=_seconds(record.at_ms),
        method=Method(record.method) if record.method else None,
        until=_optional_seconds(record.until_ms),
        device_label=record.device_label,
        remaining=record.remaining if record.HasField("remaining") else None,
    )


def _replay_record(replay: Replay) -> pb.ReplayRecord:
    verdict = replay.verdict
    return pb.ReplayRecord(
        key_digest=replay.key_digest,
        request_digest=replay.request_digest,
        expires_at_ms=_ms(replay.expires_at),
        result=verdict.result.value,
        reason=verdict.reason.value,
        method=verdict.method.value,
        attempts_remaining=verdict.attempts_remaining,
        locked_until_ms=_ms(verdict.locked_until),
        warning=verdict.warning,
        backup_codes_remaining=replay.backup_codes_remaining,
        device_token_status=replay.device_token_status.value,
        device_token_expires_at_ms=_ms(replay.device_token_expires_at),
    )


def _replay(record: pb.ReplayRecord) -> Replay:
    verdict = Verdict(
        VerifyResult(record.result),
        VerifyReason(record.reason),
        Method(record.method),
        record.attempts_remaining,
        locked_until=_optional_seconds(record.locked_until_ms),
        warning=record.warning,
    )
    return Replay(
        record.key_digest,
        record.request_digest,
        _seconds(record.expires_at_ms),
        verdict,
        record.backup_codes_remaining,
        DeviceTokenStatus(record.device_token_status),
        _optional_seconds(record.device_token_expires_at_ms),
    )


def _utf8(text: str | None) -> bytes | None:
    return None if text is None else text.encode("utf-8")


def _text(data: bytes | None) -> str | None:
    return None if data is None else data.decode("utf-8")


def encode_policy(policy: Policy) -> bytes:
    return pb.PolicyRecord(schema=SCHEMA, **policy_numbers(policy)).SerializeToString()


def decode_policy(data: bytes) -> Policy:
    """A stored policy; a field an older twofa did not write takes its default."""
    record = pb.PolicyRecord.FromString(data)
    _check_schema(record.schema, "policy")
    fields = record.DESCRIPTOR.fields_by_name
    return policy_from_numbers(
        {
            name: getattr(record, name)
            for name in POLICY_FIELDS
            if not fields[name].has_presence or record.HasField(name)
        }
    )
