"""The built-in English templates."""

from __future__ import annotations

from .frame import CODE_STYLE, FOOT, NoticeText, Triple, Words, html_head
from .mail import MailKind

LANGUAGE = "en"

WORDS = Words(
    minute="1 minute",
    minutes="{n} minutes",
    methods={"authenticator_app": "authenticator app", "email": "email codes"},
    unnamed_device="(no name given)",
    greeting="Hello,",
    labels={
        "when": "When",
        "until": "Locked until",
        "method": "Method",
        "device": "Device",
        "remaining": "Backup codes left",
    },
    closing="This is an automatic security notice from $brand. It holds no code; "
    "there is no need to reply.",
)

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
    html_head(LANGUAGE)
    + f"""<p>Hello,</p>
<p>Enter this code in $brand to finish turning on sign-in codes by email:</p>
<p style="{CODE_STYLE}">$code</p>
<p>The code works once and expires in $expires_in. Do not share it with anyone.</p>
<p>If you did not ask for this, ignore this message: nothing changes unless the code
is entered.</p>
"""
    + FOOT,
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
    html_head(LANGUAGE)
    + f"""<p>Hello,</p>
<p>Enter this code in $brand to finish signing in:</p>
<p style="{CODE_STYLE}">$code</p>
<p>The code works once and expires in $expires_in. Do not share it with anyone.</p>
<p>If you did not try to sign in, ignore this message and change your $brand password:
someone who knows it tried to sign in as you.</p>
"""
    + FOOT,
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
    html_head(LANGUAGE)
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
    + FOOT,
)

CODE_MAILS: dict[MailKind, Triple] = {
    MailKind.SETUP_CODE: SETUP_CODE,
    MailKind.LOGIN_CODE: LOGIN_CODE,
    MailKind.BACKUP_CODES: BACKUP_CODES,
}

_NOT_YOU = "If this was not you, change your $brand password now"

NOTICES: dict[MailKind, NoticeText] = {
    MailKind.METHOD_DISABLED: NoticeText(
        "A sign-in method was turned off for your $brand account",
        "A two-step sign-in method was turned off for your $brand account.",
        "If this was you, there is nothing to do. "
        + _NOT_YOU
        + " and check your two-step sign-in settings: someone else may be signed in as you.",
    ),
    MailKind.RESET_CONFIRMED: NoticeText(
        "Your $brand sign-in method was replaced",
        "A two-step sign-in method of your $brand account was replaced by a new one. The "
        "old one no longer works, and devices you had chosen to trust will be asked for a "
        "code again.",
        "If this was you, there is nothing to do. "
        + _NOT_YOU
        + " and set up two-step sign-in again: someone else may have replaced it with "
        "their own.",
    ),
    MailKind.BACKUP_CODES_REGENERATED: NoticeText(
        "New backup codes were created for your $brand account",
        "New backup codes were created for your $brand account. The old ones no longer work.",
        "If this was you, there is nothing to do. "
        + _NOT_YOU
        + ": someone else may be signed in as you.",
    ),
    MailKind.LOCKED_OUT: NoticeText(
        "Sign-in to $brand is paused after too many wrong codes",
        "Too many wrong sign-in codes were entered for your $brand account, so no code "
        "is accepted until the time below.",
        "If this was you, wait until then and try again. "
        + _NOT_YOU
        + ": someone who knows it is trying to sign in as you.",
    ),
    MailKind.DEVICE_TRUSTED: NoticeText(
        "A new device is trusted for your $brand account",
        "A device was added to your trusted devices: it can sign in to $brand without a "
        "two-step sign-in code for a while.",
        "If this was you, there is nothing to do. "
        + _NOT_YOU
        + " and remove the device from your trusted devices.",
    ),
    MailKind.BACKUP_CODE_USED: NoticeText(
        "A backup code was used for your $brand account",
        "One of your $brand backup codes was used. Each code works once.",
        "If this was you, consider creating new backup codes when few are left. "
        + _NOT_YOU
        + " and create new backup codes: someone else holds one of them.",
    ),
}
