"""`twofa config check`: validate the configuration `twofa serve` would use, without starting.

It reads the same file, variables and flags as serve, checks every value and what
serve checks before it opens anything (TLS files, the bearer token file, the mail
templates and SMTP settings, the keyring, the database password file), and prints
the effective values as TOML, each with where it came from. A secret is never
printed: settings name the *files* secrets are in, and a file's content is read
only to be checked. The store is not opened (`twofa status` does that).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from psycopg import conninfo

from ..config import (
    OPTIONS,
    Option,
    Settings,
    add_flags,
    load_settings_and_sources,
    unused_template_files,
    value_of,
)
from ..core.models import Enforcement, Frequency, Method
from ..crypto import load_keyring
from ..store.postgres.store import connection_args
from ..version import version

_VALUE_COLUMN = 48


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    group = commands.add_parser("config", help="check a configuration").add_subparsers(
        dest="config_command", required=True
    )
    check = group.add_parser(
        "check",
        help="validate the configuration serve would use (file, TWOFA_* variables, flags) and "
        "print the effective values, without starting; secrets are never printed",
    )
    add_flags(check)
    check.set_defaults(run=check_config)


def check_config(args: argparse.Namespace) -> None:
    from ..app import delivery_for, describe_security, security_for  # see cli._serve

    # What the checks log (e.g. plaintext allowed beyond loopback) reads as warnings.
    logging.basicConfig(format="twofa: warning: %(message)s", level=logging.WARNING)
    settings, sources = load_settings_and_sources(vars(args), config_file=args.config)
    security_for(settings)
    delivery_for(settings)
    keyring = load_keyring(settings.keyring_path)
    if settings.store == "postgres":
        connection_args(settings.postgres)  # reads the password file, as serve does
    unused = unused_template_files(settings.mail.template_dir)
    if unused:
        print(f"twofa: warning: {unused}", file=sys.stderr)
    keys = ", ".join(str(key_id) for key_id in sorted(keyring.aead_keys))
    print(f"# twofa {version()}: the configuration is valid (nothing was started)")
    print(f"# keyring {settings.keyring_path}: keys {keys}, primary {keyring.primary_key_id}")
    if settings.listen:
        print(f"# API on {settings.listen}: {describe_security(settings)}")
    if settings.unix_socket:
        print(f"# API on unix:{settings.unix_socket}")
    print("# the store is not opened here: 'twofa status' reads it")
    print(effective_values(settings, sources))


def effective_values(settings: Settings, sources: dict[str, str]) -> str:
    """Every setting as a TOML line (`serve --config` reads it back), with its source."""
    lines = []
    for option in OPTIONS:
        value = value_of(settings, option)
        source = sources.get(option.key, "default")
        if value is None:
            shown = f"# {option.key} is not set"
            if option.key == "keyring_file":
                shown += f": {settings.keyring_path} (<data_dir>/keyring)"
            lines.append(shown)
            continue
        line = f"{option.key} = {_toml(_masked(option, value))}"
        lines.append(f"{line:<{_VALUE_COLUMN}} # {source}")
    return "\n".join(lines)


def _masked(option: Option, value: Any) -> Any:
    """A value that could hold a secret by mistake, without it (a DSN's password is refused
    when loaded; this is a second guard)."""
    if option.quoted or not value:
        return value
    parts = conninfo.conninfo_to_dict(value)
    if "password" in parts:
        parts["password"] = "********"  # noqa: S105 - the mask, not a password
    return conninfo.make_conninfo("", **parts)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Enforcement | Frequency | Method):
        return json.dumps(value.name.lower())
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # strings and paths
