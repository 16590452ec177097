"""`twofa store init` creates the store of a new deployment, once; `twofa store copy` moves an
LMDB store into PostgreSQL."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..clock import SystemClock
from ..store.lmdb.offline import open_read_only
from ..store.opening import open_store
from ..store.postgres.copy import TargetNotEmpty, copy_records
from ..store.postgres.schema import migrate
from ..store.postgres.store import connect, describe
from .common import CommandRefused, add_location, settings_from


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    store = commands.add_parser("store", help="create and move the store").add_subparsers(
        dest="store_command", required=True
    )
    init = store.add_parser(
        "init",
        help="create the store of a new deployment (LMDB directory, or the database schema) "
        "and record which keyring it belongs to",
    )
    add_location(init)
    init.set_defaults(run=init_store)

    copy = store.add_parser(
        "copy",
        help="copy an LMDB store into an empty PostgreSQL store (stop the server first, or "
        "copy a backup): nothing is re-sealed, the same keyring opens the copy",
    )
    copy.add_argument(
        "--from",
        dest="source",
        type=Path,
        required=True,
        metavar="DIR",
        help="the LMDB store's directory",
    )
    copy.add_argument(
        "--to",
        dest="target",
        required=True,
        metavar="DSN",
        help="the database (libpq connection string or URI, without password)",
    )
    copy.add_argument(
        "--postgres-password-file",
        dest="postgres.password_file",
        metavar="PATH",
        help="the database password, as for serve",
    )
    copy.add_argument("--config", type=Path, help="TOML configuration file, as for serve")
    copy.set_defaults(run=copy_store)


def init_store(args: argparse.Namespace) -> None:
    settings = settings_from(args)
    store, _, _, created = open_store(settings, SystemClock(), create=True)
    try:
        where = store.where
    finally:
        store.close()
    if not created:
        print(f"twofa: {where} already holds a twofa store of this keyring: nothing to do")
        return
    print(
        f"twofa: {where} is ready, sealed with keyring {settings.keyring_path}; "
        "keep that keyring and back it up: the store cannot be read without it"
    )


def copy_store(args: argparse.Namespace) -> None:
    settings = settings_from(argparse.Namespace(**{**vars(args), "postgres.dsn": args.target}))
    postgres = settings.postgres
    where = describe(args.target)

    def progress(table: str, rows: int) -> None:
        print(f"twofa: copied {rows:,} {table}", file=sys.stderr, flush=True)

    with (
        open_read_only(args.source) as source,
        source.snapshot() as records,
        connect(postgres) as conn,
    ):
        migrate(conn, where, create=True)
        try:
            counts = copy_records(conn, records, progress)
        except TargetNotEmpty as refused:
            raise CommandRefused(
                f"{where} is not empty ({refused}): copy into a new database, or drop its "
                "twofa schema if it holds nothing you need"
            ) from None
    copied = ", ".join(f"{count:,} {table}" for table, count in counts.items())
    print(
        f"twofa: copied the store in {args.source} into {where}: {copied}. Serve it with "
        "store = postgres and the same keyring; keep the LMDB store until the new one serves."
    )
