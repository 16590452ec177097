"""Email that behaves (issue 14 item 6), over gRPC with a real SMTP server: Message-IDs random
and stable across retries, a relay without STARTTLS is a configuration error that keeps
mail queued, the first login code after enrollment needs no wait, backup codes need not be
emailed."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest

from twofa_server.config import Settings
from twofa_server.core.models import QueuedMail
from twofa_server.delivery import Mail, MailKind, MailStyle, Templates
from twofa_server.delivery.mail import MisconfiguredDeliveryError
from twofa_server.delivery.outbox import OutboxSender, RetryPolicy

from ..support.clock import FixedClock, at
from ..support.mail_server import (
    ADDRESS,
    T,
    TwofaWithSmtp,
    U,
    backup_codes_in,
    code_in,
    enroll_email,
    error_reason,
    send_refused,
    smtp_settings,
)
from ..support.smtp_sink import Serve, Sink
from ..support.waiting import wait_until

MESSAGE_ID = re.compile(r"^<[0-9a-f]{32}@acme\.example>$")


class FlakySink(Sink):
    """Answers the first DATA with a temporary failure (after reading the message), then
    accepts; keeps every message it read, accepted or not."""

    def __init__(self) -> None:
        super().__init__()
        self.read: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.read.append(envelope.content)
        if len(self.read) == 1:
            return "451 4.3.0 Try again later"
        return await super().handle_DATA(server, session, envelope)


def test_message_ids_are_random_in_the_sender_domain_and_the_same_for_a_retry(
    settings: Settings, clock: FixedClock, smtp_server: Serve
) -> None:
    sink = FlakySink()
    room = TwofaWithSmtp(smtp_settings(settings, smtp_server(sink)), clock, sink)
    try:
        room.client.begin_email_setup(T, U, ADDRESS)
        room.wait_for_failed_attempt()  # the first attempt got 451
        room.advance(5)
        first = room.next_mail()
        room.client.begin_email_setup(T, "bob", "bob@example.com")
        second = room.next_mail("bob@example.com")
    finally:
        room.close()

    refused, retried = (re.search(rb"^Message-ID: *(\S+)", c, re.M | re.I) for c in sink.read[:2])
    assert refused is not None and retried is not None
    assert refused.group(1) == retried.group(1)  # the retry is the same message
    assert retried.group(1).decode() == first["Message-ID"]
    assert MESSAGE_ID.match(first["Message-ID"]), first["Message-ID"]
    assert MESSAGE_ID.match(second["Message-ID"])
    assert first["Message-ID"] != second["Message-ID"]


# --- a relay without STARTTLS ------------------------------------------------------------


@pytest.fixture
def no_starttls(
    settings: Settings, clock: FixedClock, smtp_server: Serve
) -> Iterator[TwofaWithSmtp]:
    """twofa told to use STARTTLS with a relay that does not offer it, giving up (on ordinary
    failures) after two attempts."""
    sink = Sink()
    port = smtp_server(sink)  # no TLS context: no STARTTLS in its EHLO answer
    plain = smtp_settings(settings, port)
    room = TwofaWithSmtp(
        replace(
            plain,
            smtp=replace(plain.smtp, security="starttls"),
            mail_retry=RetryPolicy(max_attempts=2, base_seconds=1, max_seconds=2),
        ),
        clock,
        sink,
    )
    yield room
    room.close()


def configuration_errors(room: TwofaWithSmtp) -> float:
    value = room.app.observability.registry.get_sample_value(
        "twofa_email_configuration_errors_total", {"problem": "starttls_not_offered"}
    )
    assert value is not None
    return value


def counted(room: TwofaWithSmtp, errors: int) -> Callable[[], bool]:
    return lambda: configuration_errors(room) == errors


def test_a_relay_without_starttls_is_a_configuration_error_and_mail_stays_queued(
    no_starttls: TwofaWithSmtp, caplog: pytest.LogCaptureFixture
) -> None:
    room = no_starttls
    assert configuration_errors(room) == 0
    with caplog.at_level(logging.DEBUG, logger="twofa.outbox"):
        room.client.begin_email_setup(T, U, ADDRESS)
        for attempt in range(1, 5):  # twice max_attempts: never given up
            if attempt > 1:
                room.advance(2)  # the next try is due within 2 s (mail.retry_max_seconds)
            room.wait_for_failed_attempt()
            wait_until(counted(room, attempt), f"configuration error {attempt} to be counted")
            assert room.queued() == 1

    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]  # said once, not per attempt
    said = errors[0].getMessage()
    assert "does not offer STARTTLS" in said and "smtp.security = starttls" in said
    assert "stay queued" in said
    assert ADDRESS not in caplog.text
    assert room.sink.received == [] and room.sink.logins == []

    # Fixed (here: a relay on which plaintext is acceptable): the queued code goes out.
    # The sender is idle now (the message rescheduled, not claimed), so a restart finds it.
    room.stop()
    room.settings = replace(room.settings, smtp=replace(room.settings.smtp, security="none"))
    room.start()
    room.advance(2)
    assert len(code_in(room.next_mail())) == 6


class Relay:
    """A Mailer whose relay an operator can misconfigure and fix."""

    def __init__(self) -> None:
        self.starttls = False
        self.sent: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> None:
        if not self.starttls:
            raise MisconfiguredDeliveryError("no STARTTLS", "starttls_not_offered")
        self.sent.append(message)


class ListOutbox:
    """An Outbox over a list, for the sender alone."""

    def __init__(self, *mails: Mail) -> None:
        self.queued = {
            i.to_bytes(16, "big"): QueuedMail(i.to_bytes(16, "big"), m, 0, 0, 0)
            for i, m in enumerate(mails)
        }

    def claim_due(self, now: float, limit: int) -> list[QueuedMail]:
        return [q for q in self.queued.values() if q.next_attempt_at <= now][:limit]

    def next_attempt_at(self) -> float | None:
        return min((q.next_attempt_at for q in self.queued.values()), default=None)

    def reschedule(self, mail_id: bytes, attempts: int, next_attempt_at: float) -> None:
        self.queued[mail_id] = replace(
            self.queued[mail_id], attempts=attempts, next_attempt_at=next_attempt_at
        )

    def remove(self, mail_id: bytes) -> None:
        del self.queued[mail_id]

    def on_mail_queued(self, wake: Callable[[], None]) -> None:
        pass


def test_the_error_line_comes_once_per_episode(
    clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    codes = tuple(f"{n:04d}-AAAA-BBBB" for n in range(3))
    mails = [
        Mail(MailKind.BACKUP_CODES, f"u{n}@example.com", codes, None, f"m{n}") for n in range(3)
    ]
    relay, outbox = Relay(), ListOutbox(*mails)
    sender = OutboxSender(outbox, relay, Templates(MailStyle()), clock, jitter=lambda: 0.0)

    with caplog.at_level(logging.ERROR, logger="twofa.outbox"):
        sender.deliver_due()  # three messages, one error line
        assert len(caplog.records) == 1
        assert [q.attempts for q in outbox.queued.values()] == [0, 0, 0]  # none counted
        relay.starttls = True
        clock.advance(60)
        first = outbox.claim_due(clock.now(), 1)[0]
        sender.deliver_due(limit=1)  # fixed: one goes out ...
        assert first.id not in outbox.queued and len(relay.sent) == 1
        relay.starttls = False
        clock.advance(60)
        sender.deliver_due()  # ... and a new episode is said again
    assert len(caplog.records) == 2
    assert len(outbox.queued) == 2


# --- the cooldown after enrollment -----------------------------------------------------------


def test_the_first_login_code_right_after_email_set_up_is_sent_at_once(
    mailroom: TwofaWithSmtp, clock: FixedClock
) -> None:
    client = mailroom.client
    client.begin_email_setup(T, U, ADDRESS)
    assert client.confirm_email_setup(T, U, mailroom.next_code()).accepted
    mailroom.next_mail()  # the backup codes

    sent = client.send_login_code(T, U)  # no time has passed since the set-up code

    assert sent.resend_available_at == at(clock, 60)  # this code holds the cooldown now
    assert client.verify_code(T, U, mailroom.next_code()).accepted
    # And right after that login, the next login's code goes at once too.
    client.send_login_code(T, U)
    assert client.verify_code(T, U, mailroom.next_code()).accepted


def test_a_resend_while_the_code_is_outstanding_waits_for_the_cooldown(
    mailroom: TwofaWithSmtp,
) -> None:
    enroll_email(mailroom)
    mailroom.client.send_login_code(T, U)
    mailroom.next_code()
    mailroom.advance(59)
    refused = send_refused(mailroom.client)
    assert error_reason(refused) == "RESEND_COOLDOWN"
    assert refused.retry_after == timedelta(seconds=1)


# --- backup codes without email ------------------------------------------------------------


def test_backup_codes_can_be_left_out_of_email(mailroom: TwofaWithSmtp) -> None:
    client = mailroom.client
    client.update_policy(T, email_backup_codes=False)
    assert client.get_policy(T).policy.email_backup_codes is False

    client.begin_email_setup(T, U, ADDRESS)
    confirmation = client.confirm_email_setup(T, U, mailroom.next_code())
    assert len(confirmation.backup_codes) == 10  # returned, once
    regenerated = client.regenerate_backup_codes(T, U)
    assert len(regenerated.codes) == 10 and regenerated.emailed_to == ""

    # The only mail after the set-up code is the notice that new codes exist, without them.
    notice = mailroom.next_notice("backup_codes_regenerated")
    assert backup_codes_in(notice) == []
    mailroom.assert_no_more_mail()

    client.update_policy(T, email_backup_codes=True)
    again = client.regenerate_backup_codes(T, U)
    assert backup_codes_in(mailroom.next_mail()) == list(again.codes)
