"""The file `twofa user import` reads: users' authenticator secrets as CSV or JSON.

CSV has a header row naming its columns; JSON is an array of objects, or one object
per line (JSON Lines). Either way the fields are those of ImportAuthenticators:

    user_id,secret,digits,period,algorithm,last_used_step
    alice,JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP,6,30,SHA1,
    bob,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ,8,60,SHA256,30000000

Only user_id and secret are required. Each entry is checked here with the server's
own rules (core/importing.py) and reported by its line in the file; a bad line is
never sent. Nothing read from the file is ever printed but user ids and line numbers.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..core.importing import AuthenticatorEntry, violations_of
from .common import CommandRefused

COLUMNS = ("user_id", "secret", "digits", "period", "algorithm", "last_used_step")
REQUIRED = ("user_id", "secret")
# Other names the same columns go by (the RPC's field names among them).
ALIASES = {"secret_base32": "secret", "period_seconds": "period", "user": "user_id"}
FORMATS = ("csv", "json")
_INTEGER_FIELDS = ("digits", "period", "last_used_step")


@dataclass(frozen=True, slots=True)
class Line:
    """An entry that passed every check, and the line of the file it starts on."""

    number: int
    entry: AuthenticatorEntry


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that is not imported, and why: (field, problem) pairs; field may be ""."""

    number: int
    problems: tuple[tuple[str, str], ...]

    def describe(self) -> str:
        return "; ".join(
            f"{name}: {problem}" if name else problem for name, problem in self.problems
        )


@dataclass
class ReadFile:
    """A file's entries, split into those to import and those that are not."""

    good: list[Line] = field(default_factory=list)
    bad: list[BadLine] = field(default_factory=list)


def format_of(name: str, given: str | None) -> str:
    """The file's format: `given`, else from the name's extension."""
    if given:
        return given
    lowered = name.lower()
    if lowered.endswith(".csv"):
        return "csv"
    if lowered.endswith((".json", ".jsonl", ".ndjson")):
        return "json"
    raise CommandRefused(
        f"cannot tell the format of {name!r} from its name: pass --format csv or --format json"
    )


def read_entries(text: str, file_format: str, tenant_id: str, now: float) -> ReadFile:
    """Reads and checks every entry of the file's `text`.

    Raises:
        CommandRefused: the file as a whole cannot be read (no header, an unknown or a
            missing column, a line csv cannot read, JSON that is neither an array nor one
            object per line) or names no users.
    """
    rows = _csv_rows(text) if file_format == "csv" else _json_rows(text)
    result = ReadFile()
    first_line_of: dict[str, int] = {}
    for number, fields in rows:
        entry, problems = _entry(fields)
        if entry is not None:
            problems += [(v.field, v.description) for v in violations_of(entry, tenant_id, now)]
            earlier = first_line_of.setdefault(entry.user_id, number)
            if earlier != number:
                problems.append(("user_id", f"repeats line {earlier}'s user; each user once"))
        if problems or entry is None:
            result.bad.append(BadLine(number, tuple(problems)))
        else:
            result.good.append(Line(number, entry))
    if not result.good and not result.bad:
        raise CommandRefused("the file names no users: nothing to import")
    return result


# --- CSV ------------------------------------------------------------------------------------


def _csv_rows(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    lines_before = 0
    for row in _checked(reader):
        # csv counts the lines it has read, and a quoted field may span several: a row
        # starts on the line after those read before it.
        number, lines_before = lines_before + 1, reader.line_num
        if not any(cell.strip() for cell in row):
            continue  # blank lines
        if header is None:
            header = _header(row)
            continue
        if len(row) != len(header):
            yield number, {"": f"has {len(row)} fields; the header names {len(header)}"}
            continue
        yield number, {name: cell.strip() for name, cell in zip(header, row, strict=True)}
    if header is None:
        raise CommandRefused("the CSV file is empty: it needs a header row, e.g. user_id,secret")


def _checked(reader: Any) -> Iterator[list[str]]:
    """The reader's rows; a file csv cannot read on (a field over 128 KiB, a NUL) is refused."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise CommandRefused(
                f"the CSV file breaks at line {reader.line_num}: {error}; nothing was imported"
            ) from None
        yield row


def _header(row: list[str]) -> list[str]:
    names = [ALIASES.get(cell.strip().lower(), cell.strip().lower()) for cell in row]
    # Named by position, not quoted: without a header row, this is a user's secret.
    unknown = [str(i) for i, name in enumerate(names, start=1) if name not in COLUMNS]
    if unknown:
        raise CommandRefused(
            f"the CSV header's column {', '.join(unknown)} is not a known name: the first "
            f"row must name the columns, of {', '.join(COLUMNS)} (user_id and secret required)"
        )
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise CommandRefused(
            f"the CSV header lacks {' and '.join(missing)}: its first row must name the "
            f"columns, of {', '.join(COLUMNS)}"
        )
    if len(set(names)) != len(names):
        raise CommandRefused("the CSV header names a column twice")
    return names


# --- JSON -----------------------------------------------------------------------------------


def _json_rows(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    start = _skip_space(text, 0)
    if start < len(text) and text[start] == "[":
        yield from _json_array(text, start + 1)
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            yield number, {"": f"is not JSON ({error.msg})"}
            continue
        yield number, _object(value)


def _json_array(text: str, position: int) -> Iterator[tuple[int, dict[str, Any]]]:
    """The elements of a JSON array, each with the line it starts on."""
    decoder = json.JSONDecoder()
    position = _skip_space(text, position)
    if text.startswith("]", position):
        return
    while True:
        number = text.count("\n", 0, position) + 1
        try:
            value, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as error:
            raise CommandRefused(
                f"the JSON array breaks at line {error.lineno}, column {error.colno}: {error.msg}"
            ) from None
        yield number, _object(value)
        position = _skip_space(text, position)
        if text.startswith(",", position):
            position = _skip_space(text, position + 1)
        elif text.startswith("]", position):
            return
        else:
            line = text.count("\n", 0, position) + 1
            raise CommandRefused(f"the JSON array breaks at line {line}: expected ',' or ']'")


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        return {"": "is not a JSON object with user_id and secret"}
    fields: dict[str, Any] = {}
    for name, item in value.items():
        column = ALIASES.get(str(name).lower(), str(name).lower())
        if column not in COLUMNS:
            return {"": f"names an unknown field {name!r}; allowed: {', '.join(COLUMNS)}"}
        fields[column] = "" if item is None else item
    return fields


# --- one entry ------------------------------------------------------------------------------


def _entry(fields: dict[str, Any]) -> tuple[AuthenticatorEntry | None, list[tuple[str, str]]]:
    """The entry the fields describe, or None with the reason it cannot be read."""
    if "" in fields:
        return None, [("", str(fields[""]))]
    problems: list[tuple[str, str]] = []
    numbers: dict[str, int | None] = {}
    for name in _INTEGER_FIELDS:
        numbers[name] = _integer(fields.get(name, ""), name, problems)
    texts = {name: fields.get(name, "") for name in ("user_id", "secret", "algorithm")}
    for name, item in texts.items():
        if not isinstance(item, str):
            problems.append((name, "must be a string"))
    if problems:
        return None, problems
    return (
        AuthenticatorEntry(
            user_id=texts["user_id"],
            secret=texts["secret"],
            digits=numbers["digits"] or 0,
            period=numbers["period"] or 0,
            algorithm=texts["algorithm"],
            last_used_step=numbers["last_used_step"],
        ),
        problems,
    )


def _integer(item: Any, name: str, problems: list[tuple[str, str]]) -> int | None:
    if item == "":
        return None
    if isinstance(item, bool) or not isinstance(item, int | str):
        problems.append((name, "must be a whole number"))
        return None
    if isinstance(item, int):
        return item
    try:
        return int(item.strip())
    except ValueError:
        # Not quoted: in a file with its columns mixed up, this could be a secret.
        problems.append((name, "is not a whole number"))
        return None
