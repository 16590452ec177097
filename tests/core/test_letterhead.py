"""A tenant's letterhead and mail options as policy rules: what brand, sender and language may
hold (nothing that could break a header), which notices can be turned off, and where the
letterhead goes: the queued mail and the authenticator app's issuer label."""

from __future__ import annotations

import dataclasses
from urllib.parse import parse_qs, urlparse

import pytest

from twofa_server.core.errors import InvalidArgument
from twofa_server.core.letterhead import LANGUAGES
from twofa_server.core.models import Letterhead, MailKind, NoticeKind, Policy
from twofa_server.core.service import ServiceSettings, TwoFactorService

from ..support.clock import FixedClock
from ..support.memory_store import MemoryStore
from .fakes import ADDRESS, ALICE, Core, FakeHasher, RecordedEvents, SeededRandom, enable_email
from .test_policy import problems

ALL_NOTICES = (
    "METHOD_DISABLED, RESET_CONFIRMED, BACKUP_CODES_REGENERATED, LOCKED_OUT, DEVICE_TRUSTED, "
    "BACKUP_CODE_USED"
)


def test_the_builtin_languages() -> None:
    assert LANGUAGES == ("de", "en")


@pytest.mark.parametrize(
    "change",
    [
        {"brand": "Acme Corp."},
        {"brand": "Ünïcode Brand"},
        {"sender_name": 'Acme, Inc. "Security" <team>'},  # quoted in the header, not parsed
        {"sender_address": "security+2fa@mail.acme.example"},
        {"language": "de"},
        {"language": "en"},
        {"disabled_notices": (NoticeKind.LOCKED_OUT, NoticeKind.DEVICE_TRUSTED)},
        {"email_backup_codes": False},
    ],
)
def test_allowed_values(change: dict[str, object]) -> None:
    assert problems(dataclasses.replace(Policy(), **change)) == []  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("change", "field", "description"),
    [
        (
            {"brand": "Acme: Security"},
            "policy.brand",
            "holds a forbidden character; must be 1-64 characters without control characters "
            "or ':'",
        ),
        ({"brand": "A" * 65}, "policy.brand", "is too long; must be 1-64 characters without"),
        (
            {"sender_name": "Acme\r\nBcc: eve@evil.example"},
            "policy.sender_name",
            "holds a forbidden character; must be 1-64 characters without control characters",
        ),
        (
            {"sender_address": "s@acme.example\r\nBcc: eve@evil.example"},
            "policy.sender_address",
            "is not a valid address; must be a valid address",
        ),
        (
            {"sender_address": "Eve <eve@evil.example>"},
            "policy.sender_address",
            "is not a valid address",
        ),
        (
            {"sender_address": "a@acme.example, eve@evil.example"},
            "policy.sender_address",
            "is not a valid address",
        ),
        ({"language": "fr"}, "policy.language", "is 'fr'; allowed: de, en (empty: the server's"),
        ({"language": "DE"}, "policy.language", "is 'DE'; allowed: de, en"),
        (
            {"language": "x" * 40},
            "policy.language",
            "is 'xxxxxxxxxxxxx...'; allowed: de, en",
        ),
        (
            {"disabled_notices": (NoticeKind.UNSPECIFIED,)},
            "policy.disabled_notices",
            f"holds UNSPECIFIED; allowed: {ALL_NOTICES}",
        ),
        (
            {"disabled_notices": (NoticeKind.LOCKED_OUT, NoticeKind.LOCKED_OUT)},
            "policy.disabled_notices",
            f"holds a notice twice; allowed: {ALL_NOTICES}",
        ),
    ],
)
def test_refused_values_name_what_is_allowed(
    change: dict[str, object], field: str, description: str
) -> None:
    [(reported, text)] = problems(dataclasses.replace(Policy(), **change))  # type: ignore[arg-type]
    assert reported == field
    assert text.startswith(description), text


def test_the_operator_may_limit_sender_domains() -> None:
    domains = ("acme.example", "mail.acme.example")
    assert problems(Policy(sender_address="s@ACME.example"), domains) == []
    assert problems(Policy(sender_address="s@acme.example")) == []  # no list: any domain
    [(field, text)] = problems(Policy(sender_address="s@evil.example"), domains)
    assert field == "policy.sender_address"
    assert text == (
        "is in a domain this server does not send for; allowed domains: acme.example, "
        "mail.acme.example"
    )


def test_update_policy_checks_the_sender_domain(clock: FixedClock) -> None:
    settings = ServiceSettings(Policy(), "twofa", sender_domains=("acme.example",))
    service = TwoFactorService(clock, SeededRandom(), FakeHasher(), settings)
    core = Core(service, MemoryStore(), clock, RecordedEvents())

    with pytest.raises(InvalidArgument) as refused:
        core.do(service.update_policy("acme", Policy(sender_address="s@evil.example"), []))
    assert refused.value.violations[0].field == "policy.sender_address"
    assert core.store.state.policies == {}

    stored = core.do(service.update_policy("acme", Policy(sender_address="s@acme.example"), []))
    assert stored.sender_address == "s@acme.example"


def test_the_letterhead_rides_on_every_queued_mail(core: Core) -> None:
    policy = Policy(brand="Acme", sender_address="s@acme.example", language="de")
    core.set_policy(policy)

    codes = enable_email(core)
    core.do(core.service.send_login_code(ALICE))
    core.do(core.service.verify_code(ALICE, codes[0]))

    expected = Letterhead("Acme", "", "s@acme.example", "de")
    kinds = [mail.kind for mail in core.store.mail()]
    assert kinds == [
        MailKind.SETUP_CODE,
        MailKind.BACKUP_CODES,
        MailKind.LOGIN_CODE,
        MailKind.BACKUP_CODE_USED,
    ]
    assert {mail.letterhead for mail in core.store.mail()} == {expected}


def test_backup_codes_are_not_emailed_when_the_tenant_says_so(core: Core) -> None:
    core.set_policy(Policy(email_backup_codes=False))

    codes = enable_email(core)

    assert len(codes) == 10  # still returned, once
    assert core.mails(MailKind.BACKUP_CODES) == []
    assert [mail.recipient for mail in core.store.mail()] == [ADDRESS]  # the set-up code only


def issuer_of(uri: str) -> str:
    return parse_qs(urlparse(uri).query)["issuer"][0]


def test_the_issuer_label_defaults_to_the_tenant_brand(core: Core) -> None:
    def begin(issuer: str = "") -> str:
        return core.do(core.service.begin_authenticator_setup(ALICE, "", issuer)).otpauth_uri

    assert issuer_of(begin()) == "twofa"  # the configured issuer
    core.set_policy(Policy(brand="Acme Corp"))
    assert issuer_of(begin()) == "Acme Corp"
    assert urlparse(begin()).path == "/Acme%20Corp:alice"  # the label's prefix too
    assert issuer_of(begin("Other")) == "Other"  # the caller's word wins
