"""The Flask application: blueprints, security headers, the enrollment gate, twofa outages."""

from __future__ import annotations

import base64
import logging

from flask import Flask, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from twofa_client import DeadlineExceeded, TwoFactorClient, TwoFactorError, Unavailable

from . import login, mailbox_page, policy, two_factor
from .accounts import Accounts
from .settings import PanelSettings
from .web import Panel, SessionCookieFollowsScheme, check_csrf, csrf_token, signed_in_user

log = logging.getLogger(__name__)

# Pages a user whose workspace requires 2FA may open before setting a method up.
ENROLLMENT_ENDPOINTS = {"login.sign_out", "mailbox.inbox", "static"}

SECURITY_HEADERS = {
    # No inline script or style anywhere; the QR code is a data: image.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Pages show one-time secrets (QR codes, backup codes): keep them out of caches.
    "Cache-Control": "no-store",
}


def create_app(settings: PanelSettings, twofa: TwoFactorClient) -> Flask:
    app = Flask(__name__)
    app.secret_key = settings.secret_key
    app.session_interface = SessionCookieFollowsScheme()
    app.config.update(SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_HTTPONLY=True)
    app.extensions["panel"] = Panel(settings, Accounts(settings.database), twofa)
    for blueprint in (login.bp, two_factor.bp, policy.bp, mailbox_page.bp):
        app.register_blueprint(blueprint)
    app.jinja_env.globals.update(
        csrf_token=csrf_token,
        signed_in_user=signed_in_user,
        show_mailbox=settings.mailbox_dir is not None,
    )
    app.jinja_env.filters.update(b64encode=_b64encode, grouped=_grouped)
    app.before_request(check_csrf)
    app.before_request(_enrollment_gate)
    app.after_request(_security_headers)
    app.register_error_handler(TwoFactorError, _twofa_failed)
    app.register_error_handler(HTTPException, _http_error)
    app.add_url_rule("/", "home", lambda: redirect(url_for("two_factor.settings")))
    return app


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _grouped(secret: str) -> str:
    """'JBSW Y3DP EHPK 3PXP': the key in groups of four, easier to type (apps ignore spaces)."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _enrollment_gate() -> ResponseReturnValue | None:
    """ENROLLMENT_REQUIRED users stay on the 2FA set-up pages until a method is on."""
    if not session.get("must_enroll") or request.endpoint in ENROLLMENT_ENDPOINTS:
        return None
    if request.blueprint == "two_factor":
        return None
    return redirect(url_for("two_factor.settings"))


def _security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _twofa_failed(error: TwoFactorError) -> ResponseReturnValue:
    """twofa could not answer: fail closed (never let a login through without it)."""
    log.error("twofa call failed: %s", error.code.name)  # the code only: no user input
    outage = isinstance(error, Unavailable | DeadlineExceeded)
    title = "Two-factor service unavailable" if outage else "Something went wrong"
    text = "Please try again in a moment." if outage else "The error was logged."
    return render_template("error.html", title=title, text=text), 503 if outage else 500


def _http_error(error: HTTPException) -> ResponseReturnValue:
    title = f"{error.code} {error.name}"
    return render_template("error.html", title=title, text=error.description), error.code or 500
