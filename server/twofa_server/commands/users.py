"""`twofa user status|unlock|disable|delete TENANT USER`: the help desk's commands.

Each calls the running server's RPC (GetUserStatus, UnlockUser, DisableMethod,
DeleteUser), so each change is checked, applied and audited exactly as when the
application calls it. Output is plain text, or one JSON object with --json. Exit
status 0 when the call succeeded, 1 when the server could not be reached or
refused it, 2 when the command itself is wrong.

`twofa user import TENANT FILE` (user_import.py) belongs to the same group.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any

from twofa_client import (
    Method,
    UserStatus,
)

from . import user_import
from .common import CommandRefused
from .remote import add_connection_options, call_server, connection_from

METHODS = {"authenticator_app": Method.AUTHENTICATOR_APP, "email": Method.EMAIL}


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds `twofa user` and its subcommands; each sets `run`."""
    group = commands.add_parser(
        "user",
        help="look up, unlock, turn a method off for or delete one user, on the running "
        "server (every change is audited like the RPC it calls)",
    ).add_subparsers(dest="user_command", required=True)

    status = _subcommand(group, "status", "the user's methods, backup codes, attempts and lockout")
    status.set_defaults(run=show_status)

    unlock = _subcommand(group, "unlock", "clear the user's lockout and failed attempts")
    unlock.set_defaults(run=unlock_user)

    disable = _subcommand(
        group,
        "disable",
        "turn one method off (the last one off also deletes the backup codes; trusted "
        "devices are revoked)",
    )
    disable.add_argument("method", choices=sorted(METHODS), help="the method to turn off")
    disable.set_defaults(run=disable_method)

    delete = _subcommand(group, "delete", "remove every record of the user (asks first)")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    delete.set_defaults(run=delete_user)

    user_import.add_command(group)


def _subcommand(
    group: argparse._SubParsersAction,  # type: ignore[type-arg]
    name: str,
    help_text: str,
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = group.add_parser(name, help=help_text)
    parser.add_argument("tenant", help="tenant id")
    parser.add_argument("user", help="user id")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_connection_options(parser)
    return parser


# --------------------------------------------------------------------------- the commands


def show_status(args: argparse.Namespace) -> None:
    status = call_server(connection_from(args), lambda c: c.get_user_status(args.tenant, args.user))
    report = status_report(args.tenant, args.user, status)
    _print(args, report, _status_text(report))


def unlock_user(args: argparse.Namespace) -> None:
    changed = call_server(connection_from(args), lambda c: c.unlock_user(args.tenant, args.user))
    who = _who(args)
    text = (
        f"twofa: unlocked {who}: the lockout and failed attempts are cleared"
        if changed
        else f"twofa: {who} was neither locked nor had failed attempts: nothing to clear"
    )
    _print(args, {"tenant": args.tenant, "user": args.user, "changed": changed}, text)


def disable_method(args: argparse.Namespace) -> None:
    method = METHODS[args.method]
    result = call_server(
        connection_from(args), lambda c: c.disable_method(args.tenant, args.user, method)
    )
    who = _who(args)
    left = ", ".join(m.name.lower() for m in result.status.enabled_methods) or "none"
    text = (
        f"twofa: turned {args.method} off for {who} (methods still on: {left})"
        if result.changed
        else f"twofa: {args.method} was already off for {who}: nothing changed"
    )
    report = {
        "tenant": args.tenant,
        "user": args.user,
        "method": args.method,
        "changed": result.changed,
        "status": status_report(args.tenant, args.user, result.status),
    }
    _print(args, report, text)


def delete_user(args: argparse.Namespace) -> None:
    connection = connection_from(args)
    who = _who(args)
    if not args.yes:
        status = call_server(connection, lambda c: c.get_user_status(args.tenant, args.user))
        _confirm(f"Delete every 2FA record of {who} ({_summary(status)})? This cannot be undone.")
    deleted = call_server(connection, lambda c: c.delete_user(args.tenant, args.user))
    text = (
        f"twofa: deleted every record of {who}"
        if deleted
        else f"twofa: {who} had no records: nothing deleted"
    )
    _print(args, {"tenant": args.tenant, "user": args.user, "deleted": deleted}, text)


# --------------------------------------------------------------------------- helpers


def _confirm(question: str) -> None:
    print(f"{question} Type yes to go on: ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline().strip().lower()
    if answer not in ("y", "yes"):
        raise CommandRefused("nothing deleted (answer yes, or pass --yes)")


def _who(args: argparse.Namespace) -> str:
    return f"user {args.user!r} of tenant {args.tenant!r}"


def _print(args: argparse.Namespace, report: dict[str, Any], text: str) -> None:
    print(json.dumps(report, indent=2) if args.json else text)


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def status_report(tenant: str, user: str, status: UserStatus) -> dict[str, Any]:
    """What `twofa user status --json` prints."""
    return {
        "tenant": tenant,
        "user": user,
        "enrolled": status.enrolled,
        "methods": [
            {
                "method": entry.method.name.lower(),
                "state": entry.state.name.lower(),
                "enabled_at": _time(entry.enabled_at),
                "reset_pending": entry.reset_pending,
                "pending_expires_at": _time(entry.pending_expires_at),
            }
            for entry in status.methods
        ],
        "masked_email": status.masked_email,
        "backup_codes_remaining": status.backup_codes_remaining,
        "failed_attempts": status.failed_attempts,
        "locked_until": _time(status.locked_until),
        "trusted_devices": status.trusted_device_count,
    }


def _summary(status: UserStatus) -> str:
    enabled = ", ".join(m.name.lower() for m in status.enabled_methods)
    return (
        f"methods on: {enabled or 'none'}, {status.backup_codes_remaining} backup codes, "
        f"{status.trusted_device_count} trusted devices"
    )


def _status_text(report: dict[str, Any]) -> str:
    lines = [
        f"user              {report['user']!r} of tenant {report['tenant']!r}",
        f"2FA               {'on' if report['enrolled'] else 'off'}",
    ]
    for entry in report["methods"]:
        state = entry["state"]
        if entry["enabled_at"]:
            state += f" since {entry['enabled_at']}"
        if entry["method"] == "email" and report["masked_email"]:
            state += f" ({report['masked_email']})"
        if entry["reset_pending"] or (entry["state"] == "pending" and entry["pending_expires_at"]):
            state += f"; a new set-up awaits its code until {entry['pending_expires_at']}"
        lines.append(f"{entry['method']:<17} {state}")
    locked = report["locked_until"]
    lines += [
        f"backup codes      {report['backup_codes_remaining']} left",
        f"failed attempts   {report['failed_attempts']}",
        f"locked            {'until ' + locked if locked else 'no'}",
        f"trusted devices   {report['trusted_devices']}",
    ]
    return "\n".join(lines)
