"""The installed twofa's version (`twofa --version`, twofa_build_info, config check)."""

from __future__ import annotations

from importlib import metadata


def version() -> str:
    """The version of the installed `twofa` distribution; "unknown" from a checkout that
    was never installed."""
    try:
        return metadata.version("twofa")
    except metadata.PackageNotFoundError:
        return "unknown"
