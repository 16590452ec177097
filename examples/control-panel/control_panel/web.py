"""Glue every page shares: who is signed in, CSRF tokens, the device cookie, wording of waits.

Sessions are Flask's signed cookies: the browser holds them, the panel's secret key
signs them, so they cannot be forged; they hold ids and flags, never a code or secret.
"""

from __future__ import annotations

import hmac
import math
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import Flask, abort, current_app, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from twofa_client import TwoFactorClient

from .accounts import Accounts, User
from .settings import PanelSettings

P = ParamSpec("P")
R = TypeVar("R")

DEVICE_COOKIE = "twofa_device"
# A password checked but no second factor yet: how long the code page stays open.
SECOND_STEP_SECONDS = 600


@dataclass(frozen=True, slots=True)
class Panel:
    """What views need, kept in app.extensions["panel"]."""

    settings: PanelSettings
    accounts: Accounts
    twofa: TwoFactorClient


def panel() -> Panel:
    found = current_app.extensions["panel"]
    assert isinstance(found, Panel)
    return found


class SessionCookieFollowsScheme(SecureCookieSessionInterface):
    """The session cookie is Secure whenever the page was served over https."""

    def get_cookie_secure(self, app: Flask) -> bool:
        # Behind a TLS-terminating proxy, wrap the app in werkzeug's ProxyFix so
        # that request.is_secure sees the https the browser used.
        return request.is_secure


# ------------------------------------------------------------------ who is signed in


def start_session(user: User, *, must_enroll: bool = False) -> None:
    """Signs `user` in: a fresh session (new CSRF token), nothing carried over."""
    session.clear()
    session["user_id"] = user.id
    if must_enroll:
        # The workspace requires 2FA and this user has none: only the set-up pages open.
        session["must_enroll"] = True


def begin_second_step(user: User) -> None:
    """The password was right; the session remembers that until the code is checked."""
    session.clear()
    session["second_step"] = {"user_id": user.id, "since": time.time()}


def second_step_user() -> User | None:
    """The user between password and code, if that step has not expired."""
    pending = session.get("second_step")
    if not isinstance(pending, dict):
        return None
    if time.time() - float(pending.get("since", 0)) > SECOND_STEP_SECONDS:
        session.pop("second_step", None)
        return None
    return panel().accounts.get(int(pending["user_id"]))


def signed_in_user() -> User | None:
    user_id = session.get("user_id")
    return panel().accounts.get(int(user_id)) if user_id is not None else None


def login_required(view: Callable[P, ResponseReturnValue]) -> Callable[P, ResponseReturnValue]:
    """Redirects to the sign-in page when nobody is signed in."""

    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
        if signed_in_user() is None:
            return redirect(url_for("login.sign_in"))
        return view(*args, **kwargs)

    return wrapper


def current_user() -> User:
    """The signed-in user, in a view behind login_required."""
    user = signed_in_user()
    assert user is not None, "the view is behind login_required"
    return user


# ------------------------------------------------------------------ CSRF


def csrf_token() -> str:
    """The session's anti-forgery token, put into every form as a hidden field."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    """Refuses a POST whose form token is not this session's (a forged cross-site form)."""
    if request.method != "POST":
        return
    sent = request.form.get("csrf_token", "")
    expected = session.get("csrf")
    if not isinstance(expected, str) or not hmac.compare_digest(sent, expected):
        abort(400, "The form expired or did not come from this site. Go back and try again.")


# ------------------------------------------------------------------ the trusted-device cookie


def device_token() -> str:
    """The token of an earlier "remember this browser", or "" (twofa then trusts nothing)."""
    return request.cookies.get(DEVICE_COOKIE, "")


def remember_browser(response: Response, token: str, expires_at: datetime | None) -> None:
    """Keeps twofa's device token in a cookie that lives exactly as long as the token.

    HttpOnly: page scripts never see it. SameSite=Lax: other sites' forms do not send it.
    Secure over https. Path /login: only the sign-in form needs it.
    """
    response.set_cookie(
        DEVICE_COOKIE,
        token,
        expires=expires_at,
        path="/login",
        secure=request.is_secure,
        httponly=True,
        samesite="Lax",
    )


def forget_browser(response: Response) -> None:
    response.delete_cookie(DEVICE_COOKIE, path="/login", httponly=True, samesite="Lax")


# The first match wins: Edge's agent also says Chrome, Chrome's also says Safari.
_BROWSERS = (
    ("Edg/", "Edge"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


def browser_label(user_agent: str) -> str:
    """'Chrome on Linux': how the trusted browser is listed on the settings page."""
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), "Browser")
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), "")
    label = f"{browser} on {system}" if system else browser
    return "Headless " + label if "Headless" in user_agent else label


# ------------------------------------------------------------------ wording


def wait_text(wait: timedelta | None) -> str:
    """'4 minutes', '45 seconds': a retry_after as a person reads it (rounded up)."""
    seconds = max(1, math.ceil(wait.total_seconds())) if wait else 1
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minutes"


def wrong_code_text(attempts_remaining: int) -> str:
    """What a page says about a wrong code: twofa's budget counts every kind of code."""
    left = attempts_remaining
    return f"That code did not work. {left} attempt{'s' if left != 1 else ''} left."


def clock_text(moment: datetime | None) -> str:
    return moment.strftime("%H:%M UTC") if moment else ""


def date_text(moment: datetime | None) -> str:
    return moment.strftime("%d %b %Y, %H:%M UTC") if moment else "never"


_SPACES = re.compile(r"\s+")


def typed_code(field: str = "code") -> str:
    """The code as typed, spaces removed (twofa also ignores dashes and case)."""
    return _SPACES.sub("", request.form.get(field, ""))[:64]
