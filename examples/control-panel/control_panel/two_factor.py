"""Profile > User Setting > Two-Factor Authentication: set up, reset and turn off each method,
backup codes, trusted browsers. Every fact on these pages comes from twofa.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from twofa_client import (
    FailedPrecondition,
    InvalidArgument,
    Method,
    MethodState,
    ResourceExhausted,
    SetupConfirmation,
    VerifyResult,
)

from .web import current_user, login_required, panel, typed_code, wait_text, wrong_code_text

bp = Blueprint("two_factor", __name__, url_prefix="/settings/2fa")

METHOD_BY_SLUG = {"email": Method.EMAIL, "app": Method.AUTHENTICATOR_APP}
METHOD_NAMES = {Method.EMAIL: "Email codes", Method.AUTHENTICATOR_APP: "Authenticator app"}


@bp.get("")
@login_required
def settings() -> ResponseReturnValue:
    user, twofa = current_user(), panel().twofa
    status = twofa.get_user_status(user.tenant_id, user.twofa_user_id)
    policy = twofa.get_policy(user.tenant_id).policy
    # A policy may allow only one method; an empty list means both.
    allowed = policy.allowed_methods or (Method.EMAIL, Method.AUTHENTICATOR_APP)
    return render_template(
        "settings_2fa.html",
        status=status,
        email=status.method(Method.EMAIL),
        app=status.method(Method.AUTHENTICATOR_APP),
        email_allowed=Method.EMAIL in allowed,
        app_allowed=Method.AUTHENTICATOR_APP in allowed,
        policy=policy,
        devices=twofa.list_trusted_devices(user.tenant_id, user.twofa_user_id),
        MethodState=MethodState,
    )


# ------------------------------------------------------------------ email


@bp.route("/email", methods=["GET", "POST"])
@login_required
def email_setup() -> ResponseReturnValue:
    """Set up (or Reset) email codes: the address to send the code to."""
    user = current_user()
    address = request.form.get("email", user.email).strip()
    if request.method == "GET":
        return render_template("setup_email.html", address=address, error="")
    error = _send_setup_code(address)
    if error:
        return render_template("setup_email.html", address=address, error=error), 400
    return redirect(url_for("two_factor.email_confirm"))


def _send_setup_code(address: str) -> str:
    """Asks twofa to email a set-up code; returns what went wrong, or ""."""
    user = current_user()
    try:
        sent = panel().twofa.begin_email_setup(user.tenant_id, user.twofa_user_id, address)
    except InvalidArgument:
        return "Enter an email address like name@example.com."
    except ResourceExhausted as busy:  # resend cooldown: RetryInfo says how long
        wait = wait_text(busy.retry_after)
        return f"A code was sent recently. You can ask for a new one in {wait}."
    except FailedPrecondition:
        return "Your workspace's 2FA policy does not allow email codes."
    session["email_setup_address"] = address  # for "send a new code"; not a secret
    flash(f"We sent a six-digit code to {sent.masked_email}.", "info")
    return ""


@bp.route("/email/confirm", methods=["GET", "POST"])
@login_required
def email_confirm() -> ResponseReturnValue:
    user, twofa = current_user(), panel().twofa
    if request.method == "GET":
        email = twofa.get_user_status(user.tenant_id, user.twofa_user_id).method(Method.EMAIL)
        if email is None or not (email.state is MethodState.PENDING or email.reset_pending):
            return redirect(url_for("two_factor.email_setup"))
        return render_template("confirm_email.html", answer=None, error="")
    try:
        answer = twofa.confirm_email_setup(user.tenant_id, user.twofa_user_id, typed_code())
    except FailedPrecondition:  # no pending set-up: it expired (15 min) or was confirmed
        flash("That set-up has expired. Start again.", "warning")
        return redirect(url_for("two_factor.email_setup"))
    if answer.accepted:
        session.pop("email_setup_address", None)
        return _enabled(Method.EMAIL, answer)
    return render_template("confirm_email.html", answer=answer, error=_refusal(answer)), 400


@bp.post("/email/resend")
@login_required
def email_resend() -> ResponseReturnValue:
    error = _send_setup_code(str(session.get("email_setup_address", current_user().email)))
    if error:
        flash(error, "error")
    return redirect(url_for("two_factor.email_confirm"))


# ------------------------------------------------------------------ authenticator app


@bp.post("/app")
@login_required
def app_setup() -> ResponseReturnValue:
    """Set up (or Reset) the app: a new secret, shown once as a QR code and as text."""
    user = current_user()
    try:
        setup = panel().twofa.begin_authenticator_setup(
            user.tenant_id,
            user.twofa_user_id,
            account_name=user.email,  # what the app lists the account as
            issuer=panel().settings.issuer,
        )
    except FailedPrecondition:
        flash("Your workspace's 2FA policy does not allow authenticator apps.", "error")
        return redirect(url_for("two_factor.settings"))
    # twofa keeps the secret only encrypted and never returns it again: this response
    # is the one chance to show it, so it is rendered here and never stored or logged.
    return render_template("setup_app.html", setup=setup, answer=None, error="")


@bp.post("/app/confirm")
@login_required
def app_confirm() -> ResponseReturnValue:
    user = current_user()
    try:
        answer = panel().twofa.confirm_authenticator_setup(
            user.tenant_id,
            user.twofa_user_id,
            typed_code(),
            # Where the backup codes go when email codes are not set up.
            notify_email=user.email,
        )
    except FailedPrecondition:
        flash("That set-up has expired. Start again.", "warning")
        return redirect(url_for("two_factor.settings"))
    if answer.accepted:
        return _enabled(Method.AUTHENTICATOR_APP, answer)
    # The QR code cannot be shown again (twofa does not return the secret twice): the page
    # offers to start over with a new one.
    return render_template("setup_app.html", setup=None, answer=answer, error=_refusal(answer)), 400


# ------------------------------------------------------------------ shared by both set-ups


def _refusal(answer: SetupConfirmation) -> str:
    """What to say about a refused confirmation code (the attempt budget counts these too)."""
    if answer.result is VerifyResult.LOCKED_OUT:
        return f"Too many wrong codes. Try again in {wait_text(answer.retry_after)}."
    return wrong_code_text(answer.attempts_remaining)


def _enabled(method: Method, answer: SetupConfirmation) -> ResponseReturnValue:
    session.pop("must_enroll", None)  # a method is on: the whole panel opens
    if answer.backup_codes:
        # The user's first method: twofa returns the backup codes once (and emails them).
        return render_template("backup_codes.html", codes=answer.backup_codes, first=True)
    flash(f"{METHOD_NAMES[method]}: on.", "success")
    return redirect(url_for("two_factor.settings"))


# ------------------------------------------------------------------ backup codes


@bp.post("/backup-codes")
@login_required
def backup_codes() -> ResponseReturnValue:
    """Create new backup codes: the old ones stop working at once."""
    user = current_user()
    try:
        fresh = panel().twofa.regenerate_backup_codes(
            user.tenant_id, user.twofa_user_id, notify_email=user.email
        )
    except FailedPrecondition:  # no method is on, so there are no backup codes
        flash("Turn on a method first: backup codes come with it.", "warning")
        return redirect(url_for("two_factor.settings"))
    return render_template(
        "backup_codes.html", codes=fresh.codes, first=False, emailed_to=fresh.emailed_to
    )


# ------------------------------------------------------------------ turn off


@bp.route("/<slug>/turn-off", methods=["GET", "POST"])
@login_required
def turn_off(slug: str) -> ResponseReturnValue:
    method = METHOD_BY_SLUG.get(slug) or abort(404)
    user = current_user()
    name = METHOD_NAMES[method]
    if request.method == "GET":
        return render_template("turn_off.html", slug=slug, name=name, error="")
    # Turning off a factor is what an attacker with a stolen session would do: ask for
    # the password again.
    if not panel().accounts.check_password(user, request.form.get("password", "")):
        error = "That password is not right."
        return render_template("turn_off.html", slug=slug, name=name, error=error), 400
    result = panel().twofa.disable_method(user.tenant_id, user.twofa_user_id, method)
    if not result.status.enrolled:
        flash(
            f"{name}: off. Two-factor authentication is off; your backup codes were deleted.",
            "success",
        )
    else:
        flash(f"{name}: off.", "success")
    return redirect(url_for("two_factor.settings"))


# ------------------------------------------------------------------ trusted browsers


@bp.post("/devices/forget")
@login_required
def forget_devices() -> ResponseReturnValue:
    user = current_user()
    device_id = request.form.get("device_id", "")
    count = panel().twofa.revoke_trusted_devices(
        user.tenant_id, user.twofa_user_id, device_id=device_id, all=not device_id
    )
    flash(
        f"Forgot {count} browser{'s' if count != 1 else ''}: they will ask for a code again.",
        "success",
    )
    return redirect(url_for("two_factor.settings"))
