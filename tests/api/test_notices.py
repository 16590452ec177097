"""Security notices end to end (issue 15 item 1): each change, over gRPC, brings its notice to a
real SMTP server, in the tenant's brand and language; a tenant can turn each off; and no
notice, log line, audit line or metric holds a code, a token, a secret or an address."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from twofa_client import Frequency, InvalidArgument, Method, Notice, VerifyResult
from twofa_server.config import Settings

from ..support.clock import FixedClock
from ..support.enroll import enroll_app
from ..support.mail_server import (
    ADDRESS,
    NOTICE_SUBJECTS,
    T,
    TwofaWithSmtp,
    U,
    backup_codes_in,
    enroll_email,
    html_body,
    text_body,
)
from ..support.totp import totp_code, wrong_code

LABEL = "Firefox on Linux"


def when(clock: FixedClock, seconds: float = 0) -> str:
    return datetime.fromtimestamp(clock.now() + seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")


def bodies(message: EmailMessage) -> str:
    """What a reader sees: the subject and both bodies."""
    return "\n".join((message["Subject"], text_body(message), html_body(message)))


def words(message: EmailMessage) -> str:
    """The text body with its lines joined (the plain text is wrapped at 70 columns)."""
    return " ".join(text_body(message).split())


def assert_notice_shape(message: EmailMessage, clock: FixedClock) -> str:
    """A notice says when, what to do if it was not the reader, and is signed as automatic;
    returns its text body, lines joined."""
    text = words(message)
    assert "When:" in text and when(clock) in text
    assert "If this was not you, change your Acme password now" in text
    assert "automatic security notice from Acme" in text
    assert when(clock) in html_body(message)
    assert ADDRESS not in bodies(message)  # addressed to the user, but never quoting it
    assert message["Auto-Submitted"] == "auto-generated"
    return text


def lock_out(mailroom: TwofaWithSmtp, secret: str, user: str = U) -> None:
    for _ in range(5):
        answer = mailroom.client.verify_code(
            T, user, wrong_code(secret, mailroom.now()), method=Method.AUTHENTICATOR_APP
        )
    assert answer.result is VerifyResult.LOCKED_OUT


def test_each_change_brings_its_notice(mailroom: TwofaWithSmtp, clock: FixedClock) -> None:
    client = mailroom.client
    codes = enroll_email(mailroom)
    app = enroll_app(client, mailroom, advance=30)  # a second method: no notice
    client.update_policy(T, frequency=Frequency.TRUSTED_DEVICE, email_backup_codes=False)
    mailroom.assert_no_more_mail()

    assert client.verify_code(T, U, codes[0]).accepted
    text = assert_notice_shape(mailroom.next_notice("backup_code_used"), clock)
    assert "Backup codes left: 9" in text

    code = totp_code(app.secret, clock.now())
    trusted = client.verify_code(T, U, code, remember_device=True, device_label=LABEL)
    assert trusted.device_token is not None
    text = assert_notice_shape(mailroom.next_notice("device_trusted"), clock)
    assert f"Device: {LABEL}" in text

    client.regenerate_backup_codes(T, U)  # not emailed (policy): the notice says it happened
    message = mailroom.next_notice("backup_codes_regenerated")
    assert_notice_shape(message, clock)
    assert backup_codes_in(message) == []

    mailroom.advance(30)
    reset = client.begin_authenticator_setup(T, U)
    assert client.confirm_authenticator_setup(T, U, totp_code(reset.secret, clock.now())).accepted
    text = assert_notice_shape(mailroom.next_notice("reset_confirmed"), clock)
    assert "Method: authenticator app" in text

    mailroom.advance(30)
    lock_out(mailroom, reset.secret)
    text = assert_notice_shape(mailroom.next_notice("locked_out"), clock)
    assert f"Locked until: {when(clock, 300)}" in text

    mailroom.advance(300)
    assert client.disable_method(T, U, Method.AUTHENTICATOR_APP).changed
    text = assert_notice_shape(mailroom.next_notice("method_disabled"), clock)
    assert "Method: authenticator app" in text
    mailroom.assert_no_more_mail()


def test_notices_speak_the_tenant_language_and_brand(mailroom: TwofaWithSmtp) -> None:
    client = mailroom.client
    enroll_email(mailroom)
    client.update_policy(
        T, brand="Globex", sender_address="sicherheit@globex.example", language="de"
    )

    client.disable_method(T, U, Method.EMAIL)

    delivery = mailroom.next_received()
    assert delivery.mail_from == "sicherheit@globex.example"
    message = delivery.parsed()
    assert message["Subject"] == "Eine Anmeldemethode Ihres Globex-Kontos wurde ausgeschaltet"
    assert message["From"] == "Globex <sicherheit@globex.example>"
    text = words(message)
    assert "Methode: E-Mail-Codes" in text and "Wann:" in text
    assert "Falls Sie das nicht waren, ändern Sie jetzt Ihr Passwort für Globex" in text
    assert '<html lang="de">' in html_body(message)


def test_a_tenant_can_turn_a_notice_off(mailroom: TwofaWithSmtp) -> None:
    client = mailroom.client
    policy = client.update_policy(T, disabled_notices=[Notice.LOCKED_OUT])
    assert policy.disabled_notices == (Notice.LOCKED_OUT,)
    enroll_email(mailroom)
    app = enroll_app(client, mailroom, advance=30)

    lock_out(mailroom, app.secret)
    mailroom.assert_no_more_mail()

    mailroom.advance(300)
    client.disable_method(T, U, Method.AUTHENTICATOR_APP)  # another notice still goes
    mailroom.next_notice("method_disabled")

    with pytest.raises(InvalidArgument) as refused:
        client.update_policy(T, disabled_notices=[Notice.UNSPECIFIED])
    [violation] = refused.value.field_violations
    assert violation.field == "policy.disabled_notices"
    assert "allowed: METHOD_DISABLED, RESET_CONFIRMED" in violation.description


def test_a_user_without_an_enabled_address_gets_no_notice(mailroom: TwofaWithSmtp) -> None:
    client = mailroom.client
    app = enroll_app(client, mailroom, advance=30, notify_email=ADDRESS)  # codes go there
    mailroom.next_mail()  # the backup codes
    lock_out(mailroom, app.secret)
    mailroom.advance(300)
    client.disable_method(T, U, Method.AUTHENTICATOR_APP)
    mailroom.assert_no_more_mail()


def test_no_notice_log_audit_line_or_metric_holds_a_secret(
    mailroom: TwofaWithSmtp, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """Walks every notice's change and scans what leaves twofa besides the code mails."""
    client, clock = mailroom.client, mailroom.clock
    secrets: set[str] = set()
    caplog.set_level(logging.DEBUG)

    begun = client.begin_email_setup(T, U, ADDRESS)
    assert begun.masked_email
    setup_code = mailroom.next_code()
    secrets.add(setup_code)
    backup = client.confirm_email_setup(T, U, setup_code).backup_codes
    secrets.update(backup)
    mailroom.next_mail()  # the backup codes' own message
    app = enroll_app(client, mailroom, advance=30)
    secrets.add(app.secret)
    client.update_policy(T, frequency=Frequency.TRUSTED_DEVICE)

    notices: list[EmailMessage] = []
    mailroom.advance(60)
    client.send_login_code(T, U)
    login = mailroom.next_code()
    secrets.add(login)
    trusted = client.verify_code(T, U, login, remember_device=True, device_label=LABEL)
    assert trusted.device_token is not None
    secrets.add(trusted.device_token)
    notices.append(mailroom.next_notice("device_trusted"))
    client.verify_code(T, U, backup[0])
    notices.append(mailroom.next_notice("backup_code_used"))
    regenerated = client.regenerate_backup_codes(T, U)
    secrets.update(regenerated.codes)
    mailroom.next_mail()  # the new codes themselves
    reset = client.begin_authenticator_setup(T, U)
    secrets.add(reset.secret)
    mailroom.advance(30)
    reset_code = totp_code(reset.secret, clock.now())
    secrets.add(reset_code)
    client.confirm_authenticator_setup(T, U, reset_code)
    notices.append(mailroom.next_notice("reset_confirmed"))
    mailroom.advance(30)
    lock_out(mailroom, reset.secret)
    notices.append(mailroom.next_notice("locked_out"))
    mailroom.advance(300)
    client.update_policy(T, email_backup_codes=False)
    regenerated = client.regenerate_backup_codes(T, U)
    secrets.update(regenerated.codes)
    notices.append(mailroom.next_notice("backup_codes_regenerated"))
    client.disable_method(T, U, Method.AUTHENTICATOR_APP)
    notices.append(mailroom.next_notice("method_disabled"))
    mailroom.settle()
    assert {n["Subject"] for n in notices} == set(NOTICE_SUBJECTS.values())

    for notice in notices:
        seen = bodies(notice)
        assert leaks(seen, secrets | {ADDRESS}) == [], notice["Subject"]
    assert LABEL in bodies(notices[0])  # the device's label, never its token
    ours = [r.getMessage() for r in caplog.records if r.name.split(".")[0] == "twofa"]
    assert ours  # the outbox logged its deliveries
    logs = "\n".join(ours) + Path(settings.audit_log).read_text()
    metrics = generate_latest(mailroom.app.observability.registry).decode()
    for where, text in (("logs", logs), ("metrics", metrics)):
        assert leaks(text, secrets | {ADDRESS}) == [], where


def leaks(text: str, secrets: set[str]) -> list[str]:
    """The secrets `text` holds, also spelled without dashes or in another case; digits only
    count as a whole number (a code inside a timestamp is no leak)."""
    plain = text.replace("-", "").upper()
    found = []
    for secret in secrets:
        folded = secret.replace("-", "").upper()
        pattern = re.compile(rf"(?<![0-9]){re.escape(folded)}(?![0-9])")
        if secret in text or pattern.search(plain):
            found.append(secret)
    return sorted(found)
