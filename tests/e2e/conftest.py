"""Fixtures of the end-to-end tests, which run `twofa` as separate processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..support.stores import new_data_dir


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data directory holding a fresh keyring (mode 0600) and an empty store made for it
    (as `twofa store init` makes one)."""
    return new_data_dir(tmp_path / "data")
