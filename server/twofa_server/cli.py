"""The `twofa` command: `serve`, and the operator commands (commands/)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from .app import serve
from .commands import add_commands
from .config import add_flags, load_settings
from .errors import OperatorError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="twofa", description="two-factor-authentication sidecar")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_command = commands.add_parser("serve", help="run the gRPC server")
    add_flags(serve_command)
    serve_command.set_defaults(run=_serve)
    add_commands(commands)
    return parser


def _serve(args: argparse.Namespace) -> None:
    settings = load_settings(vars(args), config_file=args.config)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    serve(settings)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        args.run(args)
    except OperatorError as exc:  # something the operator can fix: one line, no traceback
        print(f"twofa: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
