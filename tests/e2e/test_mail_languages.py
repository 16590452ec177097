"""Templates per language and the mail settings that choose them: every built-in language
has every message, overrides go per language, mistakes stop start-up with one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from twofa_server.config import ConfigError, load_settings
from twofa_server.core.letterhead import LANGUAGES
from twofa_server.core.models import Letterhead, Method, NoticeFacts, NoticeKind
from twofa_server.delivery import Mail, MailKind, MailStyle, TemplateError, Templates
from twofa_server.delivery.defaults import DEFAULTS
from twofa_server.delivery.frame import FACTS

from ..support.mail_server import body
from ..support.processes import assert_refused, run_twofa

NOW = 1_800_000_000.0
FACTS_OF = {
    MailKind.METHOD_DISABLED: NoticeFacts(NOW, method=Method.EMAIL),
    MailKind.RESET_CONFIRMED: NoticeFacts(NOW, method=Method.AUTHENTICATOR_APP),
    MailKind.BACKUP_CODES_REGENERATED: NoticeFacts(NOW),
    MailKind.LOCKED_OUT: NoticeFacts(NOW, until=NOW + 600),
    MailKind.DEVICE_TRUSTED: NoticeFacts(NOW, device_label=""),
    MailKind.BACKUP_CODE_USED: NoticeFacts(NOW, remaining=0),
}


def notice(kind: MailKind, language: str = "") -> Mail:
    head = Letterhead(language=language)
    return Mail(kind, "a@example.com", (), None, "n-1", letterhead=head, notice=FACTS_OF[kind])


def test_every_language_has_every_message() -> None:
    assert set(DEFAULTS) == set(LANGUAGES)
    for language in LANGUAGES:
        assert set(DEFAULTS[language]) == set(MailKind)
    assert set(FACTS) == {MailKind.of_notice(kind) for kind in NoticeKind if kind.value}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", list(FACTS), ids=lambda kind: kind.value)
def test_every_notice_renders_in_every_language_without_a_code(
    kind: MailKind, language: str
) -> None:
    templates = Templates(MailStyle(brand="Acme"))

    message = templates.render(notice(kind, language), NOW)

    text, html = body(message, "plain"), body(message, "html")
    assert "2027-01-15 08:00 UTC" in text and "2027-01-15 08:00 UTC" in html
    assert "Acme" in message["Subject"] and "$" not in text + html
    assert f'<html lang="{language}">' in html
    assert "a@example.com" not in text + html  # addressed to it, never quoting it


def test_notice_facts_are_spelt_out_in_the_message_language() -> None:
    templates = Templates(MailStyle())
    german = body(templates.render(notice(MailKind.DEVICE_TRUSTED, "de"), NOW), "plain")
    assert "Gerät: (ohne Namen)" in german
    english = body(templates.render(notice(MailKind.BACKUP_CODE_USED), NOW), "plain")
    assert "Backup codes left: 0" in english
    locked = body(templates.render(notice(MailKind.LOCKED_OUT, "de"), NOW), "plain")
    assert "Gesperrt bis: 2027-01-15 08:10 UTC" in locked


def test_the_configured_language_is_the_default_and_a_tenant_one_wins() -> None:
    templates = Templates(MailStyle(language="de"))
    assert templates.render(notice(MailKind.BACKUP_CODES_REGENERATED), NOW)["Subject"] == (
        "Neue Backup-Codes für Ihr twofa-Konto"
    )
    english = templates.render(notice(MailKind.BACKUP_CODES_REGENERATED, "en"), NOW)
    assert english["Subject"] == "New backup codes were created for your twofa account"
    # A language a stored policy names but this version lacks: the configured one.
    unknown = templates.render(notice(MailKind.BACKUP_CODES_REGENERATED, "xx"), NOW)
    assert unknown["Subject"] == "Neue Backup-Codes für Ihr twofa-Konto"


def test_the_language_directory_beats_the_top_level_file_for_english(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "locked_out.subject.txt").write_text("Top level, $brand\n")
    (tmp_path / "en" / "locked_out.subject.txt").write_text("From en/, $brand\n")
    (tmp_path / "images").mkdir()  # not named like a language: none of twofa's business
    templates = Templates(MailStyle(template_dir=tmp_path))
    assert templates.render(notice(MailKind.LOCKED_OUT), NOW)["Subject"] == "From en/, twofa"


@pytest.mark.parametrize(
    ("path", "content", "problem"),
    [
        ("de/locked_out.txt", "Gesperrt bis $until\n", "does not use \\$when"),
        ("de/locked_out.txt", "$when $code\n", "unknown placeholder \\$code"),
        ("de/device_trusted.subject.txt", "Neu: $device $colour", "unknown placeholder \\$colour"),
        ("login_code.txt", "$when\n", "unknown placeholder \\$when"),
        ("fr/login_code.txt", "$code\n", "not a language twofa has templates for"),
    ],
)
def test_a_bad_language_override_stops_start_up_naming_the_file(
    tmp_path: Path, path: str, content: str, problem: str
) -> None:
    target = tmp_path / path
    target.parent.mkdir(exist_ok=True)
    target.write_text(content)
    named = target.parent if path.startswith("fr/") else target
    with pytest.raises(TemplateError, match=f"^{named}: {problem}"):
        Templates(MailStyle(template_dir=tmp_path))


@pytest.mark.parametrize(
    ("environ", "fragment"),
    [
        ({"TWOFA_MAIL_LANGUAGE": "fr"}, "allowed: de, en"),
        ({"TWOFA_MAIL_SENDER_DOMAINS": "acme.example, not a domain"}, "is not a domain name"),
        ({"TWOFA_POLICY_DISABLED_NOTICES": "locked_out,sunburn"}, "'sunburn' is not a notice"),
        ({"TWOFA_POLICY_EMAIL_BACKUP_CODES": "maybe"}, "expected true or false"),
    ],
)
def test_bad_mail_settings_are_refused(environ: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        load_settings(environ=environ)


def test_mail_settings_are_read() -> None:
    settings = load_settings(
        environ={
            "TWOFA_MAIL_LANGUAGE": "de",
            "TWOFA_MAIL_SENDER_DOMAINS": "Acme.example,mail.acme.example",
            "TWOFA_POLICY_DISABLED_NOTICES": "locked_out, device_trusted",
            "TWOFA_POLICY_EMAIL_BACKUP_CODES": "false",
        }
    )
    assert settings.mail.language == "de"
    assert settings.mail.sender_domains == ("acme.example", "mail.acme.example")
    assert settings.policy.disabled_notices == (NoticeKind.LOCKED_OUT, NoticeKind.DEVICE_TRUSTED)
    assert settings.policy.email_backup_codes is False


def test_serve_refuses_a_template_directory_for_a_missing_language(
    tmp_path: Path, data_dir: Path
) -> None:
    (tmp_path / "templates" / "fr").mkdir(parents=True)
    result = run_twofa(
        "serve",
        *("--data-dir", str(data_dir), "--listen", "127.0.0.1:0"),
        *("--metrics-listen", "", "--mail-template-dir", str(tmp_path / "templates")),
        cwd=tmp_path,
    )
    assert_refused(result, "templates/fr", "allowed: de, en")
