"""Rewrites the generated part of docs/configuration.md (the configuration table) from the code."""

from __future__ import annotations

import sys
from pathlib import Path

from twofa_server.config import describe

BEGIN, END = "<!-- config:begin -->\n", "<!-- config:end -->"


def main() -> int:
    readme = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"
    text = readme.read_text()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(head + BEGIN + describe() + "\n" + END + tail)
    return 0


if __name__ == "__main__":
    sys.exit(main())
