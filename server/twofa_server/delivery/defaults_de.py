"""The built-in German templates."""

from __future__ import annotations

from .frame import CODE_STYLE, FOOT, NoticeText, Triple, Words, html_head
from .mail import MailKind

LANGUAGE = "de"

WORDS = Words(
    minute="1 Minute",
    minutes="{n} Minuten",
    methods={"authenticator_app": "Authenticator-App", "email": "E-Mail-Codes"},
    unnamed_device="(ohne Namen)",
    greeting="Hallo,",
    labels={
        "when": "Wann",
        "until": "Gesperrt bis",
        "method": "Methode",
        "device": "Gerät",
        "remaining": "Verbleibende Backup-Codes",
    },
    closing="Dies ist ein automatischer Sicherheitshinweis von $brand. Er enthält keinen "
    "Code; Sie müssen nicht antworten.",
)

SETUP_CODE = (
    "Bestätigen Sie Ihre E-Mail-Adresse für $brand",
    """Hallo,

geben Sie diesen Code in $brand ein, um Anmeldecodes per E-Mail
einzuschalten:

    $code

Der Code gilt einmal und läuft in $expires_in ab. Geben Sie ihn an
niemanden weiter.

Falls Sie das nicht angefordert haben, ignorieren Sie diese Nachricht:
Ohne den Code ändert sich nichts.
""",
    html_head(LANGUAGE)
    + f"""<p>Hallo,</p>
<p>geben Sie diesen Code in $brand ein, um Anmeldecodes per E-Mail einzuschalten:</p>
<p style="{CODE_STYLE}">$code</p>
<p>Der Code gilt einmal und läuft in $expires_in ab. Geben Sie ihn an niemanden weiter.</p>
<p>Falls Sie das nicht angefordert haben, ignorieren Sie diese Nachricht: Ohne den Code
ändert sich nichts.</p>
"""
    + FOOT,
)

LOGIN_CODE = (
    "Ihr Anmeldecode für $brand",
    """Hallo,

geben Sie diesen Code in $brand ein, um die Anmeldung abzuschließen:

    $code

Der Code gilt einmal und läuft in $expires_in ab. Geben Sie ihn an
niemanden weiter.

Falls Sie sich nicht anmelden wollten, ignorieren Sie diese Nachricht
und ändern Sie Ihr Passwort für $brand: Jemand, der es kennt, hat
versucht, sich als Sie anzumelden.
""",
    html_head(LANGUAGE)
    + f"""<p>Hallo,</p>
<p>geben Sie diesen Code in $brand ein, um die Anmeldung abzuschließen:</p>
<p style="{CODE_STYLE}">$code</p>
<p>Der Code gilt einmal und läuft in $expires_in ab. Geben Sie ihn an niemanden weiter.</p>
<p>Falls Sie sich nicht anmelden wollten, ignorieren Sie diese Nachricht und ändern Sie Ihr
Passwort für $brand: Jemand, der es kennt, hat versucht, sich als Sie anzumelden.</p>
"""
    + FOOT,
)

BACKUP_CODES = (
    "Ihre neuen Backup-Codes für $brand",
    """Hallo,

hier sind Ihre Backup-Codes für $brand. Wenn Sie Ihre übliche
Anmeldemethode nicht nutzen können, etwa weil Ihr Telefon verloren ist,
melden Sie sich stattdessen mit einem davon an:

$codes

Jeder Code funktioniert einmal. Diese Codes ersetzen alle früheren
Backup-Codes; die alten funktionieren nicht mehr.

Bewahren Sie sie an einem sicheren Ort auf, etwa in einem
Passwort-Manager, und löschen Sie danach diese Nachricht.

Falls Sie die Anmeldung in zwei Schritten nicht eingeschaltet und keine
neuen Backup-Codes angefordert haben, ändern Sie jetzt Ihr Passwort für
$brand: Möglicherweise ist jemand anderes in Ihrem Konto angemeldet.
""",
    html_head(LANGUAGE)
    + """<p>Hallo,</p>
<p>hier sind Ihre Backup-Codes für $brand. Wenn Sie Ihre übliche Anmeldemethode nicht nutzen
können, etwa weil Ihr Telefon verloren ist, melden Sie sich stattdessen mit einem davon an:</p>
$codes
<p>Jeder Code funktioniert einmal. Diese Codes ersetzen alle früheren Backup-Codes; die alten
funktionieren nicht mehr.</p>
<p>Bewahren Sie sie an einem sicheren Ort auf, etwa in einem Passwort-Manager, und löschen Sie
danach diese Nachricht.</p>
<p>Falls Sie die Anmeldung in zwei Schritten nicht eingeschaltet und keine neuen Backup-Codes
angefordert haben, ändern Sie jetzt Ihr Passwort für $brand: Möglicherweise ist jemand
anderes in Ihrem Konto angemeldet.</p>
"""
    + FOOT,
)

CODE_MAILS: dict[MailKind, Triple] = {
    MailKind.SETUP_CODE: SETUP_CODE,
    MailKind.LOGIN_CODE: LOGIN_CODE,
    MailKind.BACKUP_CODES: BACKUP_CODES,
}

_NOT_YOU = "Falls Sie das nicht waren, ändern Sie jetzt Ihr Passwort für $brand"
_NOTHING_TO_DO = "Falls Sie das waren, ist nichts zu tun. "

NOTICES: dict[MailKind, NoticeText] = {
    MailKind.METHOD_DISABLED: NoticeText(
        "Eine Anmeldemethode Ihres $brand-Kontos wurde ausgeschaltet",
        "Eine Methode der Anmeldung in zwei Schritten wurde für Ihr $brand-Konto ausgeschaltet.",
        _NOTHING_TO_DO
        + _NOT_YOU
        + " und prüfen Sie Ihre Einstellungen der Anmeldung in zwei Schritten: "
        "Möglicherweise ist jemand anderes als Sie angemeldet.",
    ),
    MailKind.RESET_CONFIRMED: NoticeText(
        "Eine Anmeldemethode Ihres $brand-Kontos wurde ersetzt",
        "Eine Methode der Anmeldung in zwei Schritten Ihres $brand-Kontos wurde durch eine "
        "neue ersetzt. Die alte funktioniert nicht mehr, und Geräte, denen Sie vertraut "
        "haben, werden wieder nach einem Code gefragt.",
        _NOTHING_TO_DO
        + _NOT_YOU
        + " und richten Sie die Anmeldung in zwei Schritten neu ein: Möglicherweise hat "
        "jemand anderes sie durch seine eigene ersetzt.",
    ),
    MailKind.BACKUP_CODES_REGENERATED: NoticeText(
        "Neue Backup-Codes für Ihr $brand-Konto",
        "Für Ihr $brand-Konto wurden neue Backup-Codes erstellt. Die alten funktionieren "
        "nicht mehr.",
        _NOTHING_TO_DO + _NOT_YOU + ": Möglicherweise ist jemand anderes als Sie angemeldet.",
    ),
    MailKind.LOCKED_OUT: NoticeText(
        "Anmeldung bei $brand nach zu vielen falschen Codes pausiert",
        "Für Ihr $brand-Konto wurden zu viele falsche Anmeldecodes eingegeben; bis zum "
        "unten genannten Zeitpunkt wird kein Code angenommen.",
        "Falls Sie das waren, warten Sie bis dahin und versuchen Sie es erneut. "
        + _NOT_YOU
        + ": Jemand, der es kennt, versucht, sich als Sie anzumelden.",
    ),
    MailKind.DEVICE_TRUSTED: NoticeText(
        "Ein neues vertrauenswürdiges Gerät für Ihr $brand-Konto",
        "Ein Gerät wurde zu Ihren vertrauenswürdigen Geräten hinzugefügt: Es kann sich eine "
        "Zeit lang ohne Code der Anmeldung in zwei Schritten bei $brand anmelden.",
        _NOTHING_TO_DO
        + _NOT_YOU
        + " und entfernen Sie das Gerät aus Ihren vertrauenswürdigen Geräten.",
    ),
    MailKind.BACKUP_CODE_USED: NoticeText(
        "Ein Backup-Code Ihres $brand-Kontos wurde verwendet",
        "Einer Ihrer Backup-Codes für $brand wurde verwendet. Jeder Code funktioniert einmal.",
        "Falls Sie das waren, erstellen Sie neue Backup-Codes, wenn nur noch wenige übrig "
        "sind. " + _NOT_YOU + " und erstellen Sie neue Backup-Codes: Jemand anderes besitzt "
        "einen davon.",
    ),
}
