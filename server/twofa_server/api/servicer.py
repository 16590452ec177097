"""TwoFactorService over gRPC: each method converts, runs one use case, converts back.

The methods are coroutines of the asyncio server: a use case checks the request
and answers its Work, which the runner hands to the store (api/runner.py). The
kinds of work that come in bursts run in turns of their admission lane
(api/admission.py); QR codes are rendered in worker processes (api/rendering.py).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import grpc

from twofa.v1 import twofa_pb2 as pb
from twofa.v1 import twofa_pb2_grpc

from ..core import otp
from ..core.errors import FieldViolation, InvalidArgument
from ..core.importing import ImportResult
from ..core.service import TwoFactorService
from .admission import Admission, Kind
from .convert import (
    authenticator_entry_from_pb,
    duration,
    enum_number,
    method_from_pb,
    policy_from_pb,
    policy_to_pb,
    timestamp,
    user_ref,
    user_status_to_pb,
    verdict_fields,
)
from .rendering import RenderPool
from .runner import UseCaseRunner

Context = grpc.aio.ServicerContext[Any, Any]
Request = TypeVar("Request")
Response = TypeVar("Response")
Method = Callable[[Any, Request, Context], Awaitable[Response]]

# qr_images: (PNG, SVG) rendered; not set means both, as before the field existed.
QR_IMAGES = {
    pb.QR_IMAGES_UNSPECIFIED: (True, True),
    pb.QR_IMAGES_PNG_AND_SVG: (True, True),
    pb.QR_IMAGES_PNG: (True, False),
    pb.QR_IMAGES_SVG: (False, True),
    pb.QR_IMAGES_NONE: (False, False),
}


def admitted(kind: Kind) -> Callable[[Method[Request, Response]], Method[Request, Response]]:
    """Runs the decorated method in a turn of `kind`'s admission lane."""

    def decorate(method: Method[Request, Response]) -> Method[Request, Response]:
        @functools.wraps(method)
        async def in_turn(self: TwoFactorServicer, request: Request, context: Context) -> Response:
            async with self._admission.turn(kind):
                return await method(self, request, context)

        return in_turn

    return decorate


def _qr_images(value: int) -> tuple[bool, bool]:
    try:
        return QR_IMAGES[value]  # type: ignore[index]
    except KeyError:
        allowed = ", ".join(pb.QrImages.Name(v) for v in QR_IMAGES)
        raise InvalidArgument([FieldViolation("qr_images", f"allowed: {allowed}")]) from None


class TwoFactorServicer(twofa_pb2_grpc.TwoFactorServiceServicer):
    def __init__(
        self,
        service: TwoFactorService,
        run: UseCaseRunner,
        renderers: RenderPool,
        admission: Admission,
    ) -> None:
        self._service = service
        self._run = run
        self._renderers = renderers
        self._admission = admission

    async def GetUserStatus(
        self, request: pb.GetUserStatusRequest, context: Context
    ) -> pb.GetUserStatusResponse:
        status = await self._run.run(self._service.get_user_status(user_ref(request)))
        return pb.GetUserStatusResponse(status=user_status_to_pb(status))

    @admitted(Kind.SETUP)
    async def BeginAuthenticatorSetup(
        self, request: pb.BeginAuthenticatorSetupRequest, context: Context
    ) -> pb.BeginAuthenticatorSetupResponse:
        png_wanted, svg_wanted = _qr_images(request.qr_images)
        setup = await self._run.run(
            self._service.begin_authenticator_setup(
                user_ref(request), request.account_name, request.issuer, request.proof_code
            )
        )
        png, svg = b"", ""
        if png_wanted or svg_wanted:
            png, svg = await self._renderers.render(setup.otpauth_uri, png_wanted, svg_wanted)
        return pb.BeginAuthenticatorSetupResponse(
            secret=otp.base32_secret(setup.secret),
            otpauth_uri=setup.otpauth_uri,
            qr_png=png,
            qr_svg=svg,
            expires_at=timestamp(setup.expires_at),
            is_reset=setup.is_reset,
        )

    @admitted(Kind.SETUP)
    async def ConfirmAuthenticatorSetup(
        self, request: pb.ConfirmAuthenticatorSetupRequest, context: Context
    ) -> pb.ConfirmAuthenticatorSetupResponse:
        confirmation = await self._run.run(
            self._service.confirm_authenticator_setup(
                user_ref(request), request.code, request.notify_email, request.idempotency_key
            )
        )
        return pb.ConfirmAuthenticatorSetupResponse(
            **verdict_fields(confirmation.verdict),
            backup_codes=confirmation.backup_codes,
            replayed=confirmation.replayed,
        )

    @admitted(Kind.MAIL)
    async def BeginEmailSetup(
        self, request: pb.BeginEmailSetupRequest, context: Context
    ) -> pb.BeginEmailSetupResponse:
        sent = await self._run.run(
            self._service.begin_email_setup(user_ref(request), request.email, request.proof_code)
        )
        return pb.BeginEmailSetupResponse(
            masked_email=sent.masked_email,
            code_expires_at=timestamp(sent.code_expires_at),
            expires_at=timestamp(sent.pending_expires_at),
            resend_available_at=timestamp(sent.resend_available_at),
            is_reset=sent.is_reset,
        )

    @admitted(Kind.SETUP)
    async def ConfirmEmailSetup(
        self, request: pb.ConfirmEmailSetupRequest, context: Context
    ) -> pb.ConfirmEmailSetupResponse:
        confirmation = await self._run.run(
            self._service.confirm_email_setup(
                user_ref(request), request.code, request.idempotency_key
            )
        )
        return pb.ConfirmEmailSetupResponse(
            **verdict_fields(confirmation.verdict),
            backup_codes=confirmation.backup_codes,
            replayed=confirmation.replayed,
        )

    @admitted(Kind.MAIL)
    async def SendLoginCode(
        self, request: pb.SendLoginCodeRequest, context: Context
    ) -> pb.SendLoginCodeResponse:
        sent = await self._run.run(self._service.send_login_code(user_ref(request)))
        return pb.SendLoginCodeResponse(
            masked_email=sent.masked_email,
            code_expires_at=timestamp(sent.code_expires_at),
            resend_available_at=timestamp(sent.resend_available_at),
        )

    async def VerifyCode(
        self, request: pb.VerifyCodeRequest, context: Context
    ) -> pb.VerifyCodeResponse:
        verification = await self._run.run(
            self._service.verify_code(
                user_ref(request),
                request.code,
                method_from_pb(request.method),
                request.remember_device,
                request.device_label,
                request.idempotency_key,
            )
        )
        return pb.VerifyCodeResponse(
            **verdict_fields(verification.verdict),
            method=enum_number(verification.verdict.method),
            backup_codes_remaining=verification.backup_codes_remaining,
            device_token=verification.device_token,
            device_token_expires_at=timestamp(verification.device_token_expires_at),
            device_token_status=enum_number(verification.device_token_status),
            replayed=verification.replayed,
        )

    async def EvaluateLogin(
        self, request: pb.EvaluateLoginRequest, context: Context
    ) -> pb.EvaluateLoginResponse:
        evaluation = await self._run.run(
            self._service.evaluate_login(user_ref(request), request.device_token)
        )
        return pb.EvaluateLoginResponse(
            decision=enum_number(evaluation.decision),
            reason=enum_number(evaluation.reason),
            available_methods=[enum_number(m) for m in evaluation.available_methods],
            backup_codes_remaining=evaluation.backup_codes_remaining,
            locked_until=timestamp(evaluation.locked_until),
            retry_after=duration(evaluation.retry_after),
            device_expires_at=timestamp(evaluation.device_expires_at),
        )

    async def ListTrustedDevices(
        self, request: pb.ListTrustedDevicesRequest, context: Context
    ) -> pb.ListTrustedDevicesResponse:
        found = await self._run.run(self._service.list_trusted_devices(user_ref(request)))
        return pb.ListTrustedDevicesResponse(
            devices=[
                pb.TrustedDevice(
                    device_id=d.device_id,
                    label=d.label,
                    created_at=timestamp(d.created_at),
                    last_used_at=timestamp(d.last_used_at),
                    expires_at=timestamp(d.expires_at),
                )
                for d in found
            ]
        )

    @admitted(Kind.ADMIN)
    async def RevokeTrustedDevices(
        self, request: pb.RevokeTrustedDevicesRequest, context: Context
    ) -> pb.RevokeTrustedDevicesResponse:
        revoked = await self._run.run(
            self._service.revoke_trusted_devices(user_ref(request), request.device_id, request.all)
        )
        return pb.RevokeTrustedDevicesResponse(revoked_count=revoked)

    @admitted(Kind.ADMIN)
    async def RegenerateBackupCodes(
        self, request: pb.RegenerateBackupCodesRequest, context: Context
    ) -> pb.RegenerateBackupCodesResponse:
        codes = await self._run.run(
            self._service.regenerate_backup_codes(
                user_ref(request), request.notify_email, request.proof_code
            )
        )
        return pb.RegenerateBackupCodesResponse(
            backup_codes=codes.codes, emailed_to=codes.emailed_to
        )

    @admitted(Kind.ADMIN)
    async def DisableMethod(
        self, request: pb.DisableMethodRequest, context: Context
    ) -> pb.DisableMethodResponse:
        changed, status = await self._run.run(
            self._service.disable_method(
                user_ref(request), method_from_pb(request.method), request.proof_code
            )
        )
        return pb.DisableMethodResponse(changed=changed, status=user_status_to_pb(status))

    async def GetPolicy(
        self, request: pb.GetPolicyRequest, context: Context
    ) -> pb.GetPolicyResponse:
        info = await self._run.run(self._service.get_policy(request.tenant_id))
        return pb.GetPolicyResponse(policy=policy_to_pb(info.policy), is_default=info.is_default)

    @admitted(Kind.ADMIN)
    async def UpdatePolicy(
        self, request: pb.UpdatePolicyRequest, context: Context
    ) -> pb.UpdatePolicyResponse:
        update, unset = policy_from_pb(request.policy)
        policy = await self._run.run(
            self._service.update_policy(
                request.tenant_id, update, list(request.update_mask.paths), unset
            )
        )
        return pb.UpdatePolicyResponse(policy=policy_to_pb(policy))

    @admitted(Kind.ADMIN)
    async def UnlockUser(
        self, request: pb.UnlockUserRequest, context: Context
    ) -> pb.UnlockUserResponse:
        changed = await self._run.run(self._service.unlock_user(user_ref(request)))
        return pb.UnlockUserResponse(changed=changed)

    @admitted(Kind.ADMIN)
    async def DeleteUser(
        self, request: pb.DeleteUserRequest, context: Context
    ) -> pb.DeleteUserResponse:
        deleted = await self._run.run(self._service.delete_user(user_ref(request)))
        return pb.DeleteUserResponse(deleted=deleted)

    @admitted(Kind.ADMIN)
    async def ImportAuthenticators(
        self, request: pb.ImportAuthenticatorsRequest, context: Context
    ) -> pb.ImportAuthenticatorsResponse:
        works = self._service.import_authenticators(
            request.tenant_id,
            [authenticator_entry_from_pb(entry) for entry in request.authenticators],
            request.replace_existing,
        )
        # Each user is a transaction of its own; together they share the store's commits.
        # All of them end before the answer, so a refusal is reported after the rest.
        outcomes = await asyncio.gather(
            *(self._run.run(work) for work in works), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        results = cast("list[ImportResult]", outcomes)
        return pb.ImportAuthenticatorsResponse(
            results=[
                pb.ImportedAuthenticatorResult(user_id=entry.user_id, result=enum_number(result))
                for entry, result in zip(request.authenticators, results, strict=True)
            ]
        )
