"""Message templates (built-in per language, overridable by files) and rendering a Mail
into an EmailMessage in its tenant's letterhead."""

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

from ..core.letterhead import DEFAULT_LANGUAGE, LANGUAGES
from ..core.validation import is_email_address
from .defaults import DEFAULTS, WORDS
from .frame import FACTS
from .mail import Mail, MailKind, PermanentDeliveryError

# What each kind's templates may use. $expires_in is "10 minutes" / "1 minute", the
# grammatical form of $expires_minutes, in the message's language. A notice's facts:
# $when (what it reports happened then), $method, $until, $device, $remaining.
_COMMON = frozenset({"brand", "recipient"})
_CODE_VALUES = frozenset({"code", "expires_minutes", "expires_in"})
_ALLOWED: Mapping[MailKind, frozenset[str]] = {
    MailKind.SETUP_CODE: _COMMON | _CODE_VALUES,
    MailKind.LOGIN_CODE: _COMMON | _CODE_VALUES,
    MailKind.BACKUP_CODES: _COMMON | {"codes"},
    **{kind: _COMMON | set(facts) for kind, facts in FACTS.items()},
}
# What a body must use: the code, or (a notice) when it happened.
_REQUIRED = {
    MailKind.SETUP_CODE: "code",
    MailKind.LOGIN_CODE: "code",
    MailKind.BACKUP_CODES: "codes",
    **{kind: "when" for kind in FACTS},
}
_SECRET_PLACEHOLDERS = frozenset({"code", "codes"})
_MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
_MAX_MESSAGE_ID_CHARS = 200
_NOT_ALPHANUMERIC = re.compile(r"[^0-9A-Z]+")
_HTML_CODES_STYLE = (
    "font-family: 'Courier New', Courier, monospace; font-size: 20px; line-height: 1.6;"
)
_TIME_FORMAT = "%Y-%m-%d %H:%M UTC"
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")


class TemplateError(Exception):
    """A template cannot be used; str() is one line naming the file and what is wrong."""


def _has_control_characters(value: str) -> bool:
    return any(unicodedata.category(ch)[0] == "C" for ch in value)


@dataclass(frozen=True)
class MailStyle:
    """What messages look like by default: brand, sender, language, where override
    templates live; a tenant's policy may set its own brand, sender and language.

    Attributes:
        brand: the product name shown in subjects and bodies ($brand).
        sender_name: display name in the From header; empty for the bare address.
        from_address: the sender address (mail.from); its domain also ends Message-IDs.
        language: the language of messages whose tenant sets none (mail.language).
        template_dir: a directory of override files, or None for the built-in templates.
        sender_domains: the domains a tenant's sender_address may use; empty: any.
    """

    brand: str = "twofa"
    sender_name: str = "twofa"
    from_address: str = "twofa@localhost"
    language: str = DEFAULT_LANGUAGE
    template_dir: Path | None = None
    sender_domains: tuple[str, ...] = ()

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
        if self.language not in LANGUAGES:
            raise ValueError(f"mail.language is {self.language!r}; allowed: {', '.join(LANGUAGES)}")
        for domain in self.sender_domains:
            if not is_email_address(f"sender@{domain}"):
                raise ValueError(
                    f"mail.sender_domains holds {domain!r}; expected domain names like acme.example"
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


@dataclass(frozen=True)
class _Sender:
    """Whose name a message goes out in, resolved from its letterhead and the style."""

    brand: str
    address: Address
    language: str


class Templates:
    """The subject, text and HTML templates of every MailKind in every language, loaded and
    checked once."""

    def __init__(self, style: MailStyle) -> None:
        """Loads the built-in templates and any override files, and checks them all.

        Override files in `style.template_dir` are named `<kind>.subject.txt`,
        `<kind>.txt` and `<kind>.html` (kind: a MailKind value), in a directory per
        language (`de/login_code.txt`); files directly in the directory are English
        (as `en/`, which wins where both exist). A missing file means the built-in
        template. Placeholders: $brand and $recipient everywhere; $code,
        $expires_minutes and $expires_in in code mails; $codes in backup-code mails;
        $when and the notice's facts ($method, $until, $device, $remaining) in notices.

        Args:
            style: brand, sender, language and the override directory.

        Raises:
            TemplateError: the directory is missing, holds a directory named like a
                language twofa has no templates for (fr, pt-BR), or a file is unreadable,
                not UTF-8, uses an unknown placeholder or a stray '$', leaves out the code
                (or a notice's $when) in a body, or puts a code in a subject.
        """
        self._style = style
        directory = style.template_dir
        if directory is not None:
            _check_directory(directory)
        self._templates = {
            (language, kind): _load_kind(kind, language, directory)
            for language in LANGUAGES
            for kind in MailKind
        }

    def render(self, mail: Mail, now: float) -> EmailMessage:
        """Builds the multipart/alternative (text and HTML) message for `mail`.

        Args:
            mail: what to send, in its letterhead (empty values: the style's).
            now: the current Unix time, for the Date header and the time left on the code.

        Returns:
            The message, with From, To, Subject, Date, Message-ID (ending in the sender's
            domain) and Auto-Submitted set.

        Raises:
            ValueError: `mail` is inconsistent (codes, expiry or notice facts that do not
                fit its kind, or a message_id that is not letters, digits, '.', '_' and '-').
            PermanentDeliveryError: the recipient or the tenant's sender is not a valid
                address, the code has already expired, or the subject would show a code.
        """
        _check_shape(mail)
        recipient = _parse_address(mail.recipient)
        if recipient is None:
            # The address itself stays out of the message: errors get logged.
            raise PermanentDeliveryError(f"{mail.kind.value} mail: the recipient is not an address")
        sender = self._sender_of(mail)
        values = self._values(mail, sender, now)
        templates = self._templates[(sender.language, mail.kind)]
        subject = templates.subject.substitute(values)
        if _shows_a_code(subject, mail.codes):
            raise PermanentDeliveryError(
                f"{mail.kind.value} mail: the subject would show a code (check mail.brand)"
            )
        html_values = {name: html.escape(value) for name, value in values.items()}
        if mail.kind is MailKind.BACKUP_CODES:
            html_values["codes"] = _html_code_list(mail.codes)

        message = EmailMessage()
        message["From"] = sender.address
        message["To"] = recipient
        message["Subject"] = subject
        message["Date"] = format_datetime(datetime.fromtimestamp(now, UTC))
        message["Message-ID"] = f"<{mail.message_id}@{sender.address.domain}>"
        # RFC 3834: tells mail servers and clients not to send vacation or bounce-style
        # auto-replies; the second header is Exchange's equivalent.
        message["Auto-Submitted"] = "auto-generated"
        message["X-Auto-Response-Suppress"] = "All"
        message.set_content(templates.text.substitute(values))
        message.add_alternative(templates.html.substitute(html_values), subtype="html")
        return message

    def _sender_of(self, mail: Mail) -> _Sender:
        """The message's brand, From and language: the tenant's where it set them.

        A tenant's values were checked when its policy was stored; they are checked
        again here, since they end up in headers.
        """
        head, style = mail.letterhead, self._style
        brand = head.brand or style.brand
        name = head.sender_name or head.brand or style.sender_name
        language = head.language if head.language in LANGUAGES else style.language
        address = _parse_address(head.sender_address or style.from_address)
        if address is None or _has_control_characters(name + brand):
            raise PermanentDeliveryError(
                f"{mail.kind.value} mail: the tenant's sender is not a valid address and name"
            )
        return _Sender(brand, Address(display_name=name, addr_spec=address.addr_spec), language)

    def _values(self, mail: Mail, sender: _Sender, now: float) -> dict[str, str]:
        values = {"brand": sender.brand, "recipient": mail.recipient}
        words = WORDS[sender.language]
        if mail.kind is MailKind.BACKUP_CODES:
            values["codes"] = "\n".join(mail.codes)
            return values
        if mail.notice is not None:
            facts = mail.notice
            values["when"] = _time(facts.at)
            for name in FACTS[mail.kind]:
                if name == "method":
                    assert facts.method is not None  # _check_shape guarantees it
                    values[name] = words.methods[facts.method.name.lower()]
                elif name == "until":
                    values[name] = _time(facts.until or facts.at)
                elif name == "device":
                    values[name] = facts.device_label or words.unnamed_device
                elif name == "remaining":
                    values[name] = str(facts.remaining or 0)
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
        values["expires_in"] = words.minute if minutes == 1 else words.minutes.format(n=minutes)
        return values


def _time(unix_seconds: float) -> str:
    return datetime.fromtimestamp(unix_seconds, UTC).strftime(_TIME_FORMAT)


def _check_shape(mail: Mail) -> None:
    if mail.kind.is_notice:
        if mail.codes or mail.expires_at is not None or mail.notice is None:
            raise ValueError(f"a {mail.kind.value} notice needs its facts, and no code or expiry")
        if "method" in FACTS[mail.kind] and mail.notice.method is None:
            raise ValueError(f"a {mail.kind.value} notice needs the method")
    elif mail.kind is MailKind.BACKUP_CODES:
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


def _check_directory(directory: Path) -> None:
    if not directory.is_dir():
        raise TemplateError(
            f"{directory}: the mail template directory (mail.template_dir) does not exist"
        )
    # A directory named like a language tag that twofa has no templates for is a mistake
    # (a typo, or a language it does not ship); other directories are none of its business.
    for entry in sorted(directory.iterdir()):
        if entry.is_dir() and _LANGUAGE_TAG.match(entry.name) and entry.name not in LANGUAGES:
            raise TemplateError(
                f"{entry}: not a language twofa has templates for; language directories "
                f"allowed: {', '.join(LANGUAGES)}"
            )


def _load_kind(kind: MailKind, language: str, directory: Path | None) -> _KindTemplates:
    subject, text, html_body = DEFAULTS[language][kind]
    places: list[Path] = []
    if directory is not None:
        places.append(directory / language)
        if language == "en":
            places.append(directory)
    return _KindTemplates(
        subject=_load(kind, ".subject.txt", subject, places, language, is_subject=True),
        text=_load(kind, ".txt", text, places, language, is_subject=False),
        html=_load(kind, ".html", html_body, places, language, is_subject=False),
    )


def _load(
    kind: MailKind,
    suffix: str,
    default: str,
    places: list[Path],
    language: str,
    *,
    is_subject: bool,
) -> Template:
    filename = kind.value + suffix
    name, source = f"built-in {language}/{filename}", default
    for place in places:
        path = place / filename
        try:
            source = path.read_text(encoding="utf-8")
            name = str(path)
            break
        except FileNotFoundError:
            continue
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
    elif _REQUIRED[kind] not in used:
        what = "when it happened" if kind.is_notice else "the code"
        raise TemplateError(
            f"{name}: does not use ${_REQUIRED[kind]}, so the message would not hold {what}"
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
