"""Every screen of the help page, walked in Chromium against a real twofa and real SMTP.

Each test signs up its own user (its own workspace, so its own 2FA policy) in a fresh
browser context. twofa allows one email code a minute per user, set-up codes included,
so the users of the email sign-in tests enroll first (a module fixture) and those tests
run last, by when their minute has passed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from conftest import Shoot, Stack
from panel_steps import (
    backup_codes_in,
    begin_app_setup,
    code_in,
    count_mail,
    enable_app,
    enable_email,
    enter_code,
    expect_notice,
    field_error,
    other_code,
    press,
    secret_on_page,
    shown_backup_codes,
    sign_in,
    sign_out,
    sign_up,
    totp,
    wait_for_mail,
    wrong_totp,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

# One worker runs this whole file: one browser, and the email users' minute runs meanwhile.
pytestmark = pytest.mark.xdist_group("panel-browser")

WARNING = "Please try again in five minutes."
BACKUP_MAIL = "backup codes"
LOGIN_MAIL = "sign-in code"
SETUP_MAIL = "Confirm your email address"
EMAIL_COOLDOWN_SECONDS = 60


def heading(page: Page, name: str) -> None:
    page.get_by_role("heading", name=name, level=1).wait_for()


def card(page: Page, title: str) -> Locator:
    """The settings card whose heading is `title`."""
    return page.locator(".card").filter(has=page.get_by_role("heading", name=title, exact=True))


@dataclass
class EmailUser:
    address: str
    enrolled_at: float

    def wait_for_cooldown(self) -> None:
        """twofa refuses a second email code within a minute of the first."""
        remaining = self.enrolled_at + EMAIL_COOLDOWN_SECONDS + 1 - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)


@pytest.fixture(scope="module")
def email_users(browser: Browser, stack: Stack) -> Iterator[dict[str, EmailUser]]:
    """Users with email codes on, enrolled before the other tests run."""
    users: dict[str, EmailUser] = {}
    for address in ("grace@example.com", "hedy@example.com"):
        context = browser.new_context(base_url=stack.url)
        page = context.new_page()
        sign_up(page, address)
        enable_email(page, stack.mail, address)
        users[address] = EmailUser(address, time.monotonic())
        context.close()
    yield users


@pytest.fixture(scope="module", autouse=True)
def _enroll_email_users_first(email_users: dict[str, EmailUser]) -> None:
    """Starts the email users' minute before anything else."""


# ------------------------------------------------------------------ sign-up and sign-in


def test_sign_up_then_sign_in_without_2fa(page: Page, shoot: Shoot) -> None:
    page.goto("/signup")
    page.get_by_label("Email address").fill("ada@example.com")
    page.get_by_label("Password").fill("short")
    press(page, "Create account")
    assert field_error(page, "Password") == "Use at least 12 characters."
    assert page.get_by_role("alert").filter(has_text="There is a problem").is_visible()
    shoot(page, "sign-up-error")

    sign_up(page, "ada@example.com")
    expect_notice(page, "Your account is ready")
    for method in ("Email", "Authenticator app"):
        assert card(page, method).locator(".badge").inner_text() == "Off"
    assert "Two-factor authentication is off" in page.locator(".lead").inner_text()
    shoot(page, "settings-off")

    sign_out(page)
    sign_in(page, "ada@example.com", "not the password")
    assert field_error(page, "Password") == "The email address or password is not right."
    shoot(page, "sign-in")
    sign_in(page, "ada@example.com")
    # 2FA is optional and ada has none: EvaluateLogin says NOT_REQUIRED.
    heading(page, "Two-Factor Authentication")


# ------------------------------------------------------------------ email codes


def test_email_set_up_with_the_code_from_the_mailbox(
    page: Page, stack: Stack, shoot: Shoot
) -> None:
    sign_up(page, "annie@example.com")
    press(page, "Set up email", role="link")
    heading(page, "Set up email codes")
    assert page.get_by_label("Email address for codes").input_value() == "annie@example.com"
    shoot(page, "email-set-up")
    press(page, "Send the code")
    heading(page, "Enter the Authentication Code")
    expect_notice(page, "We sent a six-digit code to a***@example.com")

    # Read the code the way a person does: in the mailbox (the SMTP catcher's page).
    wait_for_mail(stack.mail, "annie@example.com", SETUP_MAIL)
    press(page, "Mailbox demo", role="link")
    heading(page, "Mailbox demo")
    newest = page.locator("article.mail").first
    assert "annie@example.com" in newest.inner_text()
    code = code_in(newest.locator("pre").inner_text())
    shoot(page, "mailbox", full_page=False)

    page.goto("/settings/2fa/email/confirm")
    enter_code(page, other_code(code), label="Code from the email")
    assert field_error(page, "Code from the email") == "That code did not work. 4 attempts left."
    shoot(page, "email-code-wrong")
    enter_code(page, code, label="Code from the email")

    # The first method: the backup codes, shown once and emailed.
    codes = shown_backup_codes(page)
    assert len(codes) == 10
    mailed = backup_codes_in(wait_for_mail(stack.mail, "annie@example.com", BACKUP_MAIL).text)
    assert mailed == codes
    shoot(page, "backup-codes")
    press(page, "I have saved them", role="link")
    assert not any(c in page.content() for c in codes)  # never shown again
    assert card(page, "Email").locator(".badge").inner_text() == "On"
    assert "a***@example.com" in card(page, "Email").inner_text()  # twofa's masked address
    assert "10 of 10" in card(page, "Backup codes").inner_text()
    shoot(page, "settings-email-on")

    # Signing in at once: the set-up code was used, so the first login code goes at once;
    # asking again while it is outstanding is refused for now (RESOURCE_EXHAUSTED with
    # RetryInfo), and the page says how long to wait.
    sign_out(page)
    sign_in(page, "annie@example.com")
    heading(page, "Enter the Authentication Code")
    press(page, "Email me a code")
    expect_notice(page, "We emailed a code to a***@example.com")
    press(page, "Email me a code")
    expect_notice(page, "You can ask for a new one in")
    expect_notice(page, "seconds")
    shoot(page, "login-email-cooldown")

    # A backup code instead: it works once.
    enter_code(page, codes[0])
    heading(page, "Two-Factor Authentication")
    expect_notice(page, "You used a backup code: 9 left")
    sign_out(page)
    sign_in(page, "annie@example.com")
    enter_code(page, codes[0])
    assert field_error(page, "Authentication code") == "That code did not work. 4 attempts left."
    enter_code(page, codes[1].lower().replace("-", ""))  # any case, dashes optional
    expect_notice(page, "You used a backup code: 8 left")

    assert_never_logged(stack, code, *codes)


# ------------------------------------------------------------------ authenticator app


def test_authenticator_app_set_up_sign_in_and_new_backup_codes(
    page: Page, stack: Stack, shoot: Shoot
) -> None:
    sign_up(page, "alan@example.com")
    secret = begin_app_setup(page)
    assert len(secret) >= 32  # 160-bit key in base32
    qr = page.get_by_role("img", name="QR code to scan with your authenticator app")
    assert qr.evaluate("img => img.naturalWidth") > 0
    shoot(page, "app-set-up")

    enter_code(page, wrong_totp(secret), label="Code from the app")
    assert field_error(page, "Code from the app") == "That code did not work. 4 attempts left."
    assert page.locator("#secret").count() == 0  # the key is never shown twice
    shoot(page, "app-set-up-wrong-code")
    enter_code(page, totp(secret), label="Code from the app")
    codes = shown_backup_codes(page)
    # Email codes are off, so the backup codes went to the account's address (notify_email).
    assert backup_codes_in(wait_for_mail(stack.mail, "alan@example.com", BACKUP_MAIL).text) == codes
    press(page, "I have saved them", role="link")
    assert card(page, "Authenticator app").locator(".badge").inner_text() == "On"
    shoot(page, "settings-app-on")

    sign_out(page)
    sign_in(page, "alan@example.com")
    heading(page, "Enter the Authentication Code")
    assert not page.get_by_role("button", name="Email me a code").is_visible()
    shoot(page, "login-code")
    enter_code(page, totp(secret, offset_steps=1))  # the next step: this one was used
    heading(page, "Two-Factor Authentication")

    # New backup codes: shown once, emailed, and the old set stops working.
    before = count_mail(stack.mail, "alan@example.com", BACKUP_MAIL)
    press(page, "Create new codes")
    fresh = shown_backup_codes(page)
    assert set(fresh).isdisjoint(codes)
    expect_notice(page, "New backup codes are ready")
    mail = wait_for_mail(stack.mail, "alan@example.com", BACKUP_MAIL, seen=before)
    assert backup_codes_in(mail.text) == fresh
    shoot(page, "backup-codes-new")
    press(page, "I have saved them", role="link")
    sign_out(page)
    sign_in(page, "alan@example.com")
    enter_code(page, codes[2])
    assert field_error(page, "Authentication code") == "That code did not work. 4 attempts left."
    enter_code(page, fresh[0])
    expect_notice(page, "You used a backup code: 9 left")

    assert_never_logged(stack, secret, *codes, *fresh)


def test_reset_then_turn_off_the_app(page: Page, stack: Stack, shoot: Shoot) -> None:
    sign_up(page, "barbara@example.com")
    old_secret, _ = enable_app(page)

    press(page, "Reset authenticator app")
    expect_notice(page, "The current one keeps working until")
    new_secret = secret_on_page(page)
    assert new_secret != old_secret
    shoot(page, "app-reset")
    enter_code(page, totp(new_secret), label="Code from the app")
    heading(page, "Two-Factor Authentication")
    expect_notice(page, "Authenticator app: on.")  # not the first method: no new codes

    sign_out(page)
    sign_in(page, "barbara@example.com")
    enter_code(page, totp(old_secret, offset_steps=1))
    assert field_error(page, "Authentication code").startswith("That code did not work.")
    enter_code(page, totp(new_secret, offset_steps=1))
    heading(page, "Two-Factor Authentication")

    press(page, "Turn off authenticator app", role="link")
    heading(page, "Turn off authenticator app?")
    shoot(page, "turn-off")
    page.get_by_label("Your password").fill("not the password")
    press(page, "Turn off")
    assert field_error(page, "Your password") == "That password is not right."
    page.get_by_label("Your password").fill("a long enough password")
    press(page, "Turn off")
    heading(page, "Two-Factor Authentication")
    expect_notice(page, "your backup codes were deleted")
    assert "Two-factor authentication is off" in page.locator(".lead").inner_text()
    shoot(page, "settings-turned-off")

    sign_out(page)
    sign_in(page, "barbara@example.com")
    heading(page, "Two-Factor Authentication")  # no second step any more


# ------------------------------------------------------------------ attempts


def test_warning_from_the_third_failure_and_lockout_after_the_fifth(
    page: Page, stack: Stack, shoot: Shoot
) -> None:
    sign_up(page, "linus@example.com")
    secret, _ = enable_app(page)
    sign_out(page)
    sign_in(page, "linus@example.com")
    wrong = wrong_totp(secret)

    for failure, left in ((1, 4), (2, 3)):
        enter_code(page, wrong)
        assert field_error(page, "Authentication code") == (
            f"That code did not work. {left} attempts left."
        ), failure
        assert WARNING not in page.content()
    for left in (2, 1):
        enter_code(page, wrong)
        assert page.get_by_role("alert").filter(has_text=WARNING).is_visible()
        assert f"{left} attempt" in field_error(page, "Authentication code")
        if left == 2:
            shoot(page, "login-warning")

    enter_code(page, wrong)
    lockout = page.locator("#lockout")
    assert "Too many failed attempts." in lockout.inner_text()
    assert "Try again in 5 minutes (after " in lockout.inner_text()
    assert page.get_by_label("Authentication code").count() == 0
    shoot(page, "login-locked-out")

    # Signing in again does not help: EvaluateLogin says LOCKED_OUT with the time left.
    sign_in(page, "linus@example.com")
    assert "Try again in 5 minutes" in page.locator("#lockout").inner_text()


# ------------------------------------------------------------------ policy


def test_policy_trusted_browser_skips_the_code_until_cookies_are_cleared(
    page: Page, stack: Stack, shoot: Shoot
) -> None:
    sign_up(page, "katherine@example.com")
    secret, backup_codes = enable_app(page)
    press(page, "2FA Policy", role="link")
    heading(page, "2FA Policy")
    assert page.get_by_label("Every login").is_checked()
    shoot(page, "policy")

    # twofa checks the values: its field violation appears next to the field.
    page.get_by_label("Show the warning from this failure on").fill("6")
    press(page, "Save policy")
    assert field_error(page, "Show the warning from this failure on") == (
        "Not accepted: the value is 6; allowed: 1 to max_attempts (5)."
    )
    shoot(page, "policy-error")
    page.get_by_label("Show the warning from this failure on").fill("3")
    page.get_by_label("Skip on a trusted device or browser").check()
    page.get_by_label("Days a browser stays trusted").fill("14")
    press(page, "Save policy")
    expect_notice(page, "The 2FA policy is saved")
    assert page.get_by_label("Skip on a trusted device or browser").is_checked()

    sign_out(page)
    sign_in(page, "katherine@example.com")
    remember = page.get_by_label("Don't ask again on this browser for 14 days")
    remember.check()
    shoot(page, "login-remember-browser")
    enter_code(page, totp(secret, offset_steps=1))
    heading(page, "Two-Factor Authentication")

    cookie = next(c for c in page.context.cookies() if c["name"] == "twofa_device")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert cookie["secure"] is False  # plain http here; https makes it Secure
    assert cookie["path"] == "/login"
    expires = datetime.fromtimestamp(cookie["expires"], UTC)
    assert abs(expires - (datetime.now(UTC) + timedelta(days=14))) < timedelta(hours=1)
    devices = page.locator("table tbody tr")
    assert devices.count() == 1
    assert "Chrome" in devices.first.inner_text()
    shoot(page, "settings-trusted-browser")

    sign_out(page)
    sign_in(page, "katherine@example.com")
    heading(page, "Two-Factor Authentication")  # no code: the browser is trusted
    expect_notice(page, "This browser is trusted")
    shoot(page, "sign-in-trusted-browser")

    sign_out(page)
    page.context.clear_cookies()
    sign_in(page, "katherine@example.com")
    heading(page, "Enter the Authentication Code")  # asked again

    # A backup code can trust the browser too. The first token still counts (its cookie
    # was cleared, not revoked) until the user forgets every browser.
    page.get_by_label("Don't ask again on this browser for 14 days").check()
    enter_code(page, backup_codes[0])
    assert page.locator("table tbody tr").count() == 2
    press(page, "Forget all browsers")
    expect_notice(page, "Forgot 2 browsers")
    sign_out(page)
    sign_in(page, "katherine@example.com")
    heading(page, "Enter the Authentication Code")
    assert "twofa_device" not in [c["name"] for c in page.context.cookies()]  # stale: deleted


def test_the_qr_code_on_screen_holds_the_key_shown_beside_it(page: Page, tmp_path: Path) -> None:
    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        if os.environ.get("CI"):
            pytest.fail("zbarimg is missing although CI is set: install zbar-tools in CI")
        pytest.skip("zbarimg not installed (apt-get install zbar-tools)")
    sign_up(page, "hopper@example.com")
    secret = begin_app_setup(page)
    shot = tmp_path / "qr.png"
    page.locator("img.qr").screenshot(path=str(shot))  # what a phone would scan
    scanned = subprocess.run(
        [zbarimg, "--raw", "-q", str(shot)], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    uri = urlsplit(scanned)
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert unquote(uri.path) == "/Control Panel:hopper@example.com"
    query = parse_qs(uri.query)
    assert query["secret"] == [secret]
    assert query["issuer"] == ["Control Panel"]


def test_required_policy_sends_a_user_without_2fa_to_set_up(page: Page, shoot: Shoot) -> None:
    sign_up(page, "margaret@example.com")
    page.goto("/security/policy")
    page.get_by_label("Required: users without 2FA must set it up when they sign in").check()
    press(page, "Save policy")
    expect_notice(page, "The 2FA policy is saved")

    sign_out(page)
    sign_in(page, "margaret@example.com")
    heading(page, "Two-Factor Authentication")
    expect_notice(page, "Your workspace requires two-factor authentication")
    shoot(page, "enrollment-required")
    page.goto("/security/policy")
    heading(page, "Two-Factor Authentication")  # the rest of the panel waits
    enable_app(page)
    page.goto("/security/policy")
    heading(page, "2FA Policy")


# ------------------------------------------------------------------ accessibility


def test_pages_work_by_keyboard_with_labelled_fields(page: Page) -> None:
    sign_up(page, "tim@example.com")
    begin_app_setup(page)
    for path in ("/settings/2fa", "/security/policy", "/settings/2fa/email", "/mailbox"):
        page.goto(path)
        assert_labelled_with_one_h1(page)
    sign_out(page)
    assert_labelled_with_one_h1(page)

    # Sign in without the mouse: the email field has focus, Tab moves, Enter submits.
    from playwright.sync_api import expect

    page.goto("/login")
    expect(page.get_by_label("Email address")).to_be_focused()  # autofocus
    page.keyboard.type("tim@example.com")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    style = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert style not in ("", "none"), "focus must be visible"
    page.keyboard.type("a long enough password")
    page.keyboard.press("Enter")
    heading(page, "Two-Factor Authentication")


def assert_labelled_with_one_h1(page: Page) -> None:
    unlabelled = page.evaluate(
        """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
             .filter(el => el.labels.length === 0).map(el => el.name)"""
    )
    assert unlabelled == [], page.url
    assert page.locator("h1").count() == 1, page.url


# ------------------------------------------------------------------ email sign-in (last)


def test_sign_in_with_an_emailed_code(
    page: Page, stack: Stack, email_users: dict[str, EmailUser], shoot: Shoot
) -> None:
    user = email_users["grace@example.com"]
    user.wait_for_cooldown()
    sign_in(page, user.address)
    heading(page, "Enter the Authentication Code")
    before = count_mail(stack.mail, user.address, LOGIN_MAIL)
    press(page, "Email me a code")
    expect_notice(page, "We emailed a code to g***@example.com")
    shoot(page, "login-email-sent")
    code = code_in(wait_for_mail(stack.mail, user.address, LOGIN_MAIL, seen=before).text)
    enter_code(page, code)
    heading(page, "Two-Factor Authentication")
    assert_never_logged(stack, code)


def test_reset_then_turn_off_email(
    page: Page, stack: Stack, email_users: dict[str, EmailUser], shoot: Shoot
) -> None:
    user = email_users["hedy@example.com"]
    # The second step of this sign-in uses a backup code: no email is sent.
    sign_in(page, user.address)
    enter_code(page, backup_code_of(stack, user.address))
    heading(page, "Two-Factor Authentication")
    user.wait_for_cooldown()

    press(page, "Reset email", role="link")
    page.get_by_label("Email address for codes").fill("hedy.lamarr@example.org")
    press(page, "Send the code")
    code = code_in(wait_for_mail(stack.mail, "hedy.lamarr@example.org", SETUP_MAIL).text)
    enter_code(page, code, label="Code from the email")
    heading(page, "Two-Factor Authentication")
    expect_notice(page, "Email codes: on.")
    assert "h***@example.org" in card(page, "Email").inner_text()

    press(page, "Turn off email", role="link")
    page.get_by_label("Your password").fill("a long enough password")
    press(page, "Turn off")
    expect_notice(page, "Two-factor authentication is off")


def backup_code_of(stack: Stack, address: str) -> str:
    codes = backup_codes_in(wait_for_mail(stack.mail, address, BACKUP_MAIL).text)
    return codes[-1]


def assert_never_logged(stack: Stack, *secrets: str) -> None:
    """No code, key or backup code in twofa's log, its audit log or the panel's log."""
    logs = stack.logs()
    assert logs, "the logs are empty: the check would prove nothing"
    leaked = [s for s in secrets if s in logs or s.replace("-", "") in logs]
    assert leaked == []
