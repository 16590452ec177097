"""The `twofa` command: serve, and keyring management."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from .app import StartupError, serve
from .config import ConfigError, add_flags, load_settings
from .crypto import KeyringError, generate_keyring, write_keyring
from .operations import OPERATION_ERRORS, add_commands
from .store.codec import RecordError
from .store.keycheck import KeyringMismatch

# Failures a user can fix; they are printed as one line, never as a traceback.
USER_ERRORS = (
    ConfigError,
    KeyringError,
    KeyringMismatch,
    StartupError,
    RecordError,
    *OPERATION_ERRORS,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="twofa", description="two-factor-authentication sidecar")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="run the gRPC server")
    add_flags(serve_cmd)
    keys = commands.add_parser("keys", help="manage the keyring").add_subparsers(
        dest="keys_command", required=True
    )
    generate = keys.add_parser("generate", help="write a new keyring (mode 0600)")
    generate.add_argument("path", type=Path)
    generate.add_argument("--force", action="store_true", help="overwrite an existing file")
    add_commands(commands, keys)  # keys rotate, keys drop, backup, status
    return parser


def _serve(args: argparse.Namespace) -> None:
    settings = load_settings(vars(args), config_file=args.config)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    serve(settings)


def _generate(args: argparse.Namespace) -> None:
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


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if getattr(args, "run", None) is not None:
            args.run(args)
        elif args.command == "serve":
            _serve(args)
        elif args.command == "keys":
            _generate(args)
    except USER_ERRORS as exc:
        print(f"twofa: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
