"""The built-in subject, plain-text and HTML templates, used where no override file exists."""

from __future__ import annotations

from .mail import MailKind

# Each entry: (subject, text, html). Placeholders are string.Template ones; see
# templates.py for what each means. Subjects never hold the code: mail previews and
# lock screens show subjects to anyone nearby.

_HTML_HEAD = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width"></head>
<body style="font-family: Arial, Helvetica, sans-serif; font-size: 16px; line-height: 1.5; \
color: #222222; max-width: 560px;">
"""
_HTML_CODE_STYLE = (
    "font-family: 'Courier New', Courier, monospace; font-size: 28px; "
    "font-weight: bold; letter-spacing: 4px;"
)
_HTML_FOOT = """</body>
</html>
"""

SETUP_CODE = (
    "Confirm your email address for $brand",
    """Hello,

Enter this code in $brand to finish turning on sign-in codes by
email:

    $code

The code works once and expires in $expires_in. Do not share it
with anyone.

If you did not ask for this, ignore this message: nothing changes
unless the code is entered.
""",
    _HTML_HEAD
    + f"""<p>Hello,</p>
<p>Enter this code in $brand to finish turning on sign-in codes by email:</p>
<p style="{_HTML_CODE_STYLE}">$code</p>
<p>The code works once and expires in $expires_in. Do not share it with anyone.</p>
<p>If you did not ask for this, ignore this message: nothing changes unless the code
is entered.</p>
"""
    + _HTML_FOOT,
)

LOGIN_CODE = (
    "Your $brand sign-in code",
    """Hello,

Enter this code in $brand to finish signing in:

    $code

The code works once and expires in $expires_in. Do not share it
with anyone.

If you did not try to sign in, ignore this message and change your
$brand password: someone who knows it tried to sign in as you.
""",
    _HTML_HEAD
    + f"""<p>Hello,</p>
<p>Enter this code in $brand to finish signing in:</p>
<p style="{_HTML_CODE_STYLE}">$code</p>
<p>The code works once and expires in $expires_in. Do not share it with anyone.</p>
<p>If you did not try to sign in, ignore this message and change your $brand password:
someone who knows it tried to sign in as you.</p>
"""
    + _HTML_FOOT,
)

BACKUP_CODES = (
    "Your new $brand backup codes",
    """Hello,

Here are your backup codes for $brand. If you cannot use your usual
sign-in method, for example because you lost your phone, sign in with
one of them instead:

$codes

Each code works once. These codes replace any backup codes you had
before; the old ones no longer work.

Keep them somewhere safe, such as a password manager, then delete this
message.

If you did not turn on two-step sign-in or ask for new backup codes,
change your $brand password now: someone else may be signed in to your
account.
""",
    _HTML_HEAD
    + """<p>Hello,</p>
<p>Here are your backup codes for $brand. If you cannot use your usual sign-in method,
for example because you lost your phone, sign in with one of them instead:</p>
$codes
<p>Each code works once. These codes replace any backup codes you had before; the old
ones no longer work.</p>
<p>Keep them somewhere safe, such as a password manager, then delete this message.</p>
<p>If you did not turn on two-step sign-in or ask for new backup codes, change your
$brand password now: someone else may be signed in to your account.</p>
"""
    + _HTML_FOOT,
)

DEFAULTS: dict[MailKind, tuple[str, str, str]] = {
    MailKind.SETUP_CODE: SETUP_CODE,
    MailKind.LOGIN_CODE: LOGIN_CODE,
    MailKind.BACKUP_CODES: BACKUP_CODES,
}
