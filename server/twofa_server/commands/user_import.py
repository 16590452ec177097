"""`twofa user import TENANT FILE`: users' existing authenticator apps, from a file.

Reads CSV or JSON (import_file.py), checks every line with the server's own rules
and reports each bad one by its line number, then sends the good ones to the
running server's ImportAuthenticators in batches. Secrets come only from the file
(never the command line) and are never printed: output names lines and user ids.
Running the same file again is safe: users already in answer UNCHANGED.

Exit status 0 when every line was imported (or was already in), 1 when a line was
bad or the server refused or could not be reached, 2 when the command is wrong.
"""

from __future__ import annotations

import argparse
import json
import re
import stat
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twofa_client import ImportedAuthenticator, ImportResult, InvalidArgument, TwoFactorError

from ..core.importing import MAX_ENTRIES_PER_REQUEST
from ..core.validation import Violations, check_tenant
from .common import CommandRefused
from .import_file import FORMATS, BadLine, Line, format_of, read_entries
from .remote import RemoteError, add_connection_options, connected, connection_from, refusal

# Under the RPC's limit, so that one batch's answer stays well inside a deadline.
BATCH = min(500, MAX_ENTRIES_PER_REQUEST)
_VIOLATION_FIELD = re.compile(r"^authenticators\[(\d+)\]\.(\w+)$")


def add_command(group: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser: argparse.ArgumentParser = group.add_parser(
        "import",
        help="move users' existing authenticator apps in from another 2FA system (CSV or "
        "JSON: user_id, secret, digits, period, algorithm, last_used_step)",
    )
    parser.add_argument("tenant", help="tenant id of every user in the file")
    parser.add_argument("file", help="the CSV or JSON file, or - for standard input")
    parser.add_argument(
        "--format", choices=FORMATS, help="the file's format (default: from its name)"
    )
    parser.add_argument(
        "--replace-existing",
        action="store_true",
        help="replace the app of a user who already has one enabled (their trusted devices "
        "are revoked); without it such a user keeps theirs",
    )
    parser.add_argument("--dry-run", action="store_true", help="check every line, import nothing")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_connection_options(parser)
    parser.set_defaults(run=import_users)


@dataclass
class Outcome:
    """What an import did, line by line."""

    checked: int = 0
    results: Counter[ImportResult] = field(default_factory=Counter)
    already_enrolled: list[str] = field(default_factory=list)
    bad: list[BadLine] = field(default_factory=list)
    stopped: str = ""  # why the import stopped before the end, if it did


def import_users(args: argparse.Namespace) -> None:
    _check_tenant(args.tenant)
    text, name = _read(args.file)
    file_format = format_of(name, args.format)
    found = read_entries(text, file_format, args.tenant, time.time())
    outcome = Outcome(checked=len(found.good) + len(found.bad), bad=list(found.bad))
    if found.good and not args.dry_run:
        _send(args, found.good, outcome)
    outcome.bad.sort(key=lambda bad: bad.number)
    _report(args, name, outcome)
    if outcome.stopped:
        raise RemoteError(outcome.stopped)
    if outcome.bad:
        raise SystemExit(1)


def _check_tenant(tenant: str) -> None:
    """Refuses a tenant id the server would refuse, before the file is read (a dry run
    would otherwise pass, and every batch then fail on it)."""
    violations = Violations()
    check_tenant(violations, tenant)
    for violation in violations:
        raise CommandRefused(f"the tenant id {violation.description}")


def _read(file: str) -> tuple[str, str]:
    if file == "-":
        return sys.stdin.read(), "-"
    path = Path(file)
    try:
        data = path.read_bytes()
        mode = path.stat().st_mode
    except OSError as error:
        raise CommandRefused(f"cannot read {file}: {error.strerror}") from None
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        print(
            f"twofa: warning: {file} holds secrets and other users may read it "
            f"(mode {stat.S_IMODE(mode):o}): delete it once the import is done",
            file=sys.stderr,
        )
    try:
        return data.decode("utf-8-sig"), file
    except UnicodeDecodeError:
        raise CommandRefused(f"{file} is not UTF-8 text") from None


def _send(args: argparse.Namespace, lines: list[Line], outcome: Outcome) -> None:
    connection = connection_from(args)
    with connected(connection) as client:
        for start in range(0, len(lines), BATCH):
            batch = lines[start : start + BATCH]
            try:
                answers = client.import_authenticators(
                    args.tenant,
                    [_request_entry(line) for line in batch],
                    replace_existing=args.replace_existing,
                )
            except InvalidArgument as error:
                # Nothing of this batch was stored; the server names its bad entries.
                outcome.bad += _bad_lines(batch, error)
                continue
            except TwoFactorError as error:
                done = sum(outcome.results.values())
                outcome.stopped = (
                    f"{connection.address}: {refusal(error)}; {done} users were imported "
                    "before it (running the same file again is safe)"
                )
                return
            for user_id, result in answers:
                outcome.results[result] += 1
                if result is ImportResult.ALREADY_ENROLLED:
                    outcome.already_enrolled.append(user_id)


def _request_entry(line: Line) -> ImportedAuthenticator:
    entry = line.entry
    return ImportedAuthenticator(
        user_id=entry.user_id,
        secret_base32=entry.secret,
        digits=entry.digits or 6,
        period_seconds=entry.period or 30,
        algorithm=entry.algorithm or "SHA1",
        last_used_step=entry.last_used_step,
    )


def _bad_lines(batch: list[Line], error: InvalidArgument) -> list[BadLine]:
    problems: dict[int, list[tuple[str, str]]] = {}
    for violation in error.field_violations:
        match = _VIOLATION_FIELD.match(violation.field)
        if match and int(match[1]) < len(batch):
            number = batch[int(match[1])].number
            problems.setdefault(number, []).append((match[2], violation.description))
    if not problems:  # not about one entry: every line of the batch stays out
        reason = ("", f"refused by the server: {refusal(error)}")
        return [BadLine(line.number, (reason,)) for line in batch]
    return [BadLine(number, tuple(found)) for number, found in problems.items()]


def _report(args: argparse.Namespace, name: str, outcome: Outcome) -> None:
    counts = {result.name.lower(): outcome.results[result] for result in _RESULTS}
    if args.json:
        report: dict[str, Any] = {
            "tenant": args.tenant,
            "file": name,
            "dry_run": args.dry_run,
            "lines": outcome.checked,
            **counts,
            "already_enrolled_users": outcome.already_enrolled,
            "bad_lines": [_bad_line_report(bad) for bad in outcome.bad],
        }
        print(json.dumps(report, indent=2))
        return
    for bad in outcome.bad:
        print(f"twofa: {name} line {bad.number}: {bad.describe()}", file=sys.stderr)
    ready = outcome.checked - len(outcome.bad)
    if args.dry_run:
        print(
            f"twofa: checked {outcome.checked} entries of {name}: {ready} ready to import, "
            f"{len(outcome.bad)} bad; nothing imported (--dry-run)"
        )
        return
    summary = ", ".join(f"{count} {label.replace('_', ' ')}" for label, count in counts.items())
    print(f"twofa: {name} into tenant {args.tenant!r}: {summary}; {len(outcome.bad)} bad lines")
    if outcome.already_enrolled:
        shown = ", ".join(outcome.already_enrolled[:10])
        more = len(outcome.already_enrolled) - 10
        print(
            f"twofa: kept their own app (--replace-existing replaces it): {shown}"
            + (f" and {more} more" if more > 0 else "")
        )


def _bad_line_report(bad: BadLine) -> dict[str, Any]:
    problems = [{"field": name, "problem": problem} for name, problem in bad.problems]
    return {"line": bad.number, "problems": problems}


_RESULTS = (
    ImportResult.IMPORTED,
    ImportResult.REPLACED,
    ImportResult.UNCHANGED,
    ImportResult.ALREADY_ENROLLED,
)
