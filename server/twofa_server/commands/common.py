"""What the operator commands share: where the store and keyring are, and sizes in words."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..config import Settings, load_settings
from ..errors import OperatorError
from ..store.lmdb.offline import Usage, open_read_only
from ..store.postgres.offline import read_census
from ..store.postgres.store import describe
from ..store.reseal import Census


class CommandRefused(OperatorError):
    """An operator command cannot go ahead; the message says why and what to do."""


def add_location(parser: argparse.ArgumentParser, *, keyring: bool = True) -> None:
    """Where the store and keyring are: the same settings, files and variables as serve's."""
    parser.add_argument("--config", type=Path, help="TOML configuration file, as for serve")
    parser.add_argument("--store", metavar="KIND", help="lmdb or postgres, as for serve")
    parser.add_argument(
        "--data-dir", dest="data_dir", metavar="DIR", help="LMDB store directory, as for serve"
    )
    parser.add_argument(
        "--postgres-dsn", dest="postgres.dsn", metavar="DSN", help="database, as for serve"
    )
    parser.add_argument(
        "--postgres-password-file",
        dest="postgres.password_file",
        metavar="PATH",
        help="database password file, as for serve",
    )
    if keyring:
        parser.add_argument(
            "--keyring",
            "--keyring-file",
            dest="keyring_file",
            metavar="PATH",
            help="keyring file (default: <data_dir>/keyring), as for serve",
        )


def settings_from(args: argparse.Namespace) -> Settings:
    return load_settings(vars(args), config_file=args.config)


def size_in_words(count: int) -> str:
    value = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{count} bytes" if unit == "bytes" else f"{value:.1f} {unit} ({count} bytes)"
        value /= 1024
    raise AssertionError("unreachable")


def census_of(settings: Settings, primary: int | None) -> tuple[Census, str, Usage | None]:
    """The configured store's census (from one snapshot), how to name the store, and the
    LMDB file's usage (None for a database)."""
    if settings.store == "postgres":
        return read_census(settings.postgres, primary), describe(settings.postgres.dsn), None
    with open_read_only(settings.data_dir) as store:
        return store.census(primary), f"the store in {settings.data_dir}", store.usage()
