"""The Mail that delivery renders (core owns it; re-exported here), delivery errors, the Mailer."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Protocol

# Core owns the message's shape (the outbox queues it in the same transaction as the
# code); delivery re-exports it so the two never drift into separate, unequal types.
from ..core.models import Mail, MailKind

__all__ = [
    "CONFIGURATION_PROBLEMS",
    "DeliveryError",
    "Mail",
    "MailKind",
    "Mailer",
    "MisconfiguredDeliveryError",
    "PermanentDeliveryError",
]

# What a MisconfiguredDeliveryError can be about (a metric label: a small, fixed set).
CONFIGURATION_PROBLEMS = ("starttls_not_offered",)


class DeliveryError(Exception):
    """Sending failed but may work later (connection refused, timeout, 4xx, TLS, auth).

    str() is one line naming the server and the SMTP code; it never holds the message
    body, a code, the recipient or a password, so it is safe to log.
    """


class PermanentDeliveryError(DeliveryError):
    """Retrying this message cannot help (recipient refused with 5xx, malformed address)."""


class MisconfiguredDeliveryError(DeliveryError):
    """Nothing can be sent until an operator fixes the configuration or the relay (e.g. a
    server that does not offer STARTTLS while smtp.security = starttls).

    Not the message's fault: the outbox keeps it queued, without counting an attempt.

    Attributes:
        problem: which problem, one of CONFIGURATION_PROBLEMS (for metrics).
    """

    def __init__(self, message: str, problem: str) -> None:
        assert problem in CONFIGURATION_PROBLEMS, problem
        super().__init__(message)
        self.problem = problem


class Mailer(Protocol):
    """Sends one finished message."""

    def send(self, message: EmailMessage) -> None:
        """Sends `message` to the recipients in its To header.

        Args:
            message: a complete message, as built by Templates.render.

        Raises:
            DeliveryError: it was not sent; PermanentDeliveryError when retrying cannot help.
        """
        ...
