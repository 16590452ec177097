import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Method(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    METHOD_UNSPECIFIED: _ClassVar[Method]
    METHOD_AUTHENTICATOR_APP: _ClassVar[Method]
    METHOD_EMAIL: _ClassVar[Method]
    METHOD_BACKUP_CODE: _ClassVar[Method]

class QrImages(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    QR_IMAGES_UNSPECIFIED: _ClassVar[QrImages]
    QR_IMAGES_PNG_AND_SVG: _ClassVar[QrImages]
    QR_IMAGES_PNG: _ClassVar[QrImages]
    QR_IMAGES_SVG: _ClassVar[QrImages]
    QR_IMAGES_NONE: _ClassVar[QrImages]

class MethodState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    METHOD_STATE_UNSPECIFIED: _ClassVar[MethodState]
    METHOD_STATE_DISABLED: _ClassVar[MethodState]
    METHOD_STATE_PENDING: _ClassVar[MethodState]
    METHOD_STATE_ENABLED: _ClassVar[MethodState]

class VerifyResult(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VERIFY_RESULT_UNSPECIFIED: _ClassVar[VerifyResult]
    VERIFY_RESULT_ACCEPTED: _ClassVar[VerifyResult]
    VERIFY_RESULT_REJECTED: _ClassVar[VerifyResult]
    VERIFY_RESULT_LOCKED_OUT: _ClassVar[VerifyResult]

class VerifyReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VERIFY_REASON_UNSPECIFIED: _ClassVar[VerifyReason]
    VERIFY_REASON_OK: _ClassVar[VerifyReason]
    VERIFY_REASON_WRONG_CODE: _ClassVar[VerifyReason]
    VERIFY_REASON_CODE_REUSED: _ClassVar[VerifyReason]
    VERIFY_REASON_CODE_EXPIRED: _ClassVar[VerifyReason]
    VERIFY_REASON_NO_ACTIVE_CODE: _ClassVar[VerifyReason]
    VERIFY_REASON_MALFORMED_CODE: _ClassVar[VerifyReason]
    VERIFY_REASON_TOO_MANY_ATTEMPTS: _ClassVar[VerifyReason]
    VERIFY_REASON_LOCKED: _ClassVar[VerifyReason]
    VERIFY_REASON_CLOCK_DRIFT: _ClassVar[VerifyReason]

class Enforcement(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENFORCEMENT_UNSPECIFIED: _ClassVar[Enforcement]
    ENFORCEMENT_OPTIONAL: _ClassVar[Enforcement]
    ENFORCEMENT_REQUIRED: _ClassVar[Enforcement]

class Frequency(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FREQUENCY_UNSPECIFIED: _ClassVar[Frequency]
    FREQUENCY_EVERY_LOGIN: _ClassVar[Frequency]
    FREQUENCY_TRUSTED_DEVICE: _ClassVar[Frequency]

class LoginDecision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LOGIN_DECISION_UNSPECIFIED: _ClassVar[LoginDecision]
    LOGIN_DECISION_REQUIRED: _ClassVar[LoginDecision]
    LOGIN_DECISION_NOT_REQUIRED: _ClassVar[LoginDecision]
    LOGIN_DECISION_ENROLLMENT_REQUIRED: _ClassVar[LoginDecision]

class LoginReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LOGIN_REASON_UNSPECIFIED: _ClassVar[LoginReason]
    LOGIN_REASON_NOT_ENROLLED_OPTIONAL: _ClassVar[LoginReason]
    LOGIN_REASON_NOT_ENROLLED_REQUIRED: _ClassVar[LoginReason]
    LOGIN_REASON_TRUSTED_DEVICE: _ClassVar[LoginReason]
    LOGIN_REASON_EVERY_LOGIN_POLICY: _ClassVar[LoginReason]
    LOGIN_REASON_DEVICE_NOT_TRUSTED: _ClassVar[LoginReason]
    LOGIN_REASON_LOCKED_OUT: _ClassVar[LoginReason]

class DeviceTokenStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEVICE_TOKEN_STATUS_UNSPECIFIED: _ClassVar[DeviceTokenStatus]
    DEVICE_TOKEN_STATUS_ISSUED: _ClassVar[DeviceTokenStatus]
    DEVICE_TOKEN_STATUS_POLICY_EVERY_LOGIN: _ClassVar[DeviceTokenStatus]
    DEVICE_TOKEN_STATUS_CODE_NOT_ACCEPTED: _ClassVar[DeviceTokenStatus]
    DEVICE_TOKEN_STATUS_ALREADY_ISSUED: _ClassVar[DeviceTokenStatus]

class Notice(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NOTICE_UNSPECIFIED: _ClassVar[Notice]
    NOTICE_METHOD_DISABLED: _ClassVar[Notice]
    NOTICE_RESET_CONFIRMED: _ClassVar[Notice]
    NOTICE_BACKUP_CODES_REGENERATED: _ClassVar[Notice]
    NOTICE_LOCKED_OUT: _ClassVar[Notice]
    NOTICE_DEVICE_TRUSTED: _ClassVar[Notice]
    NOTICE_BACKUP_CODE_USED: _ClassVar[Notice]

class TotpAlgorithm(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TOTP_ALGORITHM_UNSPECIFIED: _ClassVar[TotpAlgorithm]
    TOTP_ALGORITHM_SHA1: _ClassVar[TotpAlgorithm]
    TOTP_ALGORITHM_SHA256: _ClassVar[TotpAlgorithm]
    TOTP_ALGORITHM_SHA512: _ClassVar[TotpAlgorithm]

class ImportResult(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    IMPORT_RESULT_UNSPECIFIED: _ClassVar[ImportResult]
    IMPORT_RESULT_IMPORTED: _ClassVar[ImportResult]
    IMPORT_RESULT_REPLACED: _ClassVar[ImportResult]
    IMPORT_RESULT_UNCHANGED: _ClassVar[ImportResult]
    IMPORT_RESULT_ALREADY_ENROLLED: _ClassVar[ImportResult]
METHOD_UNSPECIFIED: Method
METHOD_AUTHENTICATOR_APP: Method
METHOD_EMAIL: Method
METHOD_BACKUP_CODE: Method
QR_IMAGES_UNSPECIFIED: QrImages
QR_IMAGES_PNG_AND_SVG: QrImages
QR_IMAGES_PNG: QrImages
QR_IMAGES_SVG: QrImages
QR_IMAGES_NONE: QrImages
METHOD_STATE_UNSPECIFIED: MethodState
METHOD_STATE_DISABLED: MethodState
METHOD_STATE_PENDING: MethodState
METHOD_STATE_ENABLED: MethodState
VERIFY_RESULT_UNSPECIFIED: VerifyResult
VERIFY_RESULT_ACCEPTED: VerifyResult
VERIFY_RESULT_REJECTED: VerifyResult
VERIFY_RESULT_LOCKED_OUT: VerifyResult
VERIFY_REASON_UNSPECIFIED: VerifyReason
VERIFY_REASON_OK: VerifyReason
VERIFY_REASON_WRONG_CODE: VerifyReason
VERIFY_REASON_CODE_REUSED: VerifyReason
VERIFY_REASON_CODE_EXPIRED: VerifyReason
VERIFY_REASON_NO_ACTIVE_CODE: VerifyReason
VERIFY_REASON_MALFORMED_CODE: VerifyReason
VERIFY_REASON_TOO_MANY_ATTEMPTS: VerifyReason
VERIFY_REASON_LOCKED: VerifyReason
VERIFY_REASON_CLOCK_DRIFT: VerifyReason
ENFORCEMENT_UNSPECIFIED: Enforcement
ENFORCEMENT_OPTIONAL: Enforcement
ENFORCEMENT_REQUIRED: Enforcement
FREQUENCY_UNSPECIFIED: Frequency
FREQUENCY_EVERY_LOGIN: Frequency
FREQUENCY_TRUSTED_DEVICE: Frequency
LOGIN_DECISION_UNSPECIFIED: LoginDecision
LOGIN_DECISION_REQUIRED: LoginDecision
LOGIN_DECISION_NOT_REQUIRED: LoginDecision
LOGIN_DECISION_ENROLLMENT_REQUIRED: LoginDecision
LOGIN_REASON_UNSPECIFIED: LoginReason
LOGIN_REASON_NOT_ENROLLED_OPTIONAL: LoginReason
LOGIN_REASON_NOT_ENROLLED_REQUIRED: LoginReason
LOGIN_REASON_TRUSTED_DEVICE: LoginReason
LOGIN_REASON_EVERY_LOGIN_POLICY: LoginReason
LOGIN_REASON_DEVICE_NOT_TRUSTED: LoginReason
LOGIN_REASON_LOCKED_OUT: LoginReason
DEVICE_TOKEN_STATUS_UNSPECIFIED: DeviceTokenStatus
DEVICE_TOKEN_STATUS_ISSUED: DeviceTokenStatus
DEVICE_TOKEN_STATUS_POLICY_EVERY_LOGIN: DeviceTokenStatus
DEVICE_TOKEN_STATUS_CODE_NOT_ACCEPTED: DeviceTokenStatus
DEVICE_TOKEN_STATUS_ALREADY_ISSUED: DeviceTokenStatus
NOTICE_UNSPECIFIED: Notice
NOTICE_METHOD_DISABLED: Notice
NOTICE_RESET_CONFIRMED: Notice
NOTICE_BACKUP_CODES_REGENERATED: Notice
NOTICE_LOCKED_OUT: Notice
NOTICE_DEVICE_TRUSTED: Notice
NOTICE_BACKUP_CODE_USED: Notice
TOTP_ALGORITHM_UNSPECIFIED: TotpAlgorithm
TOTP_ALGORITHM_SHA1: TotpAlgorithm
TOTP_ALGORITHM_SHA256: TotpAlgorithm
TOTP_ALGORITHM_SHA512: TotpAlgorithm
IMPORT_RESULT_UNSPECIFIED: ImportResult
IMPORT_RESULT_IMPORTED: ImportResult
IMPORT_RESULT_REPLACED: ImportResult
IMPORT_RESULT_UNCHANGED: ImportResult
IMPORT_RESULT_ALREADY_ENROLLED: ImportResult

class Policy(_message.Message):
    __slots__ = ("enforcement", "frequency", "trusted_device_days", "max_attempts", "warn_after_failures", "lockout_seconds", "warning_text", "email_code_ttl_seconds", "allowed_methods", "lockout_escalation", "max_lockout_seconds", "require_proof_for_changes", "email_backup_codes", "disabled_notices", "brand", "sender_name", "sender_address", "language")
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
    enforcement: Enforcement
    frequency: Frequency
    trusted_device_days: int
    max_attempts: int
    warn_after_failures: int
    lockout_seconds: int
    warning_text: str
    email_code_ttl_seconds: int
    allowed_methods: _containers.RepeatedScalarFieldContainer[Method]
    lockout_escalation: bool
    max_lockout_seconds: int
    require_proof_for_changes: bool
    email_backup_codes: bool
    disabled_notices: _containers.RepeatedScalarFieldContainer[Notice]
    brand: str
    sender_name: str
    sender_address: str
    language: str
    def __init__(self, enforcement: _Optional[_Union[Enforcement, str]] = ..., frequency: _Optional[_Union[Frequency, str]] = ..., trusted_device_days: _Optional[int] = ..., max_attempts: _Optional[int] = ..., warn_after_failures: _Optional[int] = ..., lockout_seconds: _Optional[int] = ..., warning_text: _Optional[str] = ..., email_code_ttl_seconds: _Optional[int] = ..., allowed_methods: _Optional[_Iterable[_Union[Method, str]]] = ..., lockout_escalation: _Optional[bool] = ..., max_lockout_seconds: _Optional[int] = ..., require_proof_for_changes: _Optional[bool] = ..., email_backup_codes: _Optional[bool] = ..., disabled_notices: _Optional[_Iterable[_Union[Notice, str]]] = ..., brand: _Optional[str] = ..., sender_name: _Optional[str] = ..., sender_address: _Optional[str] = ..., language: _Optional[str] = ...) -> None: ...

class MethodStatus(_message.Message):
    __slots__ = ("method", "state", "enabled_at", "reset_pending", "pending_expires_at")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ENABLED_AT_FIELD_NUMBER: _ClassVar[int]
    RESET_PENDING_FIELD_NUMBER: _ClassVar[int]
    PENDING_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    method: Method
    state: MethodState
    enabled_at: _timestamp_pb2.Timestamp
    reset_pending: bool
    pending_expires_at: _timestamp_pb2.Timestamp
    def __init__(self, method: _Optional[_Union[Method, str]] = ..., state: _Optional[_Union[MethodState, str]] = ..., enabled_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reset_pending: _Optional[bool] = ..., pending_expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UserStatus(_message.Message):
    __slots__ = ("methods", "masked_email", "backup_codes_remaining", "failed_attempts", "locked_until", "trusted_device_count", "enrolled")
    METHODS_FIELD_NUMBER: _ClassVar[int]
    MASKED_EMAIL_FIELD_NUMBER: _ClassVar[int]
    BACKUP_CODES_REMAINING_FIELD_NUMBER: _ClassVar[int]
    FAILED_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    LOCKED_UNTIL_FIELD_NUMBER: _ClassVar[int]
    TRUSTED_DEVICE_COUNT_FIELD_NUMBER: _ClassVar[int]
    ENROLLED_FIELD_NUMBER: _ClassVar[int]
    methods: _containers.RepeatedCompositeFieldContainer[MethodStatus]
    masked_email: str
    backup_codes_remaining: int
    failed_attempts: int
    locked_until: _timestamp_pb2.Timestamp
    trusted_device_count: int
    enrolled: bool
    def __init__(self, methods: _Optional[_Iterable[_Union[MethodStatus, _Mapping]]] = ..., masked_email: _Optional[str] = ..., backup_codes_remaining: _Optional[int] = ..., failed_attempts: _Optional[int] = ..., locked_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., trusted_device_count: _Optional[int] = ..., enrolled: _Optional[bool] = ...) -> None: ...

class GetUserStatusRequest(_message.Message):
    __slots__ = ("tenant_id", "user_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    user_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class GetUserStatusResponse(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: UserStatus
    def __init__(self, status: _Optional[_Union[UserStatus, _Mapping]] = ...) -> None: ...

class BeginAuthenticatorSetupRequest(_message.Message):
    __slots__ = ("tenant_id", "user_id", "account_name", "issuer", "proof_code", "qr_images")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_NAME_FIELD_NUMBER: _ClassVar[int]
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    PROOF_CODE_FIELD_NUMBER: _ClassVar[int]
    QR_IMAGES_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    user_id: str
    account_name: str
    issuer: str
    proof_code: str
    qr_images: QrImages
    def __init__(self, tenant_id: _Optional[str] = ..., user_id: _Optional[str] = ..., account_name: _Optional[str] = ..., issuer: _Optional[str] = ..., proof_code: _Optional[str] = ..., qr_images: _Optional[_Union[QrImages, str]] = ...) -> None: ...

class BeginAuthenticatorSetupResponse(_message.Message):
    __slots__ = ("secret", "otpauth_uri", "qr_png", "qr_svg", "expires_at", "is_reset")
    SECRET_FIELD_NUMBER: _ClassVar[int]
    OTPAUTH_URI_FIELD_NUMBER: _ClassVar[int]
    QR_PNG_FIELD_NUMBER: _ClassVar[int]
    QR_SVG_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    IS_RESET_FIELD_NUMBER: _ClassVar[int]
    secret: str
    otpauth_uri: str
    qr_png: bytes
    qr_svg: str
    expires_at: _timestamp_pb2.Timestamp
    is_reset: bool
    def __init__(self, secret: _Optional[str] = ..., otpauth_uri: _Optional[str] = ..., qr_png: _Optional[bytes] = ..., qr_svg: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., is_reset: _Optional[bool] = ...) -> None: ...

class ConfirmAuthenticatorSetupRequest(_message.Message):
    __slots__ = ("tenant_id", "user_id", "code", "notify_email", "idempotency_key")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    NOTIFY_EMAIL_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    user_id: str
    code: str
    notify_email: str
    idempotency_key: str
    def __init__(self, tenant_id: _Optional[str] = ..., user_id: _Optional[str] = ..., code: _Optional[str] = ..., notify_email: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class ConfirmAuthenticatorSetupResponse(_message.Message):
    __slots__ = ("result", "reason", "attempts_remaining", "retry_after", "locked_until", "warning", "backup_codes", "replayed", "clock_offset_seconds")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_REMAINING_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_FIELD_NUMBER: _ClassVar[int]
    LOCKED_UNTIL_FIELD_NUMBER: _ClassVar[int]
    WARNING_FIELD_NUMBER: _ClassVar[int]
    BACKUP_CODES_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    CLOCK_OFFSET_SECONDS_FIELD_NUMBER: _ClassVar[int]
    result: VerifyResult
    reason: VerifyReason
    attempts_remaining: int
    retry_after: _duration_pb2.Duration
    locked_until: _timestamp_pb2.Timestamp
    warning: str
    backup_codes: _containers.RepeatedScalarFieldContainer[str]
    replayed: bool
    clock_offset_seconds: int
    def __init__(self, result: _Optional[_Union[VerifyResult, str]] = ..., reason: _Optional[_Union[VerifyReason, str]] = ..., attempts_remaining: _Optional[int] = ..., retry_after: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., locked_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., warning: _Optional[str] = ..., backup_codes: _Optional[_Iterable[str]] = ..., replayed: _Optional[bool] = ..., clock_offset_seconds: _Optional[int] = ...) -> None: ...

class BeginEmailSetupRequest(_message.Message):
    __slots__ = ("tenant_id", "user_id", "email", "proof_code")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PROOF_CODE_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    user_id: str
    email: str
    proof_code: str
    def __init__(self, tenant_id: _Optional[str] = ..., user_id: _Optional[str] = ..., email: _Optional[str] = ..., proof_code: _Optional[str] = ...) -> None: ...

class BeginEmailSetupResponse(_message.Message):
    __slots__ = ("masked_email", "code_expires_at", "expires_at", "resend_available_at", "is_reset")
    MASKED_EMAIL_FIELD_NUMBER: _ClassVar[int]
    CODE_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    RESEND_AVAILABLE_AT_FIELD_NUMBER: _ClassVar[int]
    IS_RESET_FIELD_NUMBER: _ClassVar[int]
    masked_email: str
    code_expires_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    resend_available_at: _timestamp_pb2.Timestamp
    is_reset: bool
    def __init__(self, masked_email: _Optional[str] = ..., code_expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., resend_available_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., is_reset: _Optional[bool] = ...) -> None: ...

class ConfirmEmailSetupRequest(_message.Message):
    __slots__ = ("tenant_id", "user_id", "code", "idempotency_key")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    user_id: str
    code: str
    idempotency_key: str
    def __init__(self, tenant_id: _Optional[str] = ..., user_id: _Optional[str] = ..., code: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class ConfirmEmailSetupResponse(_message.Message):
    __slots__ = ("result", "reason", "attempts_remaining", "retry_after", "locked_until", "warning", "backup_codes", "replayed", "clock_offset_seconds")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_REMAINING_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_FIELD_NUMBER: _ClassVar[int]
    LOCKED_UNTIL_FIELD_NUMBER: _ClassVar[int]
    WARNING_FIELD_NUMBER: _ClassVar[int]
    BACKUP_CODES_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    CLOCK_OFFSET_SECONDS_FIELD_NUMBER: _ClassVar[int]
    result: VerifyResult
    reason: VerifyReason
    attempts_remaining: int
    retry_after: _duration_pb2.Duration
    locked_until: _timestamp_pb2.Timestamp
    warning: str
    backup_codes: _containers.RepeatedScalarFieldContainer[str]
    replayed: bool
    clock_offset_seconds: int
    def __init__(self, result: _Optional[_Union[VerifyResult, str]] = ..., reason: _Optional[_Union[VerifyReason, str]] = ..., attempts_remaining: _Optional[int] = ..., retry_after: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., locked_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., warning: _Optional[str] = ..., backup_codes: _Optional[_Iterable[str]] = ..., replayed: _Optional[bool] = ..., clock_offset_seconds: _Optional[int] = ...) -> None: ...

class DisableMethodRequest(_message.Message):
    __slots__ = ("tenant_id", "user_id", "method", "proof_code")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    PROOF_CODE_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    user_id: str
    method: Method
    proof_code: str
    def __init__(self, tenant_id: _Optional[str] = ..., user_id: _Optional[str] = ..., method: _Optional[_Union[Method, str]] = ..., proof_code: _Optional[str] = ...) -> None: ...

class DisableMethodResponse(_message.Message):
    __slots__ = ("changed", "status")
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    changed: bool
    status: UserStatus
    def __init__(self, changed: _Optional[bool] = ..., status: _Optional[_Union[UserStatus, _Mapping]] = ...) -> None: ...

class EvaluateLoginRequest(_message.Message):
    __slots__ = ("tenant_id", "user_id", "device_token")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    DEVICE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    user_id: str
    device_token: str
    def __init__(self, tenant_id: _Optional[str] = ..., user_id: _Optional[str] = ..., device_token: _Optional[str] = ...) -> None: ...

class EvaluateLoginResponse(_message.Message):
    __slots__ = ("decision", "reason", "available_methods", "backup_codes_remaining", "locked_until", "retry_after", "device_expires_at")
    DECISION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_METHODS_FIELD_NUMBER: _ClassVar[int]
    BACKUP_CODES_REMAINING_FIELD_NUMBER: _ClassVar[int]
    LOCKED_UNTIL_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_FIELD_NUMBER: _ClassVar[int]
    DEVICE_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    decision: LoginDecision
    reason: LoginReason
    available_methods: _containers.RepeatedScalarFieldContainer[Method]
    backup_codes_remaining: int
    locked_until: _timestamp_pb2.Timestamp
    retry_after: _duration_pb2.Duration
    device_expires_at: _timestamp_pb2.Timestamp
    def __init__(self, decision: _Optional[_Union[LoginDecision, str]] = ..., reason: _Optional[_Union[LoginReason, str]] = ..., available_methods: _Optional[_Iterable[_Union[Method, str]]] = ..., backup_codes_remaining: _Optional[int] = ..., locked_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., retry_after: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., device_expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SendLoginCodeRequest(_message.Message):
    __slots__ = ("tenant_id", "user_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    user_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class SendLoginCodeResponse(_message.Message):
    __slots__ = ("masked_email", "code_expires_at", "resend_available_at")
    MASKED_EMAIL_FIELD_NUMBER: _ClassVar[int]
    CODE_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    RESEND_AVAILABLE_AT_FIELD_NUMBER: _ClassVar[int]
    masked_email: str
    code_expires_at: _timestamp_pb2.Timestamp
    resend_available_at: _timestamp_pb2.Timestamp
    def __init__(self, masked_email: _Optional[str] = ..., code_expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., resend_available_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class VerifyCodeRequest(_message.Message):
    __slots__ = ("tenant_id", "user_id", "code", "method", "remember_device", "device_label", "idempotency_key")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    REMEMBER_DEVICE_FIELD_NUMBER: _ClassVar[int]
    DEVICE_LABEL_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    user_id: str
    code: str
    method: Method
    remember_device: bool
    device_label: str
    idempotency_key: str
    def __init__(self, tenant_id: _Optional[str] = ..., user_id: _Optional[str] = ..., code: _Optional[str] = ..., method: _Optional[_Union[Method, str]] = ..., remember_device: _Optional[bool] = ..., device_label: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class VerifyCodeResponse(_message.Message):
    __slots__ = ("result", "reason", "attempts_remaining", "retry_after", "locked_until", "warning", "method", "backup_codes_remaining", "device_token", "device_token_expires_at", "device_token_status", "replayed", "clock_offset_seconds")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_REMAINING_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_FIELD_NUMBER: _ClassVar[int]
    LOCKED_UNTIL_FIELD_NUMBER: _ClassVar[int]
    WARNING_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    BACKUP_CODES_REMAINING_FIELD_NUMBER: _ClassVar[int]
    DEVICE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    DEVICE_TOKEN_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    DEVICE_TOKEN_STATUS_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    CLOCK_OFFSET_SECONDS_FIELD_NUMBER: _ClassVar[int]
    result: VerifyResult
    reason: VerifyReason
    attempts_remaining: int
    retry_after: _duration_pb2.Duration
    locked_until: _timestamp_pb2.Timestamp
    warning: str
    method: Method
    backup_codes_remaining: int
    device_token: str
    device_token_expires_at: _timestamp_pb2.Timestamp
    device_token_status: DeviceTokenStatus
    replayed: bool
    clock_offset_seconds: int
    def __init__(self, result: _Optional[_Union[VerifyResult, str]] = ..., reason: _Optional[_Union[VerifyReason, str]] = ..., attempts_remaining: _Optional[int] = ..., retry_after: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., locked_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., warning: _Optional[str] = ..., method: _Optional[_Union[Method, str]] = ..., backup_codes_remaining: _Optional[int] = ..., device_token: _Optional[str] = ..., device_token_expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., device_token_status: _Optional[_Union[DeviceTokenStatus, str]] = ..., replayed: _Optional[bool] = ..., clock_offset_seconds: _Optional[int] = ...) -> None: ...

class RegenerateBackupCodesRequest(_message.Message):
    __slots__ = ("tenant_id", "user_id", "notify_email", "proof_code")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    NOTIFY_EMAIL_FIELD_NUMBER: _ClassVar[int]
    PROOF_CODE_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    user_id: str
    notify_email: str
    proof_code: str
    def __init__(self, tenant_id: _Optional[str] = ..., user_id: _Optional[str] = ..., notify_email: _Optional[str] = ..., proof_code: _Optional[str] = ...) -> None: ...

class RegenerateBackupCodesResponse(_message.Message):
    __slots__ = ("backup_codes", "emailed_to")
    BACKUP_CODES_FIELD_NUMBER: _ClassVar[int]
    EMAILED_TO_FIELD_NUMBER: _ClassVar[int]
    backup_codes: _containers.RepeatedScalarFieldContainer[str]
    emailed_to: str
    def __init__(self, backup_codes: _Optional[_Iterable[str]] = ..., emailed_to: _Optional[str] = ...) -> None: ...

class TrustedDevice(_message.Message):
    __slots__ = ("device_id", "label", "created_at", "last_used_at", "expires_at")
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_USED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    device_id: str
    label: str
    created_at: _timestamp_pb2.Timestamp
    last_used_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, device_id: _Optional[str] = ..., label: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_used_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListTrustedDevicesRequest(_message.Message):
    __slots__ = ("tenant_id", "user_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    user_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class ListTrustedDevicesResponse(_message.Message):
    __slots__ = ("devices",)
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    devices: _containers.RepeatedCompositeFieldContainer[TrustedDevice]
    def __init__(self, devices: _Optional[_Iterable[_Union[TrustedDevice, _Mapping]]] = ...) -> None: ...

class RevokeTrustedDevicesRequest(_message.Message):
    __slots__ = ("tenant_id", "user_id", "device_id", "all")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    ALL_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    user_id: str
    device_id: str
    all: bool
    def __init__(self, tenant_id: _Optional[str] = ..., user_id: _Optional[str] = ..., device_id: _Optional[str] = ..., all: _Optional[bool] = ...) -> None: ...

class RevokeTrustedDevicesResponse(_message.Message):
    __slots__ = ("revoked_count",)
    REVOKED_COUNT_FIELD_NUMBER: _ClassVar[int]
    revoked_count: int
    def __init__(self, revoked_count: _Optional[int] = ...) -> None: ...

class GetPolicyRequest(_message.Message):
    __slots__ = ("tenant_id",)
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class GetPolicyResponse(_message.Message):
    __slots__ = ("policy", "is_default")
    POLICY_FIELD_NUMBER: _ClassVar[int]
    IS_DEFAULT_FIELD_NUMBER: _ClassVar[int]
    policy: Policy
    is_default: bool
    def __init__(self, policy: _Optional[_Union[Policy, _Mapping]] = ..., is_default: _Optional[bool] = ...) -> None: ...

class UpdatePolicyRequest(_message.Message):
    __slots__ = ("tenant_id", "policy", "update_mask")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    policy: Policy
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, tenant_id: _Optional[str] = ..., policy: _Optional[_Union[Policy, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdatePolicyResponse(_message.Message):
    __slots__ = ("policy",)
    POLICY_FIELD_NUMBER: _ClassVar[int]
    policy: Policy
    def __init__(self, policy: _Optional[_Union[Policy, _Mapping]] = ...) -> None: ...

class UnlockUserRequest(_message.Message):
    __slots__ = ("tenant_id", "user_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    user_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class UnlockUserResponse(_message.Message):
    __slots__ = ("changed",)
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    changed: bool
    def __init__(self, changed: _Optional[bool] = ...) -> None: ...

class DeleteUserRequest(_message.Message):
    __slots__ = ("tenant_id", "user_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    user_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class DeleteUserResponse(_message.Message):
    __slots__ = ("deleted",)
    DELETED_FIELD_NUMBER: _ClassVar[int]
    deleted: bool
    def __init__(self, deleted: _Optional[bool] = ...) -> None: ...

class ImportedAuthenticator(_message.Message):
    __slots__ = ("user_id", "secret_base32", "digits", "period_seconds", "algorithm", "last_used_step")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    SECRET_BASE32_FIELD_NUMBER: _ClassVar[int]
    DIGITS_FIELD_NUMBER: _ClassVar[int]
    PERIOD_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    LAST_USED_STEP_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    secret_base32: str
    digits: int
    period_seconds: int
    algorithm: TotpAlgorithm
    last_used_step: int
    def __init__(self, user_id: _Optional[str] = ..., secret_base32: _Optional[str] = ..., digits: _Optional[int] = ..., period_seconds: _Optional[int] = ..., algorithm: _Optional[_Union[TotpAlgorithm, str]] = ..., last_used_step: _Optional[int] = ...) -> None: ...

class ImportAuthenticatorsRequest(_message.Message):
    __slots__ = ("tenant_id", "authenticators", "replace_existing")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    AUTHENTICATORS_FIELD_NUMBER: _ClassVar[int]
    REPLACE_EXISTING_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    authenticators: _containers.RepeatedCompositeFieldContainer[ImportedAuthenticator]
    replace_existing: bool
    def __init__(self, tenant_id: _Optional[str] = ..., authenticators: _Optional[_Iterable[_Union[ImportedAuthenticator, _Mapping]]] = ..., replace_existing: _Optional[bool] = ...) -> None: ...

class ImportedAuthenticatorResult(_message.Message):
    __slots__ = ("user_id", "result")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    result: ImportResult
    def __init__(self, user_id: _Optional[str] = ..., result: _Optional[_Union[ImportResult, str]] = ...) -> None: ...

class ImportAuthenticatorsResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[ImportedAuthenticatorResult]
    def __init__(self, results: _Optional[_Iterable[_Union[ImportedAuthenticatorResult, _Mapping]]] = ...) -> None: ...
