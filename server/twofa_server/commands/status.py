"""`twofa status`: the store's size, records, and the keys its records need."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..config import Settings
from ..crypto import Keyring, KeyringError, load_keyring
from ..store.lmdb.offline import Usage
from ..store.reseal import Census
from .common import add_location, census_of, settings_from, size_in_words


def add_command(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    status = commands.add_parser(
        "status", help="store size, map usage, record counts and the keys records need"
    )
    status.add_argument("--json", action="store_true", help="print one JSON object")
    add_location(status)
    status.set_defaults(run=print_status)


def print_status(args: argparse.Namespace) -> None:
    settings = settings_from(args)
    path = settings.keyring_path
    keyring: Keyring | None
    try:
        keyring, keyring_error = load_keyring(path), ""
    except KeyringError as exc:
        keyring, keyring_error = None, str(exc)
        if not path.exists():
            # A backup holds no keyring, and a new keyring never opens an old store.
            keyring_error = (
                f"no keyring at {path} (a backup holds none): pass --keyring PATH with the "
                "keyring this store was sealed with to see which keys its records need"
            )
    census, where, usage = census_of(settings, keyring.primary_key_id if keyring else None)
    report = status_report(settings, where, usage, census, path, keyring, keyring_error)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(_status_text(report))


def status_report(
    settings: Settings,
    where: str,
    usage: Usage | None,
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
    report: dict[str, Any] = {"store": settings.store, "where": where}
    if usage is not None:
        report.update(
            {
                "data_dir": str(settings.data_dir),
                "file_bytes": usage.file_bytes,
                "map_size_bytes": usage.map_size_bytes,
                "map_used_bytes": usage.map_used_bytes,
                "map_used_ratio": round(usage.map_used_ratio, 6),
            }
        )
    return report | {
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
    lines = [f"store            {report['where']}"]
    if "data_dir" in report:
        lines += [
            f"file size        {size_in_words(report['file_bytes'])}",
            f"map usage        {size_in_words(report['map_used_bytes'])} of "
            f"{size_in_words(report['map_size_bytes'])} ({report['map_used_ratio']:.1%})",
        ]
    lines += [f"records          {records}", f"sealed by key    {sealed}"]
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
