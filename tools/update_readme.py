"""Rewrites the generated configuration tables from the code: every setting in
docs/configuration.md, and the README's summary of the settings it names."""

from __future__ import annotations

import sys
from pathlib import Path

from twofa_server.config import OPTIONS, describe

REPO = Path(__file__).resolve().parent.parent
FULL = ("<!-- config:begin -->\n", "<!-- config:end -->")
SUMMARY = ("<!-- config-summary:begin -->\n", "<!-- config-summary:end -->")

# The settings a deployment sets first, in the README; the rest are in docs/configuration.md.
SUMMARY_KEYS = (
    "store",
    "data_dir",
    "keyring_file",
    "listen",
    "tls.cert_file",
    "tls.client_ca_file",
    "auth.token_file",
    "postgres.dsn",
    "postgres.password_file",
    "postgres.pool_size",
    "metrics_listen",
    "mail.backend",
    "smtp.host",
    "policy.enforcement",
    "policy.frequency",
)


def summary() -> str:
    """The README's configuration table: the rows of SUMMARY_KEYS, as the full table has them."""
    return describe([option for option in OPTIONS if option.key in SUMMARY_KEYS])


def rewrite(path: Path, markers: tuple[str, str], table: str) -> None:
    begin, end = markers
    head, rest = path.read_text().split(begin, 1)
    _, tail = rest.split(end, 1)
    path.write_text(head + begin + table + "\n" + end + tail)


def main() -> int:
    rewrite(REPO / "docs" / "configuration.md", FULL, describe())
    rewrite(REPO / "README.md", SUMMARY, summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
