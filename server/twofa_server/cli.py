"""The `twofa` command: `serve`, and the operator commands (commands/)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from .commands import add_commands
from .config import add_flags, load_settings
from .errors import OperatorError
from .version import version

log = logging.getLogger("twofa")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="twofa", description="two-factor-authentication sidecar")
    parser.add_argument("--version", action="version", version=f"twofa {version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_command = commands.add_parser("serve", help="run the gRPC server")
    add_flags(serve_command)
    serve_command.set_defaults(run=_serve)
    add_commands(commands)
    return parser


def _serve(args: argparse.Namespace) -> None:
    # Imported here: the commands that only call a running server (`twofa health`, run by
    # a container's HEALTHCHECK every few seconds) start without the server's weight.
    from .app import serve
    from .observability.logs import configure_logging

    settings = load_settings(vars(args), config_file=args.config)
    configure_logging(settings.log_level, settings.log_format)
    try:
        serve(settings)
    except OperatorError as refused:
        if settings.log_format != "json":
            raise
        # A platform reading JSON logs gets the refusal as a log line too, not as text.
        log.critical("%s", refused)
        raise SystemExit(refused.exit_status) from None


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        args.run(args)
    except OperatorError as exc:  # something the operator can fix: one line, no traceback
        print(f"twofa: {exc}", file=sys.stderr)
        return exc.exit_status
    return 0


if __name__ == "__main__":
    sys.exit(main())
