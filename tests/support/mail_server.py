"""twofa started in this process with a real SMTP server (TwofaWithSmtp), and helpers to read
the mail it sent: the codes in a message, its text and HTML bodies, the ErrorInfo of a refusal."""

from __future__ import annotations

import re
from dataclasses import replace
from email.message import EmailMessage

import grpc
import pytest
from google.rpc.error_details_pb2 import ErrorInfo
from grpc_status import rpc_status

from twofa_client import Method, MethodStatus, ResourceExhausted, TwoFactorClient, TwoFactorError
from twofa_server.app import Application, start
from twofa_server.config import Settings
from twofa_server.delivery import MailStyle, SmtpSettings
from twofa_server.delivery.outbox import RetryPolicy

from .clock import FixedClock
from .smtp_sink import PortZeroController, Received, Sink
from .waiting import wait_until

T, U = "acme", "alice"
ADDRESS = "alice@example.com"
SENDER = "security@acme.example"
BACKUP_CODE = re.compile(r"\b[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}\b")
SIX_DIGITS = re.compile(r"(?<!\d)\d{6}(?!\d)")
WAIT_SECONDS = 10.0
# The subjects of the security notices (core/notices.py) in English, for the brand "Acme".
NOTICE_SUBJECTS = {
    "method_disabled": "A sign-in method was turned off for your Acme account",
    "reset_confirmed": "Your Acme sign-in method was replaced",
    "backup_codes_regenerated": "New backup codes were created for your Acme account",
    "locked_out": "Sign-in to Acme is paused after too many wrong codes",
    "device_trusted": "A new device is trusted for your Acme account",
    "backup_code_used": "A backup code was used for your Acme account",
}


# --- helpers ---------------------------------------------------------------------------


def body(message: EmailMessage, subtype: str) -> str:
    """The message's `subtype` ("plain" or "html") part, which must be there."""
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None and part.get_content_subtype() == subtype
    content = part.get_content()
    assert isinstance(content, str)
    return content


def text_body(message: EmailMessage) -> str:
    return body(message, "plain")


def html_body(message: EmailMessage) -> str:
    return body(message, "html")


def code_in(message: EmailMessage) -> str:
    """The one six-digit code in a message's text part."""
    codes = SIX_DIGITS.findall(text_body(message))
    assert len(codes) == 1, codes
    code: str = codes[0]
    return code


def backup_codes_in(message: EmailMessage) -> list[str]:
    """The backup codes (XXXX-XXXX-XXXX) in a message's text part, in order."""
    return BACKUP_CODE.findall(text_body(message))


def error_reason(error: TwoFactorError) -> str:
    """The google.rpc.ErrorInfo reason the server attached to a failed call."""
    call = error.__cause__
    assert isinstance(call, grpc.Call)
    status = rpc_status.from_call(call)
    assert status is not None
    info = ErrorInfo()
    for detail in status.details:
        if detail.Unpack(info):
            reason: str = info.reason
            return reason
    raise AssertionError("no ErrorInfo in the status details")


def smtp_settings(settings: Settings, port: int) -> Settings:
    """`settings`, sending through plain SMTP on 127.0.0.1:`port`, retrying within 2 s."""
    return replace(
        settings,
        mail_backend="smtp",
        smtp=SmtpSettings(host="127.0.0.1", port=port, security="none", timeout_seconds=5),
        mail=MailStyle(brand="Acme", from_address=SENDER),
        mail_retry=RetryPolicy(base_seconds=1, max_seconds=2),
    )


class TwofaWithSmtp:
    """twofa running in this process, mailing through SMTP; its client, and the sink that receives.

    `next_mail` hands out delivered messages in order; `settle` waits until nothing
    is left in the outbox, after which every message sent so far is in the sink.
    """

    def __init__(self, settings: Settings, clock: FixedClock, sink: Sink) -> None:
        self.settings = settings
        self.clock = clock
        self.sink = sink
        self._smtp: PortZeroController | None = None
        self._taken = 0
        self._running = False
        self.start()

    # --- the server ---

    def start(self) -> None:
        """Starts a server on the store (again, after stop())."""
        self.app: Application = start(self.settings, clock=self.clock)
        self.client = TwoFactorClient(self.app.addresses[0], timeout=10)
        self._running = True
        self._retries_seen = 0.0

    def stop(self) -> None:
        """Stops the server; queued mail stays in the outbox for the next start."""
        if self._running:
            self._running = False
            self.client.close()
            self.app.stop(0)

    def close(self) -> None:
        self.stop()
        if self._smtp is not None:
            self._smtp.stop()

    def now(self) -> float:
        return self.clock.now()

    def advance(self, seconds: float) -> None:
        """Moves the clock and lets the sender look at the outbox again."""
        self.clock.advance(seconds)
        self.app.outbox.wake()

    # --- the SMTP side ---

    def start_smtp(self) -> None:
        """Starts the sink on the configured port (for a server set up with SMTP down)."""
        controller = PortZeroController(
            self.sink,
            hostname="127.0.0.1",
            port=self.settings.smtp.port,
            server_hostname="localhost",
        )
        controller.start()
        self._smtp = controller

    def queued(self) -> int:
        return self.app.store.outbox_summary()[0]

    def wait_for_failed_attempt(self) -> None:
        """Waits until the sender has tried, failed and rescheduled the queued mail.

        Counted from the metric the sender bumps once the reschedule is stored: while an
        attempt is in flight, the next attempt time alone cannot tell (a claimed message
        looks rescheduled), and moving the clock then would let the attempt reschedule
        itself from the later time.
        """
        seen = self._retries_seen

        def rescheduled() -> bool:
            return self._retries() > seen

        wait_until(rescheduled, "a failed delivery attempt to be rescheduled")
        self._retries_seen = self._retries()

    def _retries(self) -> float:
        """Delivery attempts rescheduled since this server started: failed ones, and
        those held by a configuration error (each counted once the reschedule is stored)."""
        registry = self.app.observability.registry
        return sum(
            sample.value
            for family in registry.collect()
            if family.name in ("twofa_email_failures", "twofa_email_configuration_errors")
            for sample in family.samples
            if sample.name.endswith("_total")
            and sample.labels.get("outcome", "retrying") == "retrying"
        )

    def next_received(self) -> Received:
        wait_until(lambda: len(self.sink.received) > self._taken, "a message to arrive")
        received = self.sink.received[self._taken]
        self._taken += 1
        return received

    def next_mail(self, to: str = ADDRESS) -> EmailMessage:
        """The next delivered message, which must be addressed to `to` and only to it."""
        received = self.next_received()
        assert received.rcpt_tos == [to]
        message = received.parsed()
        assert message["To"] == to
        assert SENDER in message["From"]
        return message

    def next_notice(self, kind: str, to: str = ADDRESS) -> EmailMessage:
        """The next delivered message, which must be the security notice `kind` (a MailKind
        value) to `to`. Call it right after the change, before anything else mails."""
        message = self.next_mail(to)
        assert message["Subject"] == NOTICE_SUBJECTS[kind], message["Subject"]
        return message

    def next_code(self, to: str = ADDRESS) -> str:
        return code_in(self.next_mail(to))

    def settle(self) -> None:
        """Waits until the outbox is empty: everything queued so far was delivered or dropped."""
        wait_until(lambda: self.queued() == 0, "the outbox to empty")

    def assert_no_more_mail(self) -> None:
        self.settle()
        extra = [r.parsed()["Subject"] for r in self.sink.received[self._taken :]]
        assert extra == []


def enroll_email(room: TwofaWithSmtp, user: str = U, address: str = ADDRESS) -> tuple[str, ...]:
    """Turns email on for `user`, reads the mails it brings, and lets the cooldown pass.

    Returns the backup codes when this was the user's first method.
    """
    client = room.client
    client.begin_email_setup(T, user, address)
    confirmation = client.confirm_email_setup(T, user, room.next_code(address))
    assert confirmation.accepted
    if confirmation.backup_codes:
        assert backup_codes_in(room.next_mail(address)) == list(confirmation.backup_codes)
    room.advance(60)
    return confirmation.backup_codes


def email_status(client: TwoFactorClient, user: str = U) -> MethodStatus:
    status = client.get_user_status(T, user).method(Method.EMAIL)
    assert status is not None
    return status


def send_refused(client: TwoFactorClient, user: str = U) -> ResourceExhausted:
    with pytest.raises(ResourceExhausted) as refused:
        client.send_login_code(T, user)
    return refused.value
