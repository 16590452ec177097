"""A local SMTP server that keeps every message in a folder, for the demo and the tests.

twofa delivers its mail (set-up codes, login codes, backup codes) over real SMTP to this
catcher instead of a relay; the panel's /mailbox page and the tests read the folder.
Each message is one `.eml` file named by its arrival time, written atomically.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import itertools
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

_sequence = itertools.count()


@dataclass(frozen=True, slots=True)
class CaughtMessage:
    received_at: datetime
    sender: str
    to: str
    subject: str
    text: str
    """The plain-text part (twofa also sends an HTML part)."""


class _SaveToFolder:
    """aiosmtpd handler: every accepted message becomes a file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        name = f"{time.time_ns():020d}-{next(_sequence):06d}.eml"
        partial = self.folder / f".{name}.tmp"
        partial.write_bytes(envelope.original_content or envelope.content)
        partial.rename(self.folder / name)  # readers never see half a message
        return "250 Message accepted"


class MailCatcher(Controller):
    """The SMTP server, on a thread of its own; `port` is known once started."""

    def __init__(self, folder: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        super().__init__(_SaveToFolder(folder), hostname=host, port=port)

    def _trigger_server(self) -> None:
        # With port 0 the OS picks a free port; aiosmtpd 1.4 would probe port 0 itself.
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


def read_messages(folder: Path) -> list[CaughtMessage]:
    """Every caught message, newest first."""
    found = sorted(folder.glob("*.eml"), reverse=True) if folder.is_dir() else []
    return [_parse(path) for path in found]


def _parse(path: Path) -> CaughtMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    arrived = int(path.name.split("-", 1)[0]) / 1e9
    return CaughtMessage(
        received_at=datetime.fromtimestamp(arrived, UTC),
        sender=str(message.get("From", "")),
        to=str(message.get("To", "")),
        subject=str(message.get("Subject", "")),
        text=str(text),
    )
