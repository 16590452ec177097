"""Message templates (built-in, overridable by files) and rendering a Mail into an EmailMessage."""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from string import Template

from .defaults import DEFAULTS
from .mail import Mail, MailKind, PermanentDeliveryError

# What each kind's templates may use. $expires_in is "10 minutes" / "1 minute", the
# grammatical form of $expires_minutes.
_COMMON = frozenset({"brand", "recipient"})
_ALLOWED: Mapping[MailKind, frozenset[str]] = {
    MailKind.SETUP_CODE: _COMMON | {"code", "expires_minutes", "expires_in"},
    MailKind.LOGIN_CODE: _COMMON | {"code", "expires_minutes", "expires_in"},
    MailKind.BACKUP_CODES: _COMMON | {"codes"},
}
_CODE_PLACEHOLDER = {
    MailKind.SETUP_CODE: "code",
    MailKind.LOGIN_CODE: "code",
    MailKind.BACKUP_CODES: "codes",
}
_SECRET_PLACEHOLDERS = frozenset({"code", "codes"})
_MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
_MAX_MESSAGE_ID_CHARS = 200
_NOT_ALPHANUMERIC = re.compile(r"[^0-9A-Z]+")
_HTML_CODES_STYLE = (
    "font-family: 'Courier New', Courier, monospace; font-size: 20px; line-height: 1.6;"
)


class TemplateError(Exception):
    """A template cannot be used; str() is one line naming the file and what is wrong."""


def _has_control_characters(value: str) -> bool:
    return any(unicodedata.category(ch)[0] == "C" for ch in value)


@dataclass(frozen=True)
class MailStyle:
    """What messages look like: brand, sender and where override templates live.

    Attributes:
        brand: the product name shown in subjects and bodies ($brand).
        sender_name: display name in the From header; empty for the bare address.
        from_address: the sender address (mail.from); its domain also ends Message-IDs.
        template_dir: a directory of override files, or None for the built-in templates.
    """

    brand: str = "twofa"
    sender_name: str = "twofa"
    from_address: str = "twofa@localhost"
    template_dir: Path | None = None

    def __post_init__(self) -> None:
        """Checks the values that end up in headers.

        Raises:
            ValueError: a value is empty where required, holds a control character or
                is not an address; the message names the setting.
        """
        if not self.brand.strip() or _has_control_characters(self.brand):
            raise ValueError("mail.brand must be non-empty text without control characters")
        if _has_control_characters(self.sender_name):
            raise ValueError("mail.sender_name must not hold control characters")
        address = _parse_address(self.from_address)
        if address is None:
            raise ValueError(
                f"mail.from is {self.from_address!r}; expected an address like twofa@example.com"
            )


def _parse_address(value: str) -> Address | None:
    """Returns the address, or None unless `value` is exactly one name@domain address."""
    try:
        address = Address(addr_spec=value)
    except (ValueError, HeaderParseError):
        return None
    if not address.username or not address.domain or _has_control_characters(value):
        return None
    return address


@dataclass(frozen=True)
class _KindTemplates:
    subject: Template
    text: Template
    html: Template


class Templates:
    """The subject, text and HTML templates of every MailKind, loaded and checked once."""

    def __init__(self, style: MailStyle) -> None:
        """Loads the built-in templates and any override files, and checks them all.

        Override files in `style.template_dir` are named `<kind>.subject.txt`,
        `<kind>.txt` and `<kind>.html` (kind: setup_code, login_code, backup_codes);
        a missing file means the built-in template. Placeholders: $brand, $recipient,
        $code, $expires_minutes and $expires_in in code mails, $codes in backup-code mails.

        Args:
            style: brand, sender and the override directory.

        Raises:
            TemplateError: the directory is missing, or a file is unreadable, not UTF-8,
                uses an unknown placeholder or a stray '$', leaves out the code in a body,
                or puts a code in a subject.
        """
        self._style = style
        sender = Address(display_name=style.sender_name, addr_spec=style.from_address)
        self._sender = sender
        self._domain = sender.domain
        directory = style.template_dir
        if directory is not None and not directory.is_dir():
            raise TemplateError(
                f"{directory}: the mail template directory (mail.template_dir) does not exist"
            )
        self._templates = {kind: _load_kind(kind, directory) for kind in MailKind}

    def render(self, mail: Mail, now: float) -> EmailMessage:
        """Builds the multipart/alternative (text and HTML) message for `mail`.

        Args:
            mail: what to send.
            now: the current Unix time, for the Date header and the time left on the code.

        Returns:
            The message, with From, To, Subject, Date, Message-ID and Auto-Submitted set.

        Raises:
            ValueError: `mail` is inconsistent (codes or expiry that do not fit its kind, or
                a message_id that is not letters, digits, '.', '_' and '-').
            PermanentDeliveryError: the recipient is not a valid address, the code has
                already expired, or the subject would show a code.
        """
        _check_shape(mail)
        recipient = _parse_address(mail.recipient)
        if recipient is None:
            # The address itself stays out of the message: errors get logged.
            raise PermanentDeliveryError(f"{mail.kind.value} mail: the recipient is not an address")
        values = self._values(mail, now)
        templates = self._templates[mail.kind]
        subject = templates.subject.substitute(values)
        if _shows_a_code(subject, mail.codes):
            raise PermanentDeliveryError(
                f"{mail.kind.value} mail: the subject would show a code (check mail.brand)"
            )
        html_values = {name: html.escape(value) for name, value in values.items()}
        if mail.kind is MailKind.BACKUP_CODES:
            html_values["codes"] = _html_code_list(mail.codes)

        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = recipient
        message["Subject"] = subject
        message["Date"] = format_datetime(datetime.fromtimestamp(now, UTC))
        message["Message-ID"] = f"<{mail.message_id}@{self._domain}>"
        # RFC 3834: tells mail servers and clients not to send vacation or bounce-style
        # auto-replies; the second header is Exchange's equivalent.
        message["Auto-Submitted"] = "auto-generated"
        message["X-Auto-Response-Suppress"] = "All"
        message.set_content(templates.text.substitute(values))
        message.add_alternative(templates.html.substitute(html_values), subtype="html")
        return message

    def _values(self, mail: Mail, now: float) -> dict[str, str]:
        values = {"brand": self._style.brand, "recipient": mail.recipient}
        if mail.kind is MailKind.BACKUP_CODES:
            values["codes"] = "\n".join(mail.codes)
            return values
        assert mail.expires_at is not None  # _check_shape guarantees it
        left = mail.expires_at - now
        if left <= 0:
            raise PermanentDeliveryError(
                f"{mail.kind.value} mail: the code expired before it could be sent"
            )
        # Rounded to the nearest minute, at least one: "expires in 9 minutes" for a code
        # sent a second after it was made would read as a mistake.
        minutes = max(1, math.floor(left / 60 + 0.5))
        values["code"] = mail.codes[0]
        values["expires_minutes"] = str(minutes)
        values["expires_in"] = "1 minute" if minutes == 1 else f"{minutes} minutes"
        return values


def _check_shape(mail: Mail) -> None:
    if mail.kind is MailKind.BACKUP_CODES:
        if not mail.codes or mail.expires_at is not None:
            raise ValueError("a backup_codes mail needs at least one code and no expires_at")
    elif len(mail.codes) != 1 or mail.expires_at is None:
        raise ValueError(f"a {mail.kind.value} mail needs exactly one code and an expires_at")
    if len(mail.message_id) > _MAX_MESSAGE_ID_CHARS or not _MESSAGE_ID.match(mail.message_id):
        raise ValueError(
            f"message_id must be 1-{_MAX_MESSAGE_ID_CHARS} letters, digits, '_' or '-', "
            "in parts joined by '.'"
        )


def _shows_a_code(subject: str, codes: tuple[str, ...]) -> bool:
    # Compared without separators or case, the way codes are accepted.
    folded = _NOT_ALPHANUMERIC.sub("", subject.upper())
    return any(_NOT_ALPHANUMERIC.sub("", code.upper()) in folded for code in codes)


def _html_code_list(codes: tuple[str, ...]) -> str:
    items = "".join(f"<li>{html.escape(code)}</li>" for code in codes)
    return f'<ul style="{_HTML_CODES_STYLE}">{items}</ul>'


def _load_kind(kind: MailKind, directory: Path | None) -> _KindTemplates:
    subject, text, html_body = DEFAULTS[kind]
    return _KindTemplates(
        subject=_load(kind, ".subject.txt", subject, directory, is_subject=True),
        text=_load(kind, ".txt", text, directory, is_subject=False),
        html=_load(kind, ".html", html_body, directory, is_subject=False),
    )


def _load(
    kind: MailKind, suffix: str, default: str, directory: Path | None, *, is_subject: bool
) -> Template:
    filename = kind.value + suffix
    name, source = f"built-in {filename}", default
    if directory is not None:
        path = directory / filename
        try:
            source = path.read_text(encoding="utf-8")
            name = str(path)
        except FileNotFoundError:
            pass
        except UnicodeDecodeError:
            raise TemplateError(f"{path}: not UTF-8 text") from None
        except OSError as error:
            raise TemplateError(f"{path}: cannot be read: {error.strerror}") from None
    if is_subject:
        source = source.strip()
    template = _compile(source, name, _ALLOWED[kind])
    used = set(template.get_identifiers())
    if is_subject:
        if not source or "\n" in source or "\r" in source:
            raise TemplateError(f"{name}: a subject must be exactly one non-empty line")
        if used & _SECRET_PLACEHOLDERS:
            raise TemplateError(
                f"{name}: a subject must not hold the code (${min(used & _SECRET_PLACEHOLDERS)});"
                " mail previews and lock screens show subjects"
            )
    elif _CODE_PLACEHOLDER[kind] not in used:
        raise TemplateError(
            f"{name}: does not use ${_CODE_PLACEHOLDER[kind]}, so the message would not hold "
            "the code"
        )
    return template


def _compile(source: str, name: str, allowed: frozenset[str]) -> Template:
    template = Template(source)
    if not template.is_valid():
        raise TemplateError(
            f"{name}: line {_first_invalid_line(template)}: '$' must start a placeholder "
            "such as $brand, or be doubled ($$) for a literal '$'"
        )
    unknown = sorted(set(template.get_identifiers()) - allowed)
    if unknown:
        names = ", ".join(f"${placeholder}" for placeholder in sorted(allowed))
        raise TemplateError(f"{name}: unknown placeholder ${unknown[0]}; allowed here: {names}")
    return template


def _first_invalid_line(template: Template) -> int:
    for match in template.pattern.finditer(template.template):
        if match.group("invalid") is not None:
            return template.template.count("\n", 0, match.start("invalid")) + 1
    return 1
