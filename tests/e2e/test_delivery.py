"""Delivery: templates, the console mailer and the SMTP mailer against a real SMTP server."""

from __future__ import annotations

import logging
import mailbox
import socket
import stat
import time
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest

from twofa_server.crypto.secret_file import SecretFileError
from twofa_server.delivery import (
    ConsoleMailer,
    DeliveryError,
    Mail,
    MailKind,
    MailStyle,
    PermanentDeliveryError,
    SmtpMailer,
    SmtpSettings,
    TemplateError,
    Templates,
)
from twofa_server.delivery.console import MARKER

from ..support.mail_server import body
from ..support.net import free_port
from ..support.pki import Pki, make_pki
from ..support.smtp_sink import Serve, Sink

NOW = 1_800_000_000.0
CODE = "493817"
BACKUP = ("ABCD-EFGH-JKLM", "NPQR-STUV-WXYZ", "2345-6789-ABCD")
USER, PASSWORD = Sink.user, Sink.password
STYLE = MailStyle(brand="Acme", sender_name="Acme Security", from_address="security@acme.example")


def login_mail(recipient: str = "alice@example.com", expires_at: float = NOW + 600) -> Mail:
    return Mail(MailKind.LOGIN_CODE, recipient, (CODE,), expires_at, "outbox-42")


def backup_mail() -> Mail:
    return Mail(MailKind.BACKUP_CODES, "alice@example.com", BACKUP, None, "outbox-43")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A test CA and a server certificate for 127.0.0.1 and localhost, signed by it."""
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "smtp-password"
    path.write_text(PASSWORD + "\n")  # the trailing newline an editor leaves
    path.chmod(0o600)
    return path


@pytest.fixture
def templates() -> Templates:
    return Templates(STYLE)


# --- SMTP -----------------------------------------------------------------------------


def test_plain_smtp_delivers_a_rendered_login_code(
    smtp_server: Serve, templates: Templates
) -> None:
    sink = Sink()
    port = smtp_server(sink)
    mailer = SmtpMailer(SmtpSettings("127.0.0.1", port, security="none", timeout_seconds=2))

    mailer.send(templates.render(login_mail(), NOW))

    [received] = sink.received
    assert received.mail_from == "security@acme.example"
    assert received.rcpt_tos == ["alice@example.com"]
    message = received.parsed()
    assert message.get_content_type() == "multipart/alternative"
    assert message["From"] == "Acme Security <security@acme.example>"
    assert message["To"] == "alice@example.com"
    assert message["Subject"] == "Your Acme sign-in code"
    assert message["Message-ID"] == "<outbox-42@acme.example>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert parsedate_to_datetime(message["Date"]).timestamp() == NOW
    assert CODE not in message["Subject"]
    # Over SMTP, line ends are CRLF.
    text, html = body(message, "plain"), body(message, "html")
    for part in (text, html):
        assert CODE in part
        assert "expires in 10 minutes" in part
        assert "If you did not try to sign in" in part


def test_starttls_with_login_delivers(
    smtp_server: Serve, pki: Pki, password_file: Path, templates: Templates
) -> None:
    sink = Sink()
    port = smtp_server(
        sink,
        tls_context=pki.server_context(),
        require_starttls=True,
        authenticator=sink.authenticate,
        auth_required=True,
        auth_require_tls=True,
    )
    settings = SmtpSettings(
        "127.0.0.1",
        port,
        security="starttls",
        username=USER,
        password_file=password_file,
        timeout_seconds=2,
        ca_file=pki.ca_file,
    )

    SmtpMailer(settings).send(templates.render(login_mail(), NOW))

    [received] = sink.received
    assert received.login == USER.encode()
    assert CODE in body(received.parsed(), "plain")


def test_a_wrong_password_is_a_transient_error(
    smtp_server: Serve, pki: Pki, tmp_path: Path, templates: Templates
) -> None:
    # Transient (DeliveryError, not Permanent): the password belongs to the relay
    # configuration, not to the message. Once an operator fixes it and restarts, the
    # outbox can still deliver codes that have not expired; a permanent error would
    # drop every user's message while the relay is misconfigured.
    sink = Sink()
    port = smtp_server(
        sink,
        tls_context=pki.server_context(),
        require_starttls=True,
        authenticator=sink.authenticate,
        auth_required=True,
    )
    wrong = tmp_path / "wrong-password"
    wrong.write_text("not-the-password")
    wrong.chmod(0o600)
    mailer = SmtpMailer(
        SmtpSettings("127.0.0.1", port, "starttls", USER, wrong, 2, ca_file=pki.ca_file)
    )

    with pytest.raises(DeliveryError) as caught:
        mailer.send(templates.render(login_mail(), NOW))

    assert type(caught.value) is DeliveryError
    assert "535" in str(caught.value) and "smtp.password_file" in str(caught.value)
    assert "not-the-password" not in str(caught.value)
    assert sink.logins and set(sink.logins) == {USER}  # smtplib tries PLAIN, then LOGIN
    assert sink.received == []


def test_starttls_required_refuses_a_server_without_it(
    smtp_server: Serve, pki: Pki, password_file: Path, templates: Templates
) -> None:
    # A server (or a man in the middle stripping STARTTLS) that offers AUTH in plaintext.
    sink = Sink()
    port = smtp_server(sink, authenticator=sink.authenticate, auth_require_tls=False)
    mailer = SmtpMailer(
        SmtpSettings("127.0.0.1", port, "starttls", USER, password_file, 2, pki.ca_file)
    )

    with pytest.raises(DeliveryError, match="does not offer STARTTLS; refusing"):
        mailer.send(templates.render(login_mail(), NOW))

    assert sink.logins == []
    assert sink.received == []


def test_starttls_refuses_a_certificate_it_cannot_verify(
    smtp_server: Serve, pki: Pki, templates: Templates
) -> None:
    sink = Sink()
    port = smtp_server(sink, tls_context=pki.server_context(), require_starttls=True)
    # No ca_file: the system CAs do not know the test CA.
    mailer = SmtpMailer(SmtpSettings("127.0.0.1", port, "starttls", timeout_seconds=2))

    with pytest.raises(DeliveryError, match=r"STARTTLS failed: .*CERTIFICATE_VERIFY_FAILED"):
        mailer.send(templates.render(login_mail(), NOW))

    assert sink.received == []


def test_implicit_tls_delivers(
    smtp_server: Serve, pki: Pki, password_file: Path, templates: Templates
) -> None:
    sink = Sink()
    # auth_require_tls=False only because aiosmtpd 1.4 counts STARTTLS sessions as
    # encrypted but not implicit-TLS ones; this connection is TLS from the first byte.
    port = smtp_server(
        sink,
        ssl_context=pki.server_context(),
        authenticator=sink.authenticate,
        auth_require_tls=False,
    )
    mailer = SmtpMailer(SmtpSettings("127.0.0.1", port, "tls", USER, password_file, 2, pki.ca_file))

    mailer.send(templates.render(backup_mail(), NOW))

    [received] = sink.received
    assert received.login == USER.encode()
    assert BACKUP[0] in body(received.parsed(), "plain")


@pytest.mark.parametrize(
    ("reply", "permanent"),
    [("550 5.1.1 <alice@example.com>: no such user", True), ("450 4.2.0 greylisted", False)],
)
def test_a_refused_recipient_is_permanent_only_for_5xx(
    smtp_server: Serve, templates: Templates, reply: str, permanent: bool
) -> None:
    port = smtp_server(Sink(rcpt_reply=reply))
    mailer = SmtpMailer(SmtpSettings("127.0.0.1", port, "none", timeout_seconds=2))

    with pytest.raises(DeliveryError) as caught:
        mailer.send(templates.render(login_mail(), NOW))

    assert isinstance(caught.value, PermanentDeliveryError) is permanent
    assert reply[:9] in str(caught.value)  # the code and the enhanced status code
    assert "alice" not in str(caught.value)  # the recipient stays out of logs


def test_a_closed_port_fails_quickly() -> None:
    mailer = SmtpMailer(SmtpSettings("127.0.0.1", free_port(), "none", timeout_seconds=0.5))
    message = Templates(STYLE).render(login_mail(), NOW)
    started = time.monotonic()

    with pytest.raises(DeliveryError, match=r"127\.0\.0\.1:\d+ connect failed") as caught:
        mailer.send(message)

    assert not isinstance(caught.value, PermanentDeliveryError)
    assert time.monotonic() - started < 1


def test_a_silent_server_times_out(templates: Templates) -> None:
    with socket.socket() as listener:  # accepts connections but never greets
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        mailer = SmtpMailer(SmtpSettings("127.0.0.1", port, "none", timeout_seconds=0.2))
        started = time.monotonic()

        with pytest.raises(DeliveryError, match="timed out"):
            mailer.send(templates.render(login_mail(), NOW))

        assert time.monotonic() - started < 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"security": "none", "username": USER},
            "credentials are never sent over plaintext; use smtp.security = starttls or tls",
        ),
        ({"username": USER}, "smtp.username is set without smtp.password_file"),
        ({"password_file": "PASSWORD_FILE"}, "smtp.password_file is set without smtp.username"),
        ({"security": "ssl"}, "smtp.security is 'ssl'; allowed: starttls, tls, none"),
        ({"port": 0}, "smtp.port is 0; allowed: 1-65535"),
        ({"host": ""}, "smtp.host is required"),
        ({"timeout_seconds": 0}, "smtp.timeout_seconds must be"),
    ],
)
def test_bad_settings_are_refused_at_construction(
    password_file: Path, changes: dict[str, Any], message: str
) -> None:
    values: dict[str, Any] = {"host": "smtp.example.com", "port": 587, **changes}
    if values.get("password_file") == "PASSWORD_FILE":
        values["password_file"] = password_file
    with pytest.raises(ValueError, match=message):
        SmtpMailer(SmtpSettings(**values))


@pytest.mark.parametrize(
    ("content", "mode", "problem"),
    [
        (None, 0o600, "not found"),
        ("\n", 0o600, "is empty"),
        ("one\ntwo\n", 0o600, "holds more than one line"),
        # The same permission check as the keyring and the bearer token.
        (PASSWORD, 0o644, "is readable by other users"),
        (PASSWORD, 0o602, "is writable by other users"),
    ],
)
def test_an_unusable_password_file_is_refused(
    tmp_path: Path, content: str | None, mode: int, problem: str
) -> None:
    path = tmp_path / "password"
    if content is not None:
        path.write_text(content)
        path.chmod(mode)
    with pytest.raises(SecretFileError, match=f"smtp.password_file {path} {problem}"):
        SmtpMailer(SmtpSettings("smtp.example.com", 587, username=USER, password_file=path))


def test_the_password_is_not_in_the_repr(password_file: Path) -> None:
    mailer = SmtpMailer(SmtpSettings("smtp.example.com", 465, "tls", USER, password_file))
    assert PASSWORD not in repr(mailer) and USER in repr(mailer)


# --- templates ------------------------------------------------------------------------


def test_override_files_take_effect_and_missing_ones_fall_back(tmp_path: Path) -> None:
    (tmp_path / "login_code.subject.txt").write_text("Sign in to $brand\n")
    (tmp_path / "login_code.txt").write_text("Code $code for $recipient, $expires_minutes min.\n")
    templates = Templates(MailStyle(brand="Acme", template_dir=tmp_path))

    message = templates.render(login_mail(), NOW)

    assert message["Subject"] == "Sign in to Acme"
    assert body(message, "plain") == f"Code {CODE} for alice@example.com, 10 min.\n"
    assert "Enter this code in Acme to finish signing in" in body(message, "html")  # built-in


@pytest.mark.parametrize("subject", ["Your code: $code", "Your code: ${code}"])
def test_a_subject_with_the_code_is_refused(tmp_path: Path, subject: str) -> None:
    path = tmp_path / "login_code.subject.txt"
    path.write_text(subject)
    with pytest.raises(TemplateError, match=f"^{path}: a subject must not hold the code"):
        Templates(MailStyle(template_dir=tmp_path))


@pytest.mark.parametrize(
    ("filename", "content", "problem"),
    [
        ("login_code.html", "<p>$code</p><p>$colour</p>", "unknown placeholder \\$colour"),
        ("login_code.txt", "$codes\n", "unknown placeholder \\$codes"),
        ("backup_codes.txt", "$codes\nCosts $5\n", "line 2: '\\$' must start a placeholder"),
        ("setup_code.txt", "Welcome to $brand\n", "does not use \\$code"),
        ("setup_code.subject.txt", "Two\nlines", "a subject must be exactly one non-empty line"),
    ],
)
def test_a_bad_override_stops_start_up(
    tmp_path: Path, filename: str, content: str, problem: str
) -> None:
    path = tmp_path / filename
    path.write_text(content)
    with pytest.raises(TemplateError, match=f"^{path}: {problem}"):
        Templates(MailStyle(template_dir=tmp_path))


def test_a_missing_template_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=r"mail\.template_dir"):
        Templates(MailStyle(template_dir=tmp_path / "nowhere"))


def test_html_escapes_every_value_and_text_does_not() -> None:
    templates = Templates(MailStyle(brand="<b>&co"))

    message = templates.render(backup_mail(), NOW)

    html = body(message, "html")
    assert "&lt;b&gt;&amp;co" in html and "<b>&co" not in html
    assert "".join(f"<li>{code}</li>" for code in BACKUP) in html
    assert "<b>&co" in body(message, "plain")
    assert message["Subject"] == "Your new <b>&co backup codes"


def test_backup_codes_mail(templates: Templates) -> None:
    message = templates.render(backup_mail(), NOW)

    text = body(message, "plain")
    assert "\n".join(BACKUP) in text
    assert "Each code works once" in text and "replace any backup codes" in text
    assert not any(code in message["Subject"] for code in BACKUP)
    assert message["Message-ID"] == "<outbox-43@acme.example>"


def test_setup_code_mail(templates: Templates) -> None:
    mail = Mail(MailKind.SETUP_CODE, "bob@example.org", (CODE,), NOW + 50, "s-1")

    message = templates.render(mail, NOW)

    assert message["Subject"] == "Confirm your email address for Acme"
    text = body(message, "plain")
    assert CODE in text and "expires in 1 minute." in text and "ignore this message" in text


def test_render_refuses_what_must_not_be_sent(templates: Templates) -> None:
    with pytest.raises(PermanentDeliveryError, match="expired"):
        templates.render(login_mail(expires_at=NOW), NOW)
    for recipient in ("not an address", "alice@example.com\nBcc: eve@example.com"):
        with pytest.raises(PermanentDeliveryError) as caught:
            templates.render(login_mail(recipient=recipient), NOW)
        # The address itself is not quoted: delivery errors are logged.
        assert str(caught.value) == "login_code mail: the recipient is not an address"
    # The last guard: even configuration cannot put a code into a subject.
    with pytest.raises(PermanentDeliveryError, match="subject would show a code"):
        Templates(MailStyle(brand=f"Shop {CODE}")).render(login_mail(), NOW)
    with pytest.raises(ValueError, match="message_id"):
        templates.render(Mail(MailKind.LOGIN_CODE, "a@b.example", (CODE,), NOW + 60, "a b"), NOW)


def test_a_bad_sender_address_is_refused() -> None:
    with pytest.raises(ValueError, match=r"mail\.from"):
        MailStyle(from_address="twofa")


# --- console --------------------------------------------------------------------------


def test_console_mailer_logs_the_message_marked_development_only(
    caplog: pytest.LogCaptureFixture, tmp_path: Path, templates: Templates
) -> None:
    path = tmp_path / "outbox.mbox"
    mailer = ConsoleMailer(path)

    with caplog.at_level(logging.INFO, logger="twofa.mail"):
        mailer.send(templates.render(login_mail(), NOW))
        mailer.send(templates.render(backup_mail(), NOW))

    first = caplog.records[0]
    assert first.name == "twofa.mail" and first.levelno == logging.WARNING
    assert first.getMessage().startswith("DEVELOPMENT ONLY: console mailer, not sending mail")
    logged = first.getMessage()
    assert MARKER in logged and "Subject: Your Acme sign-in code" in logged and CODE in logged
    box = mailbox.mbox(path, create=False)
    try:
        saved = list(box)
    finally:
        box.close()
    assert [m["Message-ID"] for m in saved] == [
        "<outbox-42@acme.example>",
        "<outbox-43@acme.example>",
    ]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
