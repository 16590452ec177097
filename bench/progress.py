"""Progress lines on stderr, so that stdout holds only the report."""

from __future__ import annotations

import sys


def say(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)
