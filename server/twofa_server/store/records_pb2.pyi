from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UserRecord(_message.Message):
    __slots__ = ("schema", "authenticator", "attempts", "email", "backup_code_digests", "devices", "replays")
    SCHEMA_FIELD_NUMBER: _ClassVar[int]
    AUTHENTICATOR_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    BACKUP_CODE_DIGESTS_FIELD_NUMBER: _ClassVar[int]
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    REPLAYS_FIELD_NUMBER: _ClassVar[int]
    schema: int
    authenticator: AuthenticatorRecord
    attempts: AttemptRecord
    email: EmailRecord
    backup_code_digests: _containers.RepeatedScalarFieldContainer[bytes]
    devices: _containers.RepeatedCompositeFieldContainer[TrustedDeviceRecord]
    replays: _containers.RepeatedCompositeFieldContainer[ReplayRecord]
    def __init__(self, schema: _Optional[int] = ..., authenticator: _Optional[_Union[AuthenticatorRecord, _Mapping]] = ..., attempts: _Optional[_Union[AttemptRecord, _Mapping]] = ..., email: _Optional[_Union[EmailRecord, _Mapping]] = ..., backup_code_digests: _Optional[_Iterable[bytes]] = ..., devices: _Optional[_Iterable[_Union[TrustedDeviceRecord, _Mapping]]] = ..., replays: _Optional[_Iterable[_Union[ReplayRecord, _Mapping]]] = ...) -> None: ...

class ReplayRecord(_message.Message):
    __slots__ = ("key_digest", "request_digest", "expires_at_ms", "result", "reason", "method", "attempts_remaining", "locked_until_ms", "warning", "backup_codes_remaining", "device_token_status", "device_token_expires_at_ms")
    KEY_DIGEST_FIELD_NUMBER: _ClassVar[int]
    REQUEST_DIGEST_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_MS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_REMAINING_FIELD_NUMBER: _ClassVar[int]
    LOCKED_UNTIL_MS_FIELD_NUMBER: _ClassVar[int]
    WARNING_FIELD_NUMBER: _ClassVar[int]
    BACKUP_CODES_REMAINING_FIELD_NUMBER: _ClassVar[int]
    DEVICE_TOKEN_STATUS_FIELD_NUMBER: _ClassVar[int]
    DEVICE_TOKEN_EXPIRES_AT_MS_FIELD_NUMBER: _ClassVar[int]
    key_digest: bytes
    request_digest: bytes
    expires_at_ms: int
    result: int
    reason: int
    method: int
    attempts_remaining: int
    locked_until_ms: int
    warning: str
    backup_codes_remaining: int
    device_token_status: int
    device_token_expires_at_ms: int
    def __init__(self, key_digest: _Optional[bytes] = ..., request_digest: _Optional[bytes] = ..., expires_at_ms: _Optional[int] = ..., result: _Optional[int] = ..., reason: _Optional[int] = ..., method: _Optional[int] = ..., attempts_remaining: _Optional[int] = ..., locked_until_ms: _Optional[int] = ..., warning: _Optional[str] = ..., backup_codes_remaining: _Optional[int] = ..., device_token_status: _Optional[int] = ..., device_token_expires_at_ms: _Optional[int] = ...) -> None: ...

class TrustedDeviceRecord(_message.Message):
    __slots__ = ("device_id", "digest", "label", "created_at_ms", "last_used_at_ms")
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    LAST_USED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    device_id: str
    digest: bytes
    label: str
    created_at_ms: int
    last_used_at_ms: int
    def __init__(self, device_id: _Optional[str] = ..., digest: _Optional[bytes] = ..., label: _Optional[str] = ..., created_at_ms: _Optional[int] = ..., last_used_at_ms: _Optional[int] = ...) -> None: ...

class AuthenticatorRecord(_message.Message):
    __slots__ = ("sealed_secret", "last_step", "enabled_at_ms", "sealed_pending_secret", "pending_expires_at_ms", "digits", "period", "algorithm", "drift_steps", "drift_candidate", "drift_candidate_step")
    SEALED_SECRET_FIELD_NUMBER: _ClassVar[int]
    LAST_STEP_FIELD_NUMBER: _ClassVar[int]
    ENABLED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    SEALED_PENDING_SECRET_FIELD_NUMBER: _ClassVar[int]
    PENDING_EXPIRES_AT_MS_FIELD_NUMBER: _ClassVar[int]
    DIGITS_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    DRIFT_STEPS_FIELD_NUMBER: _ClassVar[int]
    DRIFT_CANDIDATE_FIELD_NUMBER: _ClassVar[int]
    DRIFT_CANDIDATE_STEP_FIELD_NUMBER: _ClassVar[int]
    sealed_secret: bytes
    last_step: int
    enabled_at_ms: int
    sealed_pending_secret: bytes
    pending_expires_at_ms: int
    digits: int
    period: int
    algorithm: str
    drift_steps: int
    drift_candidate: int
    drift_candidate_step: int
    def __init__(self, sealed_secret: _Optional[bytes] = ..., last_step: _Optional[int] = ..., enabled_at_ms: _Optional[int] = ..., sealed_pending_secret: _Optional[bytes] = ..., pending_expires_at_ms: _Optional[int] = ..., digits: _Optional[int] = ..., period: _Optional[int] = ..., algorithm: _Optional[str] = ..., drift_steps: _Optional[int] = ..., drift_candidate: _Optional[int] = ..., drift_candidate_step: _Optional[int] = ...) -> None: ...

class AttemptRecord(_message.Message):
    __slots__ = ("failures", "last_failure_at_ms", "locked_until_ms", "lockouts")
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    LAST_FAILURE_AT_MS_FIELD_NUMBER: _ClassVar[int]
    LOCKED_UNTIL_MS_FIELD_NUMBER: _ClassVar[int]
    LOCKOUTS_FIELD_NUMBER: _ClassVar[int]
    failures: int
    last_failure_at_ms: int
    locked_until_ms: int
    lockouts: int
    def __init__(self, failures: _Optional[int] = ..., last_failure_at_ms: _Optional[int] = ..., locked_until_ms: _Optional[int] = ..., lockouts: _Optional[int] = ...) -> None: ...

class EmailRecord(_message.Message):
    __slots__ = ("sealed_address", "enabled_at_ms", "sealed_pending_address", "pending_expires_at_ms", "setup_code", "login_code", "sent_at_ms")
    SEALED_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ENABLED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    SEALED_PENDING_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PENDING_EXPIRES_AT_MS_FIELD_NUMBER: _ClassVar[int]
    SETUP_CODE_FIELD_NUMBER: _ClassVar[int]
    LOGIN_CODE_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_MS_FIELD_NUMBER: _ClassVar[int]
    sealed_address: bytes
    enabled_at_ms: int
    sealed_pending_address: bytes
    pending_expires_at_ms: int
    setup_code: EmailCodeRecord
    login_code: EmailCodeRecord
    sent_at_ms: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, sealed_address: _Optional[bytes] = ..., enabled_at_ms: _Optional[int] = ..., sealed_pending_address: _Optional[bytes] = ..., pending_expires_at_ms: _Optional[int] = ..., setup_code: _Optional[_Union[EmailCodeRecord, _Mapping]] = ..., login_code: _Optional[_Union[EmailCodeRecord, _Mapping]] = ..., sent_at_ms: _Optional[_Iterable[int]] = ...) -> None: ...

class EmailCodeRecord(_message.Message):
    __slots__ = ("digest", "expires_at_ms")
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_MS_FIELD_NUMBER: _ClassVar[int]
    digest: bytes
    expires_at_ms: int
    def __init__(self, digest: _Optional[bytes] = ..., expires_at_ms: _Optional[int] = ...) -> None: ...

class OutboxRecord(_message.Message):
    __slots__ = ("schema", "user_key", "kind", "sealed_recipient", "sealed_codes", "expires_at_ms", "created_at_ms", "attempts", "next_attempt_at_ms", "message_id", "brand", "sender_name", "sender_address", "language", "notice")
    SCHEMA_FIELD_NUMBER: _ClassVar[int]
    USER_KEY_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SEALED_RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    SEALED_CODES_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_MS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_ATTEMPT_AT_MS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    BRAND_FIELD_NUMBER: _ClassVar[int]
    SENDER_NAME_FIELD_NUMBER: _ClassVar[int]
    SENDER_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    NOTICE_FIELD_NUMBER: _ClassVar[int]
    schema: int
    user_key: bytes
    kind: str
    sealed_recipient: bytes
    sealed_codes: bytes
    expires_at_ms: int
    created_at_ms: int
    attempts: int
    next_attempt_at_ms: int
    message_id: str
    brand: str
    sender_name: str
    sender_address: str
    language: str
    notice: NoticeRecord
    def __init__(self, schema: _Optional[int] = ..., user_key: _Optional[bytes] = ..., kind: _Optional[str] = ..., sealed_recipient: _Optional[bytes] = ..., sealed_codes: _Optional[bytes] = ..., expires_at_ms: _Optional[int] = ..., created_at_ms: _Optional[int] = ..., attempts: _Optional[int] = ..., next_attempt_at_ms: _Optional[int] = ..., message_id: _Optional[str] = ..., brand: _Optional[str] = ..., sender_name: _Optional[str] = ..., sender_address: _Optional[str] = ..., language: _Optional[str] = ..., notice: _Optional[_Union[NoticeRecord, _Mapping]] = ...) -> None: ...

class NoticeRecord(_message.Message):
    __slots__ = ("at_ms", "method", "until_ms", "device_label", "remaining")
    AT_MS_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    UNTIL_MS_FIELD_NUMBER: _ClassVar[int]
    DEVICE_LABEL_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    at_ms: int
    method: int
    until_ms: int
    device_label: str
    remaining: int
    def __init__(self, at_ms: _Optional[int] = ..., method: _Optional[int] = ..., until_ms: _Optional[int] = ..., device_label: _Optional[str] = ..., remaining: _Optional[int] = ...) -> None: ...

class PolicyRecord(_message.Message):
    __slots__ = ("schema", "enforcement", "frequency", "trusted_device_days", "max_attempts", "warn_after_failures", "lockout_seconds", "warning_text", "email_code_ttl_seconds", "allowed_methods", "lockout_escalation", "max_lockout_seconds", "require_proof_for_changes", "email_backup_codes", "disabled_notices", "brand", "sender_name", "sender_address", "language")
    SCHEMA_FIELD_NUMBER: _ClassVar[int]
    ENFORCEMENT_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_FIELD_NUMBER: _ClassVar[int]
    TRUSTED_DEVICE_DAYS_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    WARN_AFTER_FAILURES_FIELD_NUMBER: _ClassVar[int]
    LOCKOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    WARNING_TEXT_FIELD_NUMBER: _ClassVar[int]
    EMAIL_CODE_TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_METHODS_FIELD_NUMBER: _ClassVar[int]
    LOCKOUT_ESCALATION_FIELD_NUMBER: _ClassVar[int]
    MAX_LOCKOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    REQUIRE_PROOF_FOR_CHANGES_FIELD_NUMBER: _ClassVar[int]
    EMAIL_BACKUP_CODES_FIELD_NUMBER: _ClassVar[int]
    DISABLED_NOTICES_FIELD_NUMBER: _ClassVar[int]
    BRAND_FIELD_NUMBER: _ClassVar[int]
    SENDER_NAME_FIELD_NUMBER: _ClassVar[int]
    SENDER_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    schema: int
    enforcement: int
    frequency: int
    trusted_device_days: int
    max_attempts: int
    warn_after_failures: int
    lockout_seconds: int
    warning_text: str
    email_code_ttl_seconds: int
    allowed_methods: _containers.RepeatedScalarFieldContainer[int]
    lockout_escalation: bool
    max_lockout_seconds: int
    require_proof_for_changes: bool
    email_backup_codes: bool
    disabled_notices: _containers.RepeatedScalarFieldContainer[int]
    brand: str
    sender_name: str
    sender_address: str
    language: str
    def __init__(self, schema: _Optional[int] = ..., enforcement: _Optional[int] = ..., frequency: _Optional[int] = ..., trusted_device_days: _Optional[int] = ..., max_attempts: _Optional[int] = ..., warn_after_failures: _Optional[int] = ..., lockout_seconds: _Optional[int] = ..., warning_text: _Optional[str] = ..., email_code_ttl_seconds: _Optional[int] = ..., allowed_methods: _Optional[_Iterable[int]] = ..., lockout_escalation: _Optional[bool] = ..., max_lockout_seconds: _Optional[int] = ..., require_proof_for_changes: _Optional[bool] = ..., email_backup_codes: _Optional[bool] = ..., disabled_notices: _Optional[_Iterable[int]] = ..., brand: _Optional[str] = ..., sender_name: _Optional[str] = ..., sender_address: _Optional[str] = ..., language: _Optional[str] = ...) -> None: ...
