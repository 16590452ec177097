"""A real SMTP server for tests: aiosmtpd on a free port, keeping what it receives."""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    login: bytes | None  # who the session authenticated as, if anyone

    def parsed(self) -> EmailMessage:
        message = email.message_from_bytes(self.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message


@dataclass
class Sink:
    """An aiosmtpd handler that keeps what it receives and every login attempted."""

    # The one login the server accepts.
    user: str = "relay-user"
    password: str = "correct horse battery staple"
    rcpt_reply: str | None = None  # set to refuse every recipient with this reply
    received: list[Received] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(
            Received(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                envelope.content,
                session.auth_data.login if session.authenticated else None,
            )
        )
        return "250 Message accepted for delivery"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.logins.append(login)
        # handled=False: aiosmtpd answers a failure with 535 5.7.8 itself.
        ok = (login, password) == (self.user, self.password)
        return AuthResult(success=ok, handled=False, auth_data=auth_data)


class PortZeroController(Controller):
    """Controller that binds port 0; aiosmtpd 1.4 would otherwise probe port 0 at start."""

    def _trigger_server(self) -> None:
        # Called once the server is listening, just before start() connects to it.
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


Serve = Callable[..., int]
