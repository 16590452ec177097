"""`twofa keys generate|rotate|add|promote|drop`: the keyring file, rotations (in one step, or
in two across a fleet), and dropping keys the store no longer needs."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..crypto import (
    Keyring,
    KeyringError,
    generate_keyring,
    load_keyring,
    with_new_key,
    with_new_primary_key,
    with_primary,
    without_key,
    write_keyring,
)
from ..crypto.keyring import MAX_KEY_ID
from .common import CommandRefused, add_location, census_of, settings_from


def add_commands(keys: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds `keys generate`, `rotate`, `add`, `promote` and `drop`; each sets `run`."""
    generate = keys.add_parser("generate", help="write a new keyring (mode 0600)")
    generate.add_argument("path", type=Path)
    generate.add_argument("--force", action="store_true", help="overwrite an existing file")
    generate.set_defaults(run=generate_key_file)

    rotate = keys.add_parser(
        "rotate", help="add a new primary key; a running twofa re-seals every record under it"
    )
    add_location(rotate)
    rotate.set_defaults(run=rotate_keys)

    add = keys.add_parser(
        "add",
        help="add a new key that is not primary yet: phase 1 of a fleet's rotation "
        "(every instance must hold it before any seals with it)",
    )
    add_location(add)
    add.set_defaults(run=add_key)

    promote = keys.add_parser(
        "promote",
        help="make a key primary: phase 2 of a fleet's rotation, once every instance has "
        "loaded the keyring with it",
    )
    promote.add_argument(
        "key_id", type=_key_id, nargs="?", metavar="KEY_ID", help="default: the newest key"
    )
    add_location(promote)
    promote.set_defaults(run=promote_key)

    drop = keys.add_parser(
        "drop", help="remove a key, once no record of the store is sealed under it"
    )
    drop.add_argument("key_id", type=_key_id, metavar="KEY_ID")
    how = drop.add_mutually_exclusive_group()
    how.add_argument(
        "--check-only",
        action="store_true",
        help="only check that no record of the store needs the key; change nothing",
    )
    how.add_argument(
        "--skip-store-check",
        action="store_true",
        help="drop it without looking at a store (with a store per pod: after "
        "'--check-only' passed in every pod)",
    )
    add_location(drop)
    drop.set_defaults(run=drop_key)


def generate_key_file(args: argparse.Namespace) -> None:
    if args.path.exists() and not args.force:
        raise KeyringError(
            f"keyring {args.path} already exists: pass --force to replace it (a store sealed "
            "with the old keyring can then no longer be read)"
        )
    write_keyring(args.path, generate_keyring(), overwrite=args.force)
    print(
        f"twofa: wrote a new keyring to {args.path} (mode 0600); back it up: "
        "without it the store cannot be read"
    )


def rotate_keys(args: argparse.Namespace) -> None:
    path = settings_from(args).keyring_path
    old = load_keyring(path)
    new = with_new_primary_key(old)
    write_keyring(path, new, overwrite=True)
    print(
        f"twofa: keyring {path} now has primary key {new.primary_key_id} "
        f"(keys {_ids(new)}). A running twofa reloads it within seconds (at once on SIGHUP) "
        f"and re-seals every record under key {new.primary_key_id}; when 'twofa status' "
        f"shows no record under key {old.primary_key_id}, remove it with "
        f"'twofa keys drop {old.primary_key_id}'. Back up the new keyring."
    )


def add_key(args: argparse.Namespace) -> None:
    path = settings_from(args).keyring_path
    new = with_new_key(load_keyring(path), primary=False)
    write_keyring(path, new, overwrite=True)
    added = max(new.aead_keys)
    print(
        f"twofa: keyring {path} now has key {added} (keys {_ids(new)}; primary still "
        f"{new.primary_key_id}). Give this keyring to every instance; when each has "
        f"reloaded it (its log says 'keyring ... reloaded'), make the key primary with "
        f"'twofa keys promote {added}' and give them the keyring again. Back it up."
    )


def promote_key(args: argparse.Namespace) -> None:
    path = settings_from(args).keyring_path
    old = load_keyring(path)
    key_id = args.key_id if args.key_id is not None else max(old.aead_keys)
    if key_id == old.primary_key_id:
        raise CommandRefused(f"key {key_id} of keyring {path} is already the primary key")
    new = with_primary(old, key_id)
    write_keyring(path, new, overwrite=True)
    print(
        f"twofa: keyring {path} now seals with key {key_id} (keys {_ids(new)}). Give it to "
        f"every instance; one re-seals the store under key {key_id}; when 'twofa status' "
        f"shows no record under key {old.primary_key_id}, remove it with "
        f"'twofa keys drop {old.primary_key_id}'. Back up the new keyring."
    )


def drop_key(args: argparse.Namespace) -> None:
    settings = settings_from(args)
    path, key_id = settings.keyring_path, args.key_id
    keyring = load_keyring(path)
    smaller = without_key(keyring, key_id)  # refuses the primary key and unknown ids
    if not args.skip_store_check:
        census, where, _ = census_of(settings, keyring.primary_key_id)
        still = census.under(key_id)
        if still:
            raise CommandRefused(
                f"{still} records of {where} are still sealed under "
                f"key {key_id}: wait until the running twofa has re-sealed them under key "
                f"{keyring.primary_key_id} ('twofa status', metric "
                "twofa_keyring_reseal_remaining_records), then run this again"
            )
        if args.check_only:
            print(f"twofa: no record of {where} needs key {key_id}: it can be dropped")
            return
    write_keyring(path, smaller, overwrite=True)
    print(
        f"twofa: removed key {key_id} from keyring {path} (keys {_ids(smaller)}, primary "
        f"{smaller.primary_key_id}); a running twofa reloads it within seconds"
    )


def _key_id(text: str) -> int:
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_KEY_ID):
        raise argparse.ArgumentTypeError(f"expected a key id (1-{MAX_KEY_ID}), got {text!r}")
    return int(text)


def _ids(keyring: Keyring) -> str:
    return ", ".join(str(key_id) for key_id in sorted(keyring.aead_keys))
