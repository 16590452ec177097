"""The SMTP mailer: STARTTLS or implicit TLS to a relay, never credentials in plaintext."""

from __future__ import annotations

import math
import re
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Literal

from ..crypto.secret_file import read_secret_line
from .mail import DeliveryError, MisconfiguredDeliveryError, PermanentDeliveryError

Security = Literal["starttls", "tls", "none"]
_SECURITY_VALUES = ("starttls", "tls", "none")
# RFC 3463 enhanced status code at the start of a reply, e.g. "5.1.1".
_ENHANCED_STATUS = re.compile(rb"^\s*([245]\.\d{1,3}\.\d{1,3})\b")


@dataclass(frozen=True)
class SmtpSettings:
    """How to reach the SMTP relay (the smtp.* settings).

    Attributes:
        host: relay host name or address.
        port: relay port (587 for starttls, 465 for tls, 25 for a local relay).
        security: "starttls" (upgrade, and refuse a server that cannot), "tls" (implicit
            TLS from the first byte) or "none" (plaintext, only without credentials).
        username: login name; empty for no login.
        password_file: file holding the password; required with a username.
        timeout_seconds: limit on connecting and on each reply from the server.
        ca_file: CA certificates to verify the server with, instead of the system's.
    """

    host: str = ""
    port: int = 587
    security: Security = "starttls"
    username: str = ""
    password_file: Path | None = None
    timeout_seconds: float = 10.0
    ca_file: Path | None = None


class SmtpMailer:
    """Sends each message over its own SMTP connection (volumes are small; no pool to go stale).

    Safe to call from several threads at once: it keeps no connection between sends.
    """

    def __init__(self, settings: SmtpSettings) -> None:
        """Checks the settings and reads the password file and CA file once.

        Args:
            settings: the relay and how to talk to it.

        Raises:
            ValueError: a setting is wrong; the one-line message names it.
        """
        _check(settings)
        self._settings = settings
        self._where = f"{settings.host}:{settings.port}"
        self._password = (
            read_secret_line(settings.password_file, "smtp.password_file")
            if settings.password_file
            else ""
        )
        self._tls = None if settings.security == "none" else _tls_context(settings.ca_file)
        # smtplib would look the local name up in DNS on every connection; once is enough.
        self._local_hostname = _local_hostname()

    def __repr__(self) -> str:
        s = self._settings
        return (
            f"SmtpMailer(host={s.host!r}, port={s.port}, "
            f"security={s.security!r}, username={s.username!r})"
        )

    def send(self, message: EmailMessage) -> None:
        """Sends `message` to its To recipients over a new connection.

        Args:
            message: the complete message.

        Raises:
            PermanentDeliveryError: the message has no recipient, or the server refused
                the recipient or the message with a 5xx reply.
            MisconfiguredDeliveryError: the server does not offer STARTTLS while
                smtp.security = starttls.
            DeliveryError: anything else: no connection, timeout, TLS failure, login
                refused, a 4xx reply, or the sender refused.
        """
        if not any(address for _, address in getaddresses(message.get_all("To", []))):
            raise PermanentDeliveryError("the message has no To address")
        step = "connect"
        try:
            smtp = self._connect()
            try:
                step = "EHLO"
                smtp.ehlo()
                if self._settings.security == "starttls":
                    step = "STARTTLS"
                    self._start_tls(smtp)
                if self._settings.username:
                    step = "AUTH"
                    smtp.login(self._settings.username, self._password)
                step = "send"
                refused = smtp.send_message(message)
                if refused:
                    raise _refused(self._where, refused)
            finally:
                _quit(smtp)
        except DeliveryError:
            raise
        # `from None` throughout: the smtplib exceptions carry server replies that may
        # quote the recipient, which is kept encrypted at rest and must not reach logs.
        except smtplib.SMTPRecipientsRefused as error:
            raise _refused(self._where, error.recipients) from None
        except smtplib.SMTPResponseException as error:
            raise self._reply_error(step, error) from None
        except smtplib.SMTPNotSupportedError as error:
            # During "send" this is a message the server cannot take (an internationalised
            # address without SMTPUTF8); earlier it is the server lacking AUTH.
            kind = PermanentDeliveryError if step == "send" else DeliveryError
            raise kind(f"SMTP {self._where} {step} failed: {error}") from None
        except (smtplib.SMTPException, OSError) as error:
            # OSError covers refused connections, DNS failures, timeouts and ssl.SSLError.
            reason = str(error) or type(error).__name__
            raise DeliveryError(f"SMTP {self._where} {step} failed: {reason}") from None

    def _connect(self) -> smtplib.SMTP:
        s = self._settings
        if s.security == "tls":
            return smtplib.SMTP_SSL(
                s.host,
                s.port,
                local_hostname=self._local_hostname,
                timeout=s.timeout_seconds,
                context=self._tls,
            )
        return smtplib.SMTP(
            s.host, s.port, local_hostname=self._local_hostname, timeout=s.timeout_seconds
        )

    def _start_tls(self, smtp: smtplib.SMTP) -> None:
        # Checked here, not left to smtplib, so the refusal says what it protects against;
        # nothing else (no AUTH, no MAIL) is sent on this connection.
        if not smtp.has_extn("starttls"):
            raise MisconfiguredDeliveryError(
                f"SMTP {self._where} does not offer STARTTLS; refusing to send in plaintext "
                "(smtp.security = starttls): turn STARTTLS on at the relay, or use "
                "smtp.security = tls for a relay with implicit TLS (port 465)",
                "starttls_not_offered",
            )
        smtp.starttls(context=self._tls)
        smtp.ehlo()  # the server forgets the first EHLO once TLS starts (RFC 3207)

    def _reply_error(self, step: str, error: smtplib.SMTPResponseException) -> DeliveryError:
        code = error.smtp_code
        status = _enhanced_status(error.smtp_error)
        if isinstance(error, smtplib.SMTPAuthenticationError):
            return DeliveryError(
                f"SMTP {self._where} refused the login ({code}{status}); "
                "check smtp.username and smtp.password_file"
            )
        # Only a 5xx about this message is permanent. A 5xx at connect, EHLO, STARTTLS or
        # MAIL FROM is about the relay or our configuration, which an operator can fix
        # while the code is still valid, so the outbox should keep retrying.
        permanent = (
            step == "send" and code >= 500 and not isinstance(error, smtplib.SMTPSenderRefused)
        )
        kind = PermanentDeliveryError if permanent else DeliveryError
        what = "refused the sender" if isinstance(error, smtplib.SMTPSenderRefused) else "replied"
        return kind(f"SMTP {self._where} {what} {code}{status} during {step}")


def _quit(smtp: smtplib.SMTP) -> None:
    # Not `with smtplib.SMTP(...)`: its exit raises when QUIT gets an odd reply, which
    # would turn a message the server already accepted into a failure, and a retry
    # into a duplicate.
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _refused(where: str, recipients: dict[str, tuple[int, bytes]]) -> DeliveryError:
    codes = sorted({code for code, _ in recipients.values()})
    statuses = sorted({_enhanced_status(reply) for _, reply in recipients.values()})
    # A 4xx (greylisting, a full mailbox) may pass later; only all-5xx is final.
    kind = PermanentDeliveryError if all(code >= 500 for code in codes) else DeliveryError
    shown = ", ".join(str(code) for code in codes) + "".join(statuses)
    return kind(f"SMTP {where} refused the recipient ({shown})")


def _enhanced_status(reply: bytes | str) -> str:
    raw = reply.encode("utf-8", "replace") if isinstance(reply, str) else reply
    match = _ENHANCED_STATUS.match(raw)
    return f" {match.group(1).decode('ascii')}" if match else ""


def _check(settings: SmtpSettings) -> None:
    if not settings.host or any(ch.isspace() for ch in settings.host):
        raise ValueError("smtp.host is required when mail.backend = smtp (a host name or address)")
    if not 1 <= settings.port <= 65535:
        raise ValueError(f"smtp.port is {settings.port}; allowed: 1-65535")
    if settings.security not in _SECURITY_VALUES:
        raise ValueError(f"smtp.security is {settings.security!r}; allowed: starttls, tls, none")
    if not (math.isfinite(settings.timeout_seconds) and settings.timeout_seconds > 0):
        raise ValueError("smtp.timeout_seconds must be a number of seconds above 0")
    has_credentials = bool(settings.username) or settings.password_file is not None
    if settings.security == "none" and has_credentials:
        raise ValueError(
            "smtp.username/smtp.password_file are set with smtp.security = none: credentials "
            "are never sent over plaintext; use smtp.security = starttls or tls"
        )
    if settings.username and settings.password_file is None:
        raise ValueError("smtp.username is set without smtp.password_file; set both or neither")
    if settings.password_file is not None and not settings.username:
        raise ValueError("smtp.password_file is set without smtp.username; set both or neither")


def _tls_context(ca_file: Path | None) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ValueError) as error:  # ssl.SSLError is an OSError
        reason = getattr(error, "strerror", None) or str(error)
        raise ValueError(f"smtp.ca_file {ca_file} cannot be used: {reason}") from None


def _local_hostname() -> str:
    # The same choice smtplib makes for EHLO: the FQDN, or an address literal.
    fqdn = socket.getfqdn()
    if "." in fqdn:
        return fqdn
    try:
        return f"[{socket.gethostbyname(socket.gethostname())}]"
    except OSError:
        return "[127.0.0.1]"
