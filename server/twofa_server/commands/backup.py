"""`twofa backup PATH`: a consistent copy of the store while the server runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..store.lmdb.offline import open_read_only
from .common import CommandRefused, add_location, settings_from, size_in_words


def add_command(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    backup = commands.add_parser(
        "backup", help="copy the store, consistently, while the server runs"
    )
    backup.add_argument("path", type=Path, help="a new or empty directory for the copy")
    add_location(backup, keyring=False)
    backup.set_defaults(run=backup_store)


def backup_store(args: argparse.Namespace) -> None:
    settings = settings_from(args)
    target: Path = args.path
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise CommandRefused(
            f"backup target {target} exists and is not an empty directory: "
            "give a new or empty directory"
        )
    with open_read_only(settings.data_dir) as store:
        try:
            target.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise CommandRefused(
                f"backup target {target} cannot be created ({exc.strerror})"
            ) from None
        size = store.copy_to(target)
    print(
        f"twofa: copied the store in {settings.data_dir} to {target} ({size_in_words(size)}, "
        "one consistent snapshot). The keyring is NOT in the backup: keep a copy of "
        f"{settings.keyring_path} apart from it; without it the backup cannot be read."
    )
