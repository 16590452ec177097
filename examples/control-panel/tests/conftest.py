"""The stack the browser tests drive, all real: a `twofa serve` process on a free port with a
temporary data directory, the SMTP catcher, the panel on a free port, and Debian's Chromium
through Playwright (one browser for the session, a fresh context for each test).

Environment:
    TWOFA_REQUIRE_BROWSER=1      a missing Chromium or Playwright fails instead of skipping
    TWOFA_ARTIFACTS=DIR          where screenshots go (default: $TMPDIR/twofa-panel-screenshots)
    TWOFA_UPDATE_SCREENSHOTS=1   also refresh the committed copies in ../screenshots/
    TWOFA_CHROMIUM=PATH          another Chromium binary (default /usr/bin/chromium)
"""

from __future__ import annotations

import importlib.util
import logging
import os
import secrets
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pytest
from werkzeug.serving import make_server

from control_panel import PanelSettings, create_app
from control_panel.mail_catcher import MailCatcher
from control_panel.sidecar import TwofaServer, start_twofa
from twofa_client import TwoFactorClient

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path(os.environ.get("TWOFA_CHROMIUM") or "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
COMMITTED_SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"


class Shoot(Protocol):
    def __call__(self, page: Page, name: str, *, full_page: bool = True) -> None: ...


@dataclass
class Stack:
    url: str
    mail: Path
    """The catcher's folder: every message twofa sent."""
    twofa: TwofaServer
    client: TwoFactorClient
    panel_log: Path

    def logs(self) -> str:
        """Everything twofa and the panel logged, for checks that no secret leaked."""
        paths = [self.twofa.log_path, self.twofa.log_path.with_name("audit.log"), self.panel_log]
        return "\n".join(p.read_text(errors="replace") for p in paths if p.exists())


def _missing_browser() -> str:
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install -e '.[panel]')"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    return ""


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    missing = _missing_browser()
    if missing:
        if os.environ.get("TWOFA_REQUIRE_BROWSER") == "1":
            pytest.fail(f"TWOFA_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    # Debian's Chromium, never a downloaded one: `playwright install` is not needed.
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    root = Path(tempfile.mkdtemp(prefix="twofa-panel-"))
    catcher = MailCatcher(root / "mailbox")
    catcher.start()
    twofa = start_twofa(root / "twofa", smtp_port=catcher.port)
    client = TwoFactorClient(twofa.target, timeout=10)
    panel_log = root / "panel.log"
    handler = logging.FileHandler(panel_log)
    for name in ("werkzeug", "control_panel"):  # request lines and the panel's own messages
        logging.getLogger(name).addHandler(handler)
        logging.getLogger(name).setLevel(logging.INFO)
    settings = PanelSettings(
        database=root / "panel.sqlite3",
        secret_key=secrets.token_bytes(32),
        mailbox_dir=catcher.folder,
    )
    server = make_server("127.0.0.1", 0, create_app(settings, client), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Stack(
            f"http://127.0.0.1:{server.server_port}", catcher.folder, twofa, client, panel_log
        )
    finally:
        server.shutdown()
        client.close()
        twofa.stop()
        catcher.stop()
        for name in ("werkzeug", "control_panel"):
            logging.getLogger(name).removeHandler(handler)
        handler.close()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def page(browser: Browser, stack: Stack) -> Iterator[Page]:
    """A page in a fresh browser context: no cookies from another test."""
    context = browser.new_context(base_url=stack.url, viewport={"width": 1000, "height": 760})
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="session")
def shoot() -> Shoot:
    """shoot(page, "name") saves name.png (the whole page) for people to look at."""
    # The default is one fixed folder, overwritten by each run, so that runs do not pile up.
    default = Path(tempfile.gettempdir()) / "twofa-panel-screenshots"
    artifacts = Path(os.environ.get("TWOFA_ARTIFACTS") or default)
    artifacts.mkdir(parents=True, exist_ok=True)
    update = os.environ.get("TWOFA_UPDATE_SCREENSHOTS") == "1"

    def save(page: Page, name: str, *, full_page: bool = True) -> None:
        path = artifacts / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page, animations="disabled", caret="hide")
        if update:
            shutil.copyfile(path, COMMITTED_SCREENSHOTS / path.name)

    return save
