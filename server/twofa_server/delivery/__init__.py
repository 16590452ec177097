"""Email delivery: message templates, and the SMTP and console mailers the outbox sends with."""

from twofa_server.delivery.console import ConsoleMailer
from twofa_server.delivery.mail import (
    DeliveryError,
    Mail,
    Mailer,
    MailKind,
    PermanentDeliveryError,
)
from twofa_server.delivery.smtp import SmtpMailer, SmtpSettings
from twofa_server.delivery.templates import MailStyle, TemplateError, Templates

__all__ = [
    "ConsoleMailer",
    "DeliveryError",
    "Mail",
    "MailKind",
    "MailStyle",
    "Mailer",
    "PermanentDeliveryError",
    "SmtpMailer",
    "SmtpSettings",
    "TemplateError",
    "Templates",
]
