"""The development mailer: logs each message (and may append it to a file) instead of sending."""

from __future__ import annotations

import logging
import os
import threading
import time
from email.generator import BytesGenerator
from email.message import EmailMessage
from pathlib import Path

from .mail import DeliveryError

MARKER = "DEVELOPMENT ONLY: console mailer, not sending mail; message follows"
_LOG = logging.getLogger("twofa.mail")


class ConsoleMailer:
    """Logs whole messages, codes included, to the "twofa.mail" logger; for `make run` only.

    This is the one place a code is meant to reach a log: a developer reads it there
    instead of from a mailbox. Production configurations use SmtpMailer.
    """

    def __init__(self, path: Path | None = None, logger: logging.Logger = _LOG) -> None:
        """Creates the mailer.

        Args:
            path: an mbox file to append each message to as well (readable with
                `mail -f PATH` or any mail client), or None to only log.
            logger: where messages are logged.
        """
        self._path = path
        self._logger = logger
        self._lock = threading.Lock()  # one append at a time keeps mbox entries whole

    def send(self, message: EmailMessage) -> None:
        """Logs `message` at WARNING after a line saying it was not sent; appends it to the file.

        Args:
            message: the complete message.

        Raises:
            DeliveryError: the file could not be written.
        """
        self._logger.warning("%s\n%s", MARKER, message.as_string())
        if self._path is not None:
            self._append(self._path, message)

    def _append(self, path: Path, message: EmailMessage) -> None:
        separator = f"From twofa {time.asctime(time.gmtime())}\n".encode("ascii")
        try:
            with self._lock:
                # 0o600: the file holds live codes.
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                with os.fdopen(fd, "ab") as file:
                    file.write(separator)
                    # mangle_from_ escapes body lines starting "From ", which mbox reads
                    # as the start of the next message.
                    generator = BytesGenerator(
                        file, mangle_from_=True, policy=message.policy.clone(linesep="\n")
                    )
                    generator.flatten(message)
                    file.write(b"\n")
        except OSError as error:
            raise DeliveryError(
                f"console mailer cannot append to {self._path}: {error.strerror}"
            ) from None
