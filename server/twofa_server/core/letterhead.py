"""A tenant's mail letterhead: brand, sender and language, as policy fields.

Every use case reads its tenant's policy in its transaction already, so the mail it
queues takes the tenant's letterhead from that same read: no second record to read
per login code, and the message says what the tenant had set when the change
committed. An empty value stands for the configured default (mail.brand,
mail.sender_name, mail.from, mail.language), resolved when the message is sent.

The values end up in headers (From) and in the authenticator app's label (the brand
is the default issuer), so they are checked strictly: no control characters (no
header injection through a line break), one plain address, a language twofa has
templates for, and, when the operator lists them (mail.sender_domains), a sender
domain the relay may send for.
"""

from __future__ import annotations

from collections.abc import Collection

from .models import Letterhead, Policy
from .validation import MAX_ISSUER_CHARS, Violations, check_email

# The languages twofa has built-in templates for (delivery/defaults.py holds them).
LANGUAGES = ("de", "en")
DEFAULT_LANGUAGE = "en"
MAX_SENDER_NAME_CHARS = 64
# The brand is the app's issuer label by default, so it keeps the issuer's rules.
MAX_BRAND_CHARS = MAX_ISSUER_CHARS
_LABEL_FORBIDDEN = ":"


def letterhead_of(policy: Policy) -> Letterhead:
    """The letterhead a message queued under `policy` goes out with."""
    return Letterhead(policy.brand, policy.sender_name, policy.sender_address, policy.language)


def check_letterhead(
    violations: Violations, policy: Policy, sender_domains: Collection[str] = ()
) -> None:
    """Adds a violation for every letterhead field of `policy` outside its allowed values.

    Args:
        sender_domains: the domains a tenant's sender address may use; empty: any.
    """
    violations.check_text(
        "policy.brand",
        policy.brand,
        max_chars=MAX_BRAND_CHARS,
        required=False,
        forbidden=_LABEL_FORBIDDEN,
    )
    violations.check_text(
        "policy.sender_name", policy.sender_name, max_chars=MAX_SENDER_NAME_CHARS, required=False
    )
    check_sender_address(violations, "policy.sender_address", policy.sender_address, sender_domains)
    check_language(violations, "policy.language", policy.language, empty="the server's default")


def check_sender_address(
    violations: Violations, field: str, address: str, sender_domains: Collection[str]
) -> None:
    """One plain address (no display name, no second address, no line break), in an
    allowed domain when the operator lists any."""
    check_email(violations, field, address, required=False)
    if not address or not sender_domains:
        return
    domain = address.rpartition("@")[2].lower()
    if domain not in {d.lower() for d in sender_domains}:
        violations.add(
            field,
            "is in a domain this server does not send for; allowed domains: "
            + ", ".join(sorted(sender_domains)),
        )


def check_language(violations: Violations, field: str, language: str, *, empty: str) -> None:
    """A language tag twofa has templates for; empty stands for `empty`."""
    if language and language not in LANGUAGES:
        shown = language if len(language) <= 16 else language[:13] + "..."
        violations.add(field, f"is {shown!r}; allowed: {', '.join(LANGUAGES)} (empty: {empty})")
