"""`make demo`: twofa, a local SMTP catcher and the control panel on one machine.

    python examples/control-panel/demo.py [--data-dir ./demo-data] [--port 8000]

Everything lives in the data directory (twofa's store and development keyring, the
panel's SQLite file and session key, the caught mail), so a second run finds the
same users. Ctrl-C stops all three.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import secrets
import signal
import sys
from pathlib import Path
from types import FrameType

from werkzeug.serving import make_server

from control_panel import PanelSettings, create_app
from control_panel.accounts import Accounts, EmailTaken
from control_panel.mail_catcher import MailCatcher
from control_panel.sidecar import start_twofa
from twofa_client import TwoFactorClient

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "correct-horse-battery"  # noqa: S105 - a published demo password


def secret_key(path: Path) -> bytes:
    """The panel's session key, made once and kept (mode 0600) so sessions survive restarts."""
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip().encode()


def seed_demo_user(database: Path) -> None:
    with contextlib.suppress(EmailTaken):  # kept from an earlier run, with whatever 2FA it has
        Accounts(database).create(DEMO_EMAIL, DEMO_PASSWORD, tenant_id="demo")


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("demo-data"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    data_dir: Path = args.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's per-connection lines
    signal.signal(signal.SIGTERM, _stop_on_sigterm)

    catcher = MailCatcher(data_dir / "mailbox")
    catcher.start()
    try:
        twofa = start_twofa(data_dir / "twofa", smtp_port=catcher.port)
    except RuntimeError as failed:
        catcher.stop()
        print(f"demo: {failed}", file=sys.stderr)
        return 1
    client = TwoFactorClient(twofa.target)
    database = data_dir / "panel.sqlite3"
    seed_demo_user(database)
    settings = PanelSettings(
        database=database,
        secret_key=secret_key(data_dir / "panel-secret-key"),
        mailbox_dir=catcher.folder,
    )
    try:
        server = make_server(args.host, args.port, create_app(settings, client), threaded=True)
    except OSError as busy:
        print(f"demo: cannot listen on {args.host}:{args.port}: {busy}", file=sys.stderr)
        twofa.stop()
        catcher.stop()
        return 1

    if twofa.created_keyring:
        print(f"demo: created a DEVELOPMENT keyring in {data_dir / 'twofa'}")
    print(
        f"\n  Control panel:  http://{args.host}:{args.port}/\n"
        f"  Sign in as:     {DEMO_EMAIL} / {DEMO_PASSWORD}   (or sign up)\n"
        f"  Mail:           http://{args.host}:{args.port}/mailbox (SMTP catcher on port "
        f"{catcher.port})\n"
        f"  twofa:          {twofa.target}, log in {twofa.log_path}\n"
        "  Codes:          an authenticator app, or: oathtool --totp -b KEY\n"
        "  Stop:           Ctrl-C\n",
        flush=True,
    )
    try:
        server.serve_forever()  # returns on Ctrl-C (werkzeug catches the KeyboardInterrupt)
    finally:
        print("\ndemo: stopping the panel, twofa and the SMTP catcher", flush=True)
        server.server_close()
        client.close()
        twofa.stop()
        catcher.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
