"""The Mail that delivery renders (core owns it; re-exported here), delivery errors, the Mailer."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Protocol

# Core owns the message's shape (the outbox queues it in the same transaction as the
# code); delivery re-exports it so the two never drift into separate, unequal types.
from ..core.models import Mail, MailKind

__all__ = ["DeliveryError", "Mail", "MailKind", "Mailer", "PermanentDeliveryError"]


class DeliveryError(Exception):
    """Sending failed but may work later (connection refused, timeout, 4xx, TLS, auth).

    str() is one line naming the server and the SMTP code; it never holds the message
    body, a code, the recipient or a password, so it is safe to log.
    """


class PermanentDeliveryError(DeliveryError):
    """Retrying this message cannot help (recipient refused with 5xx, malformed address)."""


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
