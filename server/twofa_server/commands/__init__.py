"""The operator commands: `twofa keys …`, `twofa store …`, `twofa backup`, `twofa status`,
`twofa config check`, and those that call a running server: `twofa health`, `twofa user …`."""

from __future__ import annotations

import argparse

from . import backup, config, health, keys, status, store, users


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds every operator command; each sets `run` to the function that carries it out."""
    key_commands = commands.add_parser("keys", help="manage the keyring").add_subparsers(
        dest="keys_command", required=True
    )
    keys.add_commands(key_commands)
    backup.add_command(commands)
    status.add_command(commands)
    store.add_commands(commands)
    config.add_commands(commands)
    health.add_command(commands)
    users.add_commands(commands)
