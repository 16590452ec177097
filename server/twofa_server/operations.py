"""Operator commands: `twofa keys rotate|drop`, `twofa backup PATH`, `twofa status`.

They find the data directory and keyring from the same configuration as `twofa serve`
(file, TWOFA_* variables, flags) and open the store read-only, which LMDB allows while
the server runs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .config import Settings, load_settings
from .crypto import (
    Keyring,
    KeyringError,
    load_keyring,
    with_new_primary_key,
    without_key,
    write_keyring,
)
from .crypto.keyring import MAX_KEY_ID
from .store.offline import StoreNotReadable, Usage, open_read_only
from .store.reseal import Census


class OperationRefused(Exception):
    """An operator command cannot go ahead; the message says why and what to do, in one line."""


# Failures an operator can fix: printed as one line, exit status 2.
OPERATION_ERRORS = (OperationRefused, StoreNotReadable)


def add_commands(
    commands: argparse._SubParsersAction,  # type: ignore[type-arg]
    keys: argparse._SubParsersAction,  # type: ignore[type-arg]
) -> None:
    """Adds `keys rotate`, `keys drop`, `backup` and `status`; each sets `run`."""
    rotate = keys.add_parser(
        "rotate", help="add a new primary key; a running twofa re-seals every record under it"
    )
    _add_location(rotate)
    rotate.set_defaults(run=rotate_keys)

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
    _add_location(drop)
    drop.set_defaults(run=drop_key)

    backup = commands.add_parser(
        "backup", help="copy the store, consistently, while the server runs"
    )
    backup.add_argument("path", type=Path, help="a new or empty directory for the copy")
    _add_location(backup, keyring=False)
    backup.set_defaults(run=backup_store)

    status = commands.add_parser(
        "status", help="store size, map usage, record counts and the keys records need"
    )
    status.add_argument("--json", action="store_true", help="print one JSON object")
    _add_location(status)
    status.set_defaults(run=print_status)


def _key_id(text: str) -> int:
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_KEY_ID):
        raise argparse.ArgumentTypeError(f"expected a key id (1-{MAX_KEY_ID}), got {text!r}")
    return int(text)


def _add_location(parser: argparse.ArgumentParser, *, keyring: bool = True) -> None:
    parser.add_argument("--config", type=Path, help="TOML configuration file, as for serve")
    parser.add_argument(
        "--data-dir", dest="data_dir", metavar="DIR", help="LMDB store directory, as for serve"
    )
    if keyring:
        parser.add_argument(
            "--keyring",
            "--keyring-file",
            dest="keyring_file",
            metavar="PATH",
            help="keyring file (default: <data_dir>/keyring), as for serve",
        )


def _settings(args: argparse.Namespace) -> Settings:
    flags = {"data_dir": args.data_dir, "keyring_file": getattr(args, "keyring_file", None)}
    return load_settings(flags, config_file=args.config)


def _ids(keyring: Keyring) -> str:
    return ", ".join(str(key_id) for key_id in sorted(keyring.aead_keys))


# --------------------------------------------------------------------------- keys rotate


def rotate_keys(args: argparse.Namespace) -> None:
    path = _settings(args).keyring_path
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


# --------------------------------------------------------------------------- keys drop


def drop_key(args: argparse.Namespace) -> None:
    settings = _settings(args)
    path, key_id = settings.keyring_path, args.key_id
    keyring = load_keyring(path)
    smaller = without_key(keyring, key_id)  # refuses the primary key and unknown ids
    if not args.skip_store_check:
        with open_read_only(settings.data_dir) as store:
            census = store.census(keyring.primary_key_id)
        still = census.under(key_id)
        if still:
            raise OperationRefused(
                f"{still} records of the store in {settings.data_dir} are still sealed under "
                f"key {key_id}: wait until the running twofa has re-sealed them under key "
                f"{keyring.primary_key_id} ('twofa status', metric "
                "twofa_keyring_reseal_remaining_records), then run this again"
            )
        if args.check_only:
            print(
                f"twofa: no record of the store in {settings.data_dir} needs key {key_id}: "
                "it can be dropped"
            )
            return
    write_keyring(path, smaller, overwrite=True)
    print(
        f"twofa: removed key {key_id} from keyring {path} (keys {_ids(smaller)}, primary "
        f"{smaller.primary_key_id}); a running twofa reloads it within seconds"
    )


# --------------------------------------------------------------------------- backup


def backup_store(args: argparse.Namespace) -> None:
    settings = _settings(args)
    target: Path = args.path
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise OperationRefused(
            f"backup target {target} exists and is not an empty directory: "
            "give a new or empty directory"
        )
    with open_read_only(settings.data_dir) as store:
        try:
            target.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise OperationRefused(
                f"backup target {target} cannot be created ({exc.strerror})"
            ) from None
        size = store.copy_to(target)
    print(
        f"twofa: copied the store in {settings.data_dir} to {target} ({_size(size)}, "
        "one consistent snapshot). The keyring is NOT in the backup: keep a copy of "
        f"{settings.keyring_path} apart from it; without it the backup cannot be read."
    )


# --------------------------------------------------------------------------- status


def print_status(args: argparse.Namespace) -> None:
    settings = _settings(args)
    path = settings.keyring_path
    keyring: Keyring | None
    try:
        keyring, keyring_error = load_keyring(path), ""
    except KeyringError as exc:
        keyring, keyring_error = None, str(exc)
    with open_read_only(settings.data_dir) as store:
        usage = store.usage()
        census = store.census(keyring.primary_key_id if keyring else None)
    report = status_report(settings.data_dir, usage, census, path, keyring, keyring_error)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(_status_text(report))


def status_report(
    data_dir: Path,
    usage: Usage,
    census: Census,
    keyring_path: Path,
    keyring: Keyring | None,
    keyring_error: str = "",
) -> dict[str, Any]:
    """What `twofa status --json` prints."""
    keyring_info: dict[str, Any] = {"path": str(keyring_path)}
    if keyring is None:
        keyring_info["error"] = keyring_error
    else:
        keyring_info["primary_key_id"] = keyring.primary_key_id
        keyring_info["key_ids"] = sorted(keyring.aead_keys)
    return {
        "data_dir": str(data_dir),
        "file_bytes": usage.file_bytes,
        "map_size_bytes": usage.map_size_bytes,
        "map_used_bytes": usage.map_used_bytes,
        "map_used_ratio": round(usage.map_used_ratio, 6),
        "records": census.records,
        # JSON object keys are strings: {"users": {"1": 10, "2": 3}, ...}
        "sealed_by_key": {
            db: {str(key_id): count for key_id, count in by_key.items()}
            for db, by_key in census.sealed_by_key.items()
        },
        "not_under_primary": census.stale if keyring is not None else None,
        "unreadable_records": census.unreadable,
        "keyring": keyring_info,
    }


def _status_text(report: dict[str, Any]) -> str:
    records = ", ".join(f"{db} {count}" for db, count in report["records"].items())
    sealed = "; ".join(
        f"{db}: " + (", ".join(f"key {k}: {n}" for k, n in by_key.items()) or "none")
        for db, by_key in report["sealed_by_key"].items()
    )
    keyring = report["keyring"]
    lines = [
        f"data dir         {report['data_dir']}",
        f"file size        {_size(report['file_bytes'])}",
        f"map usage        {_size(report['map_used_bytes'])} of "
        f"{_size(report['map_size_bytes'])} ({report['map_used_ratio']:.1%})",
        f"records          {records}",
        f"sealed by key    {sealed}",
    ]
    if "error" in keyring:
        lines.append(f"keyring          {keyring['path']}: {keyring['error']}")
    else:
        primary = keyring["primary_key_id"]
        ids = ", ".join(
            f"{key_id} (primary)" if key_id == primary else str(key_id)
            for key_id in keyring["key_ids"]
        )
        lines.append(f"keyring          {keyring['path']}: keys {ids}")
        stale = report["not_under_primary"]
        lines.append(
            f"re-seal          {stale} records not yet under key {primary}"
            if stale
            else f"re-seal          none needed: every record is under key {primary}"
        )
    if report["unreadable_records"]:
        lines.append(f"unreadable       {report['unreadable_records']} records")
    return "\n".join(lines)


def _size(count: int) -> str:
    value = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{count} bytes" if unit == "bytes" else f"{value:.1f} {unit} ({count} bytes)"
        value /= 1024
    raise AssertionError("unreachable")
