"""Sign-up, and the sign-in with its second step: where twofa's answers decide the page.

password ok -> EvaluateLogin -> NOT_REQUIRED         -> signed in
                             -> ENROLLMENT_REQUIRED  -> signed in, set-up pages only
                             -> REQUIRED             -> code page -> VerifyCode
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from twofa_client import (
    FailedPrecondition,
    LoginDecision,
    LoginReason,
    Method,
    ResourceExhausted,
    Verification,
    VerifyResult,
)

from .accounts import MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, EmailTaken, User
from .web import (
    begin_second_step,
    browser_label,
    clock_text,
    date_text,
    device_token,
    forget_browser,
    panel,
    remember_browser,
    second_step_user,
    signed_in_user,
    start_session,
    typed_code,
    wait_text,
    wrong_code_text,
)

bp = Blueprint("login", __name__)


@bp.route("/signup", methods=["GET", "POST"])
def sign_up() -> ResponseReturnValue:
    errors: dict[str, str] = {}
    email = request.form.get("email", "").strip()
    if request.method == "POST":
        password = request.form.get("password", "")
        if "@" not in email or len(email) > 254:
            errors["email"] = "Enter an email address like name@example.com."
        if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
            errors["password"] = f"Use at least {MIN_PASSWORD_CHARS} characters."
        if not errors:
            try:
                user = panel().accounts.create(email, password)
            except EmailTaken:
                errors["email"] = "An account with this address exists. Sign in instead."
            else:
                start_session(user)
                flash("Your account is ready. Protect it with two-factor authentication.", "info")
                return redirect(url_for("two_factor.settings"))
    return render_template("signup.html", email=email, errors=errors), 400 if errors else 200


@bp.route("/login", methods=["GET", "POST"])
def sign_in() -> ResponseReturnValue:
    if request.method == "GET":
        if signed_in_user() is not None:
            return redirect(url_for("two_factor.settings"))
        return render_template("login.html", email="", error="")
    email = request.form.get("email", "").strip()
    user = panel().accounts.authenticate(email, request.form.get("password", ""))
    if user is None:
        error = "The email address or password is not right."
        return render_template("login.html", email=email, error=error), 400
    return _after_password(user)


def _after_password(user: User) -> Response:
    """The password was right: ask twofa whether this login needs the second factor."""
    twofa = panel().twofa
    # The cookie of an earlier "remember this browser", if any: twofa says whether it holds.
    login = twofa.evaluate_login(user.tenant_id, user.twofa_user_id, device_token=device_token())

    if login.decision is LoginDecision.NOT_REQUIRED:
        # Either 2FA is optional and the user has none, or this browser is trusted.
        start_session(user)
        if login.reason is LoginReason.TRUSTED_DEVICE:
            flash(
                "This browser is trusted, so no code was needed. It stays trusted "
                f"until {date_text(login.device_expires_at)}.",
                "info",
            )
        return redirect(url_for("two_factor.settings"))

    if login.decision is LoginDecision.ENROLLMENT_REQUIRED:
        # The workspace's policy requires 2FA and this user has no method yet.
        start_session(user, must_enroll=True)
        flash("Your workspace requires two-factor authentication. Set it up to go on.", "warning")
        return redirect(url_for("two_factor.settings"))

    # REQUIRED: for the policy (EVERY_LOGIN_POLICY), because this browser is not
    # trusted (DEVICE_NOT_TRUSTED) or because the user is locked out (LOCKED_OUT).
    begin_second_step(user)
    response = redirect(url_for("login.second_step"))
    if device_token() and login.reason is LoginReason.DEVICE_NOT_TRUSTED:
        forget_browser(response)  # expired or revoked: no use sending it again
    return response


@bp.get("/login/code")
def second_step() -> ResponseReturnValue:
    user = second_step_user()
    if user is None:
        return redirect(url_for("login.sign_in"))
    return _code_page(user)


def _code_page(
    user: User, *, error: str = "", answer: Verification | None = None, status: int = 200
) -> ResponseReturnValue:
    """The "Enter the Authentication Code" page, with what twofa says this user can use now."""
    twofa = panel().twofa
    login = twofa.evaluate_login(user.tenant_id, user.twofa_user_id, device_token=device_token())
    policy = twofa.get_policy(user.tenant_id).policy
    locked = login.reason is LoginReason.LOCKED_OUT or (answer is not None and answer.locked_out)
    if answer is not None and answer.locked_out:
        retry_after, locked_until = answer.retry_after, answer.locked_until
    else:
        retry_after, locked_until = login.retry_after, login.locked_until
    return render_template(
        "login_code.html",
        methods=login.available_methods,
        Method=Method,
        backup_codes_remaining=login.backup_codes_remaining,
        # Offer "remember this browser" only when the policy would honour it.
        offer_remember=login.reason is LoginReason.DEVICE_NOT_TRUSTED,
        trusted_days=policy.trusted_device_days,
        locked=locked,
        wait=wait_text(retry_after),
        locked_until=clock_text(locked_until),
        error=error,
        warning=answer.warning if answer else "",
    ), status


@bp.post("/login/code")
def verify() -> ResponseReturnValue:
    user = second_step_user()
    if user is None:
        flash("That took too long. Sign in again.", "warning")
        return redirect(url_for("login.sign_in"))
    remember = request.form.get("remember") == "yes"
    try:
        answer = panel().twofa.verify_code(
            user.tenant_id,
            user.twofa_user_id,
            typed_code(),  # app, email or backup code: twofa tells them apart by their shape
            remember_device=remember,
            device_label=browser_label(request.headers.get("User-Agent", "")),
        )
    except FailedPrecondition:  # 2FA was turned off meanwhile: decide this login again
        return _after_password(user)
    if answer.result is VerifyResult.ACCEPTED:
        start_session(user)
        response = redirect(url_for("two_factor.settings"))
        if answer.device_token:  # issued only if asked for and the policy trusts devices
            remember_browser(response, answer.device_token, answer.device_token_expires_at)
        if answer.method is Method.BACKUP_CODE:
            flash(
                f"You used a backup code: {answer.backup_codes_remaining} left. "
                "Create new ones below if you are running low.",
                "warning",
            )
        return response
    # A wrong code is an answer, not an error. REJECTED: attempts_remaining says how many
    # tries are left, and from the 3rd failure on `warning` holds the policy's text
    # ("Please try again in five minutes."). LOCKED_OUT: retry_after says how long.
    error = "" if answer.locked_out else wrong_code_text(answer.attempts_remaining)
    return _code_page(user, error=error, answer=answer, status=400)


@bp.post("/login/code/email")
def send_email_code() -> ResponseReturnValue:
    user = second_step_user()
    if user is None:
        return redirect(url_for("login.sign_in"))
    try:
        sent = panel().twofa.send_login_code(user.tenant_id, user.twofa_user_id)
    except ResourceExhausted as busy:
        # Inside the 60 s resend cooldown (or the hourly cap): twofa says how long to wait.
        wait = wait_text(busy.retry_after)
        flash(f"A code was sent recently. You can ask for a new one in {wait}.", "warning")
    else:
        expires = clock_text(sent.code_expires_at)
        flash(f"We emailed a code to {sent.masked_email}. It works once, until {expires}.", "info")
    return redirect(url_for("login.second_step"))


@bp.post("/logout")
def sign_out() -> ResponseReturnValue:
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("login.sign_in"))
