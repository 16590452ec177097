"""External programs some tests need (zbarimg, promtool)."""

from __future__ import annotations

import os
import shutil

import pytest


def required_tool(name: str, install: str) -> str:
    """The path of program `name`; skips the test locally when it is missing, fails in CI.

    Args:
        install: how to install it, for the message, e.g. "apt-get install zbar-tools".
    """
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is missing although CI is set: {install}")
        pytest.skip(f"{name} not installed ({install})")
    return path
