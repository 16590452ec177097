"""What a person does in the panel, as Playwright steps, and how the tests read twofa's mail.

TOTP codes are computed here, independently of twofa (RFC 6238: HMAC-SHA-1, 6 digits,
30 s steps). twofa accepts each time step once per user and ±1 step of skew, so a test
confirms an app with the current step's code and signs in with the next step's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
import time
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from control_panel.mail_catcher import CaughtMessage, read_messages

if TYPE_CHECKING:
    from playwright.sync_api import Page

PASSWORD = "a long enough password"
SIX_DIGITS = re.compile(r"(?<![\d-])\d{6}(?![\d-])")
BACKUP_CODE = re.compile(r"\b[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}\b")
MAIL_WAIT_SECONDS = 15.0


# ------------------------------------------------------------------ codes


def totp(secret_b32: str, offset_steps: int = 0, at: float | None = None) -> str:
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    counter = int((time.time() if at is None else at) // 30) + offset_steps
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def wrong_totp(secret_b32: str) -> str:
    """Six digits that match none of the steps twofa accepts now or soon."""
    taken = {totp(secret_b32, k) for k in range(-2, 4)}
    return next(c for c in ("123456", "654321", "111111", "222222") if c not in taken)


def other_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


# ------------------------------------------------------------------ mail


def wait_for_mail(folder: Path, to: str, subject: str, seen: int = 0) -> CaughtMessage:
    """The newest message to `to` whose subject holds `subject`, once more than `seen`
    such messages arrived (twofa sends from its outbox, a moment after the call)."""
    deadline = time.monotonic() + MAIL_WAIT_SECONDS
    while True:
        found = [m for m in read_messages(folder) if to in m.to and subject in m.subject]
        if len(found) > seen:
            return found[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"no mail to {to} about {subject!r} after {MAIL_WAIT_SECONDS} s")
        time.sleep(0.05)


def count_mail(folder: Path, to: str, subject: str) -> int:
    return sum(1 for m in read_messages(folder) if to in m.to and subject in m.subject)


def code_in(text: str) -> str:
    """The one six-digit code in a message's text."""
    codes = SIX_DIGITS.findall(text)
    assert len(codes) == 1, text
    code: str = codes[0]
    return code


def backup_codes_in(text: str) -> list[str]:
    codes: list[str] = BACKUP_CODE.findall(text)
    return codes


# ------------------------------------------------------------------ pages


def press(page: Page, name: str, role: Literal["button", "link"] = "button") -> None:
    """Clicks a button or link that loads a page, and waits until that page has loaded."""
    page.get_by_role(role, name=name, exact=True).click()
    page.wait_for_load_state()


def expect_notice(page: Page, text: str) -> None:
    """Waits for a flash message or notice holding `text` (fails after the timeout)."""
    page.locator(".notice", has_text=text).first.wait_for()


def sign_up(page: Page, email: str) -> None:
    page.goto("/signup")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    press(page, "Create account")
    page.get_by_role("heading", name="Two-Factor Authentication", level=1).wait_for()


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Submits the password step; the test checks where it lands."""
    page.goto("/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    press(page, "Sign in")


def sign_out(page: Page) -> None:
    press(page, "Sign out")
    page.get_by_role("heading", name="Sign in", level=1).wait_for()


def enter_code(page: Page, code: str, label: str = "Authentication code") -> None:
    page.get_by_label(label).fill(code)
    page.get_by_label(label).press("Enter")  # submits the form, as a person would
    page.wait_for_load_state()


def secret_on_page(page: Page) -> str:
    """The key shown beside the QR code, as a person would type it into the app."""
    return page.locator("#secret code").inner_text().replace(" ", "")


def shown_backup_codes(page: Page) -> list[str]:
    page.get_by_role("heading", name="Your backup codes").wait_for()
    return page.get_by_role("list", name="Backup codes").locator("code").all_inner_texts()


def begin_app_setup(page: Page) -> str:
    """From the 2FA settings page to the QR code; returns the secret shown."""
    page.goto("/settings/2fa")
    press(page, "Set up authenticator app")
    page.get_by_role("heading", name="Set up the authenticator app").wait_for()
    return secret_on_page(page)


def enable_app(page: Page) -> tuple[str, list[str]]:
    """Sets the app up with the current step's code; returns the secret and backup codes."""
    secret = begin_app_setup(page)
    enter_code(page, totp(secret), label="Code from the app")
    codes = shown_backup_codes(page)
    press(page, "I have saved them", role="link")
    return secret, codes


def enable_email(page: Page, mail: Path, address: str) -> list[str]:
    """Sets email codes up with the code from the catcher; returns the backup codes."""
    page.goto("/settings/2fa")
    press(page, "Set up email", role="link")
    page.get_by_label("Email address for codes").fill(address)
    press(page, "Send the code")
    message = wait_for_mail(mail, address, "Confirm your email address")
    enter_code(page, code_in(message.text), label="Code from the email")
    codes = shown_backup_codes(page)
    press(page, "I have saved them", role="link")
    return codes


def field_error(page: Page, label: str) -> str:
    """The error text tied to a field through aria-describedby ("" when none)."""
    field = page.get_by_label(label, exact=True)
    if field.get_attribute("aria-invalid") != "true":
        return ""
    ids = (field.get_attribute("aria-describedby") or "").split()
    errors = [page.locator(f"#{i}").text_content() or "" for i in ids if i.endswith("-error")]
    return " ".join(" ".join(errors).split()).removeprefix("Error: ")
