"""Per-tenant email (issue 14 item 7) over gRPC, delivered to a real SMTP server: brand, sender
and language set through the policy API, validated, with the configuration as the default;
templates per language with overrides; the app's issuer label from the brand."""

from __future__ import annotations

from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from twofa_client import InvalidArgument, Policy, TwoFactorClient
from twofa_server.config import Settings

from ..support.clock import FixedClock
from ..support.mail_server import (
    ADDRESS,
    SENDER,
    TwofaWithSmtp,
    U,
    code_in,
    html_body,
    smtp_settings,
    text_body,
)
from ..support.smtp_sink import Serve, Sink

GLOBEX = "globex"  # a tenant with a letterhead of its own
ACME = "acme"  # a tenant on the configured defaults (brand Acme, mail.from SENDER, English)
LETTERHEAD = {
    "brand": "Globex",
    "sender_name": "Globex Sicherheit",
    "sender_address": "sicherheit@globex.example",
    "language": "de",
}


def received(room: TwofaWithSmtp, to: str = ADDRESS) -> tuple[str, EmailMessage]:
    """The next delivered message to `to`, with the envelope sender it came with."""
    delivery = room.next_received()
    assert delivery.rcpt_tos == [to]
    return delivery.mail_from, delivery.parsed()


def login_code_mail(room: TwofaWithSmtp, tenant: str) -> tuple[str, EmailMessage]:
    client = room.client
    client.begin_email_setup(tenant, U, ADDRESS)
    _, setup = received(room)
    assert client.confirm_email_setup(tenant, U, code_in(setup)).accepted
    received(room)  # the backup codes
    client.send_login_code(tenant, U)
    return received(room)


def test_a_tenant_letterhead_brands_its_mail_and_others_keep_the_configured_one(
    mailroom: TwofaWithSmtp,
) -> None:
    client = mailroom.client
    stored = client.update_policy(GLOBEX, **LETTERHEAD)  # type: ignore[arg-type]
    assert (stored.brand, stored.sender_name, stored.sender_address, stored.language) == (
        "Globex",
        "Globex Sicherheit",
        "sicherheit@globex.example",
        "de",
    )
    assert client.get_policy(GLOBEX).policy == stored

    envelope, message = login_code_mail(mailroom, GLOBEX)
    assert envelope == "sicherheit@globex.example"
    assert message["From"] == "Globex Sicherheit <sicherheit@globex.example>"
    assert message["Subject"] == "Ihr Anmeldecode für Globex"
    assert message["Message-ID"].endswith("@globex.example>")
    text = text_body(message)
    assert "geben Sie diesen Code in Globex ein" in text and "läuft in 10 Minuten ab" in text
    assert '<html lang="de">' in html_body(message)

    envelope, message = login_code_mail(mailroom, ACME)
    assert envelope == SENDER
    assert message["From"] == f"twofa <{SENDER}>"  # smtp_settings' style: sender_name default
    assert message["Subject"] == "Your Acme sign-in code"
    assert message["Message-ID"].endswith("@acme.example>")


def test_a_brand_alone_names_the_sender_and_the_configured_address_stays(
    mailroom: TwofaWithSmtp,
) -> None:
    mailroom.client.update_policy(GLOBEX, brand="Globex")
    envelope, message = login_code_mail(mailroom, GLOBEX)
    assert envelope == SENDER
    assert message["From"] == f"Globex <{SENDER}>"
    assert message["Subject"] == "Your Globex sign-in code"


def test_unset_letterhead_fields_follow_the_configuration(mailroom: TwofaWithSmtp) -> None:
    client = mailroom.client
    client.update_policy(GLOBEX, **LETTERHEAD)  # type: ignore[arg-type]
    # A caller that predates the fields replaces the whole policy without them.
    older = replace(client.get_policy(GLOBEX).policy, brand=None, sender_name=None)
    older = replace(older, sender_address=None, language=None)
    policy = client.update_policy(GLOBEX, older)
    assert (policy.brand, policy.sender_name, policy.sender_address, policy.language) == (
        "",
        "",
        "",
        "",
    )
    _, message = login_code_mail(mailroom, GLOBEX)
    assert message["Subject"] == "Your Acme sign-in code"


@pytest.mark.parametrize(
    ("fields", "field", "allowed"),
    [
        ({"language": "fr"}, "policy.language", "allowed: de, en"),
        ({"sender_address": "not an address"}, "policy.sender_address", "must be a valid address"),
        (
            {"sender_address": "s@globex.example\r\nBcc: eve@evil.example"},
            "policy.sender_address",
            "must be a valid address",
        ),
        (
            {"sender_address": '"Eve" <eve@evil.example>'},
            "policy.sender_address",
            "must be a valid address",
        ),
        (
            {"sender_name": "Globex\nBcc: eve@evil.example"},
            "policy.sender_name",
            "without control characters",
        ),
        ({"brand": "Globex: Security"}, "policy.brand", "without control characters or ':'"),
    ],
)
def test_bad_letterhead_values_are_refused_naming_what_is_allowed(
    mailroom: TwofaWithSmtp, fields: dict[str, str], field: str, allowed: str
) -> None:
    client = mailroom.client
    with pytest.raises(InvalidArgument) as refused:
        client.update_policy(GLOBEX, **fields)  # type: ignore[arg-type]
    [violation] = refused.value.field_violations
    assert violation.field == field and allowed in violation.description
    assert client.get_policy(GLOBEX).is_default  # nothing was stored


def test_the_operator_can_limit_sender_domains(
    settings: Settings, clock: FixedClock, smtp_server: Serve
) -> None:
    sink = Sink()
    mailing = smtp_settings(settings, smtp_server(sink))
    limited = replace(mailing, mail=replace(mailing.mail, sender_domains=("globex.example",)))
    room = TwofaWithSmtp(limited, clock, sink)
    try:
        with pytest.raises(InvalidArgument) as refused:
            room.client.update_policy(GLOBEX, sender_address="s@evil.example")
        assert "allowed domains: globex.example" in refused.value.field_violations[0].description
        assert room.client.update_policy(GLOBEX, sender_address="s@globex.example").sender_address
    finally:
        room.close()


def issuer(client: TwoFactorClient, tenant: str, given: str = "") -> str:
    uri = client.begin_authenticator_setup(tenant, U, issuer=given).otpauth_uri
    return parse_qs(urlparse(uri).query)["issuer"][0]


def test_the_app_label_defaults_to_the_tenant_brand(mailroom: TwofaWithSmtp) -> None:
    client = mailroom.client
    assert issuer(client, GLOBEX) == "twofa"  # the configured issuer
    client.update_policy(GLOBEX, brand="Globex Corp")
    assert issuer(client, GLOBEX) == "Globex Corp"
    assert issuer(client, GLOBEX, "Own Label") == "Own Label"


def test_a_language_directory_overrides_its_language_only(
    settings: Settings, clock: FixedClock, smtp_server: Serve, tmp_path: Path
) -> None:
    templates = tmp_path / "templates"
    (templates / "de").mkdir(parents=True)
    (templates / "de" / "login_code.txt").write_text("Code für $brand: $code ($expires_in)\n")
    sink = Sink()
    mailing = smtp_settings(settings, smtp_server(sink))
    room = TwofaWithSmtp(
        replace(mailing, mail=replace(mailing.mail, template_dir=templates)), clock, sink
    )
    try:
        room.client.update_policy(GLOBEX, language="de", brand="Globex")
        _, german = login_code_mail(room, GLOBEX)
        code = code_in(german)
        assert text_body(german) == f"Code für Globex: {code} (10 Minuten)\r\n"  # CRLF over SMTP
        assert "geben Sie diesen Code in Globex ein" in html_body(german)  # built-in German
        _, english = login_code_mail(room, ACME)
        assert "Enter this code in Acme to finish signing in" in text_body(english)
    finally:
        room.close()


def test_a_policy_with_a_letterhead_round_trips_through_the_client(
    mailroom: TwofaWithSmtp,
) -> None:
    client = mailroom.client
    base = client.get_policy(GLOBEX).policy
    wanted = Policy(**{**_fields(base), **LETTERHEAD})  # type: ignore[arg-type]
    assert client.update_policy(GLOBEX, wanted) == wanted


def _fields(policy: Policy) -> dict[str, object]:
    return {name: getattr(policy, name) for name in policy.__dataclass_fields__}
