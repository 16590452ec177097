"""The frame of the built-in templates: a language's words, the HTML page, and the one shape
every security notice has in every language (what happened, the facts, what to do if it
was not the reader), built from a few sentences per notice."""

from __future__ import annotations

import html
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass

from .mail import MailKind

# (subject, text, html)
Triple = tuple[str, str, str]


@dataclass(frozen=True)
class Words:
    """What a language's messages say around their templates.

    Attributes:
        minute, minutes: "$n minute(s)" for $expires_in ({n} is replaced).
        methods: a method's name in a notice, by core.models.Method name in lower case.
        unnamed_device: shown for a trusted device the application gave no label.
        greeting: the first line of a notice.
        labels: the facts' labels in a notice, by placeholder (when, until, method,
            device, remaining).
        closing: a notice's last line.
    """

    minute: str
    minutes: str
    methods: Mapping[str, str]
    unnamed_device: str
    greeting: str
    labels: Mapping[str, str]
    closing: str


@dataclass(frozen=True)
class NoticeText:
    """One notice in one language: its subject, what happened, and what to do if it was
    not the reader; the facts come from FACTS."""

    subject: str
    happened: str
    advice: str


# The facts each notice shows, in order, by placeholder; $when first in every one.
FACTS: Mapping[MailKind, tuple[str, ...]] = {
    MailKind.METHOD_DISABLED: ("when", "method"),
    MailKind.RESET_CONFIRMED: ("when", "method"),
    MailKind.BACKUP_CODES_REGENERATED: ("when",),
    MailKind.LOCKED_OUT: ("when", "until"),
    MailKind.DEVICE_TRUSTED: ("when", "device"),
    MailKind.BACKUP_CODE_USED: ("when", "remaining"),
}

CODE_STYLE = (
    "font-family: 'Courier New', Courier, monospace; font-size: 28px; "
    "font-weight: bold; letter-spacing: 4px;"
)
FOOT = """</body>
</html>
"""


def html_head(language: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="{language}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width"></head>
<body style="font-family: Arial, Helvetica, sans-serif; font-size: 16px; line-height: 1.5; \
color: #222222; max-width: 560px;">
"""


def html_page(language: str, body: str) -> str:
    return html_head(language) + body + FOOT


def notice(language: str, words: Words, kind: MailKind, text: NoticeText) -> Triple:
    """A notice's (subject, text, html) in the common frame."""
    facts = FACTS[kind]
    width = max(len(words.labels[name]) for name in facts) + 1
    lines = "\n".join(f"    {(words.labels[name] + ':'):<{width}} ${name}" for name in facts)
    plain = (
        f"{words.greeting}\n\n{_wrap(text.happened)}\n\n{lines}\n\n{_wrap(text.advice)}\n\n"
        f"-- \n{_wrap(words.closing)}\n"
    )
    rows = "\n".join(
        f'<tr><td style="padding-right: 12px; color: #555555;">'
        f"{_safe(words.labels[name])}</td><td><strong>${name}</strong></td></tr>"
        for name in facts
    )
    body = (
        f"<p>{_safe(words.greeting)}</p>\n<p>{_safe(text.happened)}</p>\n"
        f"<table>\n{rows}\n</table>\n<p>{_safe(text.advice)}</p>\n"
        f'<p style="color: #666666; font-size: 13px;">{_safe(words.closing)}</p>\n'
    )
    return text.subject, plain, html_page(language, body)


def _wrap(paragraph: str) -> str:
    # Plain text at the width the code messages have; never inside a word ("$brand-Konto").
    return textwrap.fill(paragraph, 70, break_long_words=False, break_on_hyphens=False)


def _safe(sentence: str) -> str:
    # Static text in HTML; the placeholders in it ($brand) are substituted escaped later.
    return html.escape(sentence, quote=False)
