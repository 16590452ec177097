"""What the panel needs to run: where its database is, its session key, the twofa client."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class PanelSettings:
    database: Path
    """The panel's SQLite file (users and password hashes)."""
    secret_key: bytes
    """Signs the session cookie; keep it secret and stable across restarts."""
    issuer: str = "Control Panel"
    """The name authenticator apps show next to the account (no ':')."""
    mailbox_dir: Path | None = None
    """Demo only: the SMTP catcher's folder, shown at /mailbox. None hides the page."""
