"""The synchronous, typed twofa client."""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any, Self, TypedDict, TypeVar, Unpack

import grpc
from google.protobuf.field_mask_pb2 import FieldMask

from twofa.v1 import twofa_pb2 as pb
from twofa.v1 import twofa_pb2_grpc

from . import _convert as cv
from .errors import Internal, NotFound, error_from_rpc_error
from .types import (
    AuthenticatorSetup,
    BackupCodes,
    DisableResult,
    EmailSetup,
    Enforcement,
    Frequency,
    ImportedAuthenticator,
    ImportResult,
    LoginCodeSent,
    LoginEvaluation,
    Method,
    Notice,
    Policy,
    PolicyInfo,
    QrImages,
    SetupConfirmation,
    TrustedDevice,
    UserStatus,
    Verification,
)

__all__ = ["PolicyFields", "TwoFactorClient"]

_Req = TypeVar("_Req")
_Resp = TypeVar("_Resp")

_HEALTH_CHECK = "/grpc.health.v1.Health/Check"
_HEALTH_SERVING = 1


class PolicyFields(TypedDict, total=False):
    """The keyword fields ``update_policy`` accepts (any subset)."""

    enforcement: Enforcement
    frequency: Frequency
    trusted_device_days: int
    max_attempts: int
    warn_after_failures: int
    lockout_seconds: int
    warning_text: str
    email_code_ttl_seconds: int
    allowed_methods: Sequence[Method]
    lockout_escalation: bool
    max_lockout_seconds: int
    require_proof_for_changes: bool
    email_backup_codes: bool
    disabled_notices: Sequence[Notice]
    brand: str
    sender_name: str
    sender_address: str
    language: str


class TwoFactorClient:
    """A client for the twofa ``TwoFactorService``; every method raises only TwoFactorError.

    Use it as a context manager, or call :meth:`close` when done. Each call gets the
    client's ``timeout`` (seconds) as its deadline unless the call passes its own.
    """

    def __init__(
        self,
        target: str,
        *,
        timeout: float = 5.0,
        credentials: grpc.ChannelCredentials | None = None,
        token: str | None = None,
        options: Sequence[tuple[str, Any]] = (),
    ) -> None:
        """Open a channel to ``target`` ("host:port" or "unix:///path"); TLS when credentials."""
        if credentials is not None:
            channel = grpc.secure_channel(target, credentials, options=list(options))
        else:
            channel = grpc.insecure_channel(target, options=list(options))
        self._setup(channel, timeout=timeout, token=token, owns_channel=True)

    @classmethod
    def from_channel(
        cls, channel: grpc.Channel, *, timeout: float = 5.0, token: str | None = None
    ) -> Self:
        """Wrap an existing channel, which :meth:`close` leaves open (the caller owns it)."""
        self = cls.__new__(cls)
        self._setup(channel, timeout=timeout, token=token, owns_channel=False)
        return self

    def _setup(
        self, channel: grpc.Channel, *, timeout: float, token: str | None, owns_channel: bool
    ) -> None:
        self._channel = channel
        self._owns_channel = owns_channel
        self._timeout = timeout
        self._metadata: tuple[tuple[str, str], ...] | None = (
            (("authorization", f"Bearer {token}"),) if token is not None else None
        )
        self._stub = twofa_pb2_grpc.TwoFactorServiceStub(channel)
        self._health: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(
            _HEALTH_CHECK, request_serializer=None, response_deserializer=None
        )

    # ------------------------------------------------------------ lifecycle

    @property
    def channel(self) -> grpc.Channel:
        """The underlying gRPC channel."""
        return self._channel

    def close(self) -> None:
        """Close the channel if this client opened it; raises nothing."""
        if self._owns_channel:
            self._channel.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _call(
        self,
        rpc: grpc.UnaryUnaryMultiCallable[_Req, _Resp],
        request: _Req,
        timeout: float | None,
    ) -> _Resp:
        try:
            return rpc(
                request,
                timeout=self._timeout if timeout is None else timeout,
                metadata=self._metadata,
            )
        except grpc.RpcError as err:
            raise error_from_rpc_error(err) from err

    # ------------------------------------------------------------ status

    def get_user_status(
        self, tenant_id: str, user_id: str, *, timeout: float | None = None
    ) -> UserStatus:
        """Return the user's methods, lockout and counters; raises TwoFactorError on failure."""
        req = pb.GetUserStatusRequest(tenant_id=tenant_id, user_id=user_id)
        return cv.user_status(self._call(self._stub.GetUserStatus, req, timeout).status)

    # ------------------------------------------------------------ enrollment

    def begin_authenticator_setup(
        self,
        tenant_id: str,
        user_id: str,
        *,
        account_name: str = "",
        issuer: str = "",
        proof_code: str = "",
        qr_images: QrImages = QrImages.PNG_AND_SVG,
        timeout: float | None = None,
    ) -> AuthenticatorSetup:
        """Start (or reset) authenticator-app set-up and return its secret and QR code; raises
        InvalidArgument or FailedPrecondition (e.g. method not allowed, PROOF_REQUIRED) or
        another TwoFactorError. ``proof_code``: a current code, when the policy requires one.
        ``qr_images``: which images to render (``QrImages.NONE``: the URI and secret only);
        the others come back empty. A busy server raises ResourceExhausted (``retry_after``).
        """
        req = pb.BeginAuthenticatorSetupRequest(
            tenant_id=tenant_id,
            user_id=user_id,
            account_name=account_name,
            issuer=issuer,
            proof_code=proof_code,
            qr_images=cv.qr_images_to_pb(qr_images),
        )
        return cv.authenticator_setup(self._call(self._stub.BeginAuthenticatorSetup, req, timeout))

    def confirm_authenticator_setup(
        self,
        tenant_id: str,
        user_id: str,
        code: str,
        *,
        notify_email: str = "",
        idempotency_key: str = "",
        timeout: float | None = None,
    ) -> SetupConfirmation:
        """Confirm the pending app with a code it shows (a wrong code is a verdict, not an error);
        raises FailedPrecondition when no set-up is pending, or another TwoFactorError.
        With ``idempotency_key``, a retry of the same code gets the first answer (``replayed``).
        """
        req = pb.ConfirmAuthenticatorSetupRequest(
            tenant_id=tenant_id,
            user_id=user_id,
            code=code,
            notify_email=notify_email,
            idempotency_key=idempotency_key,
        )
        return cv.setup_confirmation(self._call(self._stub.ConfirmAuthenticatorSetup, req, timeout))

    def begin_email_setup(
        self,
        tenant_id: str,
        user_id: str,
        email: str,
        *,
        proof_code: str = "",
        timeout: float | None = None,
    ) -> EmailSetup:
        """Send a set-up code to ``email`` (also the email "Reset"); raises InvalidArgument,
        ResourceExhausted inside the resend cooldown, or another TwoFactorError.
        """
        req = pb.BeginEmailSetupRequest(
            tenant_id=tenant_id, user_id=user_id, email=email, proof_code=proof_code
        )
        return cv.email_setup(self._call(self._stub.BeginEmailSetup, req, timeout))

    def confirm_email_setup(
        self,
        tenant_id: str,
        user_id: str,
        code: str,
        *,
        idempotency_key: str = "",
        timeout: float | None = None,
    ) -> SetupConfirmation:
        """Confirm the pending email address with the emailed code (a wrong code is a verdict);
        raises FailedPrecondition when no set-up is pending, or another TwoFactorError.
        With ``idempotency_key``, a retry of the same code gets the first answer (``replayed``).
        """
        req = pb.ConfirmEmailSetupRequest(
            tenant_id=tenant_id, user_id=user_id, code=code, idempotency_key=idempotency_key
        )
        return cv.setup_confirmation(self._call(self._stub.ConfirmEmailSetup, req, timeout))

    def disable_method(
        self,
        tenant_id: str,
        user_id: str,
        method: Method,
        *,
        proof_code: str = "",
        timeout: float | None = None,
    ) -> DisableResult:
        """Turn a method off (idempotent) and return the status afterwards; raises
        InvalidArgument for a method other than AUTHENTICATOR_APP/EMAIL, or another TwoFactorError.
        """
        req = pb.DisableMethodRequest(
            tenant_id=tenant_id,
            user_id=user_id,
            method=cv.method_to_pb(method),
            proof_code=proof_code,
        )
        return cv.disable_result(self._call(self._stub.DisableMethod, req, timeout))

    # ------------------------------------------------------------ login

    def evaluate_login(
        self,
        tenant_id: str,
        user_id: str,
        *,
        device_token: str = "",
        timeout: float | None = None,
    ) -> LoginEvaluation:
        """Decide whether this login needs a second factor given the device token, if any;
        raises InvalidArgument or another TwoFactorError.
        """
        req = pb.EvaluateLoginRequest(
            tenant_id=tenant_id, user_id=user_id, device_token=device_token
        )
        return cv.login_evaluation(self._call(self._stub.EvaluateLogin, req, timeout))

    def send_login_code(
        self, tenant_id: str, user_id: str, *, timeout: float | None = None
    ) -> LoginCodeSent:
        """Email a login code to the user's enabled address; raises FailedPrecondition when email
        is not enabled, ResourceExhausted inside the resend cooldown, or another TwoFactorError.
        """
        req = pb.SendLoginCodeRequest(tenant_id=tenant_id, user_id=user_id)
        return cv.login_code_sent(self._call(self._stub.SendLoginCode, req, timeout))

    def verify_code(
        self,
        tenant_id: str,
        user_id: str,
        code: str,
        *,
        method: Method = Method.UNSPECIFIED,
        remember_device: bool = False,
        device_label: str = "",
        idempotency_key: str = "",
        timeout: float | None = None,
    ) -> Verification:
        """Check an app, email or backup code and return the verdict (a wrong code is not an
        error); raises FailedPrecondition when the user has no method, or another TwoFactorError.
        With ``idempotency_key`` (e.g. a UUID per submission), a retry of the same code within
        five minutes gets the first answer (``replayed``) and counts no second attempt.
        """
        req = pb.VerifyCodeRequest(
            tenant_id=tenant_id,
            user_id=user_id,
            code=code,
            method=cv.method_to_pb(method),
            remember_device=remember_device,
            device_label=device_label,
            idempotency_key=idempotency_key,
        )
        return cv.verification(self._call(self._stub.VerifyCode, req, timeout))

    # ------------------------------------------------------------ recovery and devices

    def regenerate_backup_codes(
        self,
        tenant_id: str,
        user_id: str,
        *,
        notify_email: str = "",
        proof_code: str = "",
        timeout: float | None = None,
    ) -> BackupCodes:
        """Replace the user's backup codes and return the new set (shown once); they are
        emailed to the enabled address, else to `notify_email`. Raises FailedPrecondition
        when no method is enabled, or another TwoFactorError.
        """
        req = pb.RegenerateBackupCodesRequest(
            tenant_id=tenant_id, user_id=user_id, notify_email=notify_email, proof_code=proof_code
        )
        return cv.backup_codes(self._call(self._stub.RegenerateBackupCodes, req, timeout))

    def list_trusted_devices(
        self, tenant_id: str, user_id: str, *, timeout: float | None = None
    ) -> list[TrustedDevice]:
        """List the user's valid trusted devices, newest first; raises TwoFactorError on failure."""
        req = pb.ListTrustedDevicesRequest(tenant_id=tenant_id, user_id=user_id)
        resp = self._call(self._stub.ListTrustedDevices, req, timeout)
        return [cv.trusted_device(d) for d in resp.devices]

    def revoke_trusted_devices(
        self,
        tenant_id: str,
        user_id: str,
        *,
        device_id: str = "",
        all: bool = False,
        timeout: float | None = None,
    ) -> int:
        """Revoke one trusted device (``device_id``) or ``all`` and return how many were revoked;
        raises InvalidArgument unless exactly one is given, or another TwoFactorError.
        """
        req = pb.RevokeTrustedDevicesRequest(
            tenant_id=tenant_id, user_id=user_id, device_id=device_id, all=all
        )
        return self._call(self._stub.RevokeTrustedDevices, req, timeout).revoked_count

    # ------------------------------------------------------------ policy

    def get_policy(self, tenant_id: str, *, timeout: float | None = None) -> PolicyInfo:
        """Return the tenant's policy in force and whether it is the default; raises
        TwoFactorError on failure.
        """
        req = pb.GetPolicyRequest(tenant_id=tenant_id)
        return cv.policy_info(self._call(self._stub.GetPolicy, req, timeout))

    def update_policy(
        self,
        tenant_id: str,
        policy: Policy | None = None,
        *,
        update_mask: Sequence[str] = (),
        timeout: float | None = None,
        **fields: Unpack[PolicyFields],
    ) -> Policy:
        """Change the tenant's policy and return the policy now in force; raises InvalidArgument
        for an out-of-range value (nothing changes), or another TwoFactorError.

        Pass either a whole ``policy`` (replaced entirely unless ``update_mask`` names the
        fields to change) or keyword ``fields`` (only those change: ``max_attempts=3``).
        A TypeError is raised for both, neither, or an unknown field.
        """
        if policy is not None and fields:
            raise TypeError("pass either a Policy or keyword fields, not both")
        if policy is not None:
            message = cv.policy_to_pb(policy)
            paths = list(update_mask)
        elif fields:
            message = cv.policy_fields_to_pb(dict(fields))
            paths = list(update_mask) if update_mask else list(fields)
        else:
            raise TypeError("update_policy() needs a Policy or at least one keyword field")
        req = pb.UpdatePolicyRequest(
            tenant_id=tenant_id, policy=message, update_mask=FieldMask(paths=paths)
        )
        return cv.policy(self._call(self._stub.UpdatePolicy, req, timeout).policy)

    # ------------------------------------------------------------ administration

    def unlock_user(self, tenant_id: str, user_id: str, *, timeout: float | None = None) -> bool:
        """Clear the user's lockout and failed attempts; returns whether there was anything to
        clear; raises TwoFactorError on failure.
        """
        req = pb.UnlockUserRequest(tenant_id=tenant_id, user_id=user_id)
        return self._call(self._stub.UnlockUser, req, timeout).changed

    def delete_user(self, tenant_id: str, user_id: str, *, timeout: float | None = None) -> bool:
        """Remove every record of the user (idempotent); returns whether any existed; raises
        TwoFactorError on failure.
        """
        req = pb.DeleteUserRequest(tenant_id=tenant_id, user_id=user_id)
        return self._call(self._stub.DeleteUser, req, timeout).deleted

    def import_authenticators(
        self,
        tenant_id: str,
        authenticators: Sequence[ImportedAuthenticator],
        *,
        replace_existing: bool = False,
        timeout: float | None = None,
    ) -> list[tuple[str, ImportResult]]:
        """Move users' existing authenticator apps in (1-1000 per call); returns each user's
        result in order. One bad entry makes the call InvalidArgument and stores nothing.
        """
        req = pb.ImportAuthenticatorsRequest(
            tenant_id=tenant_id,
            authenticators=[cv.imported_authenticator_to_pb(a) for a in authenticators],
            replace_existing=replace_existing,
        )
        resp = self._call(self._stub.ImportAuthenticators, req, timeout)
        return [(r.user_id, ImportResult(r.result)) for r in resp.results]

    # ------------------------------------------------------------ health

    def health_check(self, service: str = "", *, timeout: float | None = None) -> bool:
        """Ask the standard grpc.health.v1 service whether ``service`` ("" = the server) is
        SERVING; returns False when it is not or is unknown (NOT_FOUND), raises TwoFactorError
        when the call fails otherwise (e.g. Unavailable).
        """
        try:
            raw = self._call(self._health, _encode_health_request(service), timeout)
        except NotFound:
            return False
        try:
            status = _decode_health_status(raw)
        except ValueError as err:
            raise Internal(grpc.StatusCode.INTERNAL, "malformed health check response") from err
        return status == _HEALTH_SERVING


# ------------------------------------------------------------ hand-coded health protobufs


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _encode_health_request(service: str) -> bytes:
    """HealthCheckRequest{service = 1 (string)} in wire format."""
    if not service:
        return b""
    data = service.encode("utf-8")
    return b"\x0a" + _encode_varint(len(data)) + data


def _decode_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _decode_health_status(data: bytes) -> int:
    """The ``status`` (field 1, enum) of a HealthCheckResponse; 0 (UNKNOWN) when absent."""
    status = 0
    pos = 0
    while pos < len(data):
        key, pos = _decode_varint(data, pos)
        field, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, pos = _decode_varint(data, pos)
            if field == 1:
                status = value
        elif wire_type == 2:
            length, pos = _decode_varint(data, pos)
            pos += length
        elif wire_type == 1:  # fixed64
            pos += 8
        elif wire_type == 5:  # fixed32
            pos += 4
        else:
            raise ValueError(f"unsupported wire type {wire_type}")
    if pos > len(data):
        raise ValueError("truncated message")
    return status
