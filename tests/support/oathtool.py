"""Secrets and codes from tools independent of twofa: coreutils' base32, OATH Toolkit's oathtool."""

from __future__ import annotations

import os
import subprocess

from .tools import required_tool


def new_secret(size: int = 20) -> str:
    """`size` random bytes in base32, as coreutils writes them (with '=' padding)."""
    encoded = subprocess.run(
        ["base32", "--wrap=0"], input=os.urandom(size), capture_output=True, check=True
    )
    return encoded.stdout.decode("ascii")


def oathtool(
    secret: str, unix_seconds: float, digits: int = 6, period: int = 30, algorithm: str = "SHA1"
) -> str:
    """The code the user's app shows at `unix_seconds`, by oathtool."""
    tool = required_tool("oathtool", "apt-get install oathtool")
    found = subprocess.run(
        [
            tool,
            f"--totp={algorithm}",
            f"--digits={digits}",
            f"--time-step-size={period}s",
            f"--now=@{int(unix_seconds)}",
            "--base32",
            secret.rstrip("="),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return found.stdout.strip()
