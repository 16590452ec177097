"""`twofa store init`: create the store of a new deployment, once."""

from __future__ import annotations

import argparse

from ..clock import SystemClock
from ..store.opening import open_store
from .common import add_location, settings_from


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


def init_store(args: argparse.Namespace) -> None:
    settings = settings_from(args)
    store, _, _ = open_store(settings, SystemClock(), create=True)
    try:
        where = store.where
    finally:
        store.close()
    print(
        f"twofa: {where} is ready, sealed with keyring {settings.keyring_path}; "
        "keep that keyring and back it up: the store cannot be read without it"
    )
