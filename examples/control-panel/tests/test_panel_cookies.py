"""Cookie flags over https, which the browser tests (plain http on loopback) cannot show."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path

from werkzeug.wrappers import Response

from control_panel import PanelSettings, create_app
from control_panel.web import remember_browser
from twofa_client import TwoFactorClient

EXPIRES = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)


def set_cookies(scheme: str, tmp_path: Path) -> list[str]:
    """The Set-Cookie headers of a page that signs nobody in but issues a device cookie."""
    settings = PanelSettings(
        database=tmp_path / "panel.sqlite3", secret_key=secrets.token_bytes(32)
    )
    # No call reaches twofa here: the channel only connects when used.
    with TwoFactorClient("127.0.0.1:9") as unused:
        app = create_app(settings, unused)

        @app.get("/cookie-probe")
        def probe() -> Response:
            response = Response("ok")
            remember_browser(response, "t" * 43, EXPIRES)
            return response

        client = app.test_client()
        login = client.get("/login", base_url=f"{scheme}://panel.example")  # session (CSRF token)
        probed = client.get("/cookie-probe", base_url=f"{scheme}://panel.example")
    return login.headers.getlist("Set-Cookie") + probed.headers.getlist("Set-Cookie")


def test_over_https_both_cookies_are_secure(tmp_path: Path) -> None:
    headers = set_cookies("https", tmp_path)
    device = next(h for h in headers if h.startswith("twofa_device="))
    assert "; Secure" in device
    assert "; HttpOnly" in device
    assert "; SameSite=Lax" in device
    assert "; Path=/login" in device
    assert "Expires=Tue, 06 May 2031 07:08:09 GMT" in device  # the token's own expiry
    session = next(h for h in headers if h.startswith("session="))
    assert "; Secure" in session
    assert "; HttpOnly" in session


def test_over_http_cookies_are_not_marked_secure(tmp_path: Path) -> None:
    headers = set_cookies("http", tmp_path)
    assert sorted(h.split("=", 1)[0] for h in headers) == ["session", "twofa_device"]
    assert all("; Secure" not in h for h in headers)
