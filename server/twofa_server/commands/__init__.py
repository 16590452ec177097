"""The operator commands: `twofa keys …`, `twofa store …`, `twofa backup`, `twofa status`."""

from __future__ import annotations

import argparse

from . import backup, keys, status, store


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds every operator command; each sets `run` to the function that carries it out."""
    key_commands = commands.add_parser("keys", help="manage the keyring").add_subparsers(
        dest="keys_command", required=True
    )
    keys.add_commands(key_commands)
    backup.add_command(commands)
    status.add_command(commands)
    store.add_commands(commands)
