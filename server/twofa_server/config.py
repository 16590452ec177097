"""Settings: defaults, overridden by a TOML file, by TWOFA_* variables, then by flags.

Every setting is declared once in OPTIONS with its default and meaning; the
file key `a.b` is the variable `TWOFA_A_B` and the flag `--a-b`.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import enum
import os
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg import conninfo

from .api.admission import AdmissionSettings
from .api.transport import AuthSettings, TlsSettings
from .core.errors import InvalidArgument
from .core.letterhead import LANGUAGES
from .core.models import (
    NOTICE_KINDS,
    SETUP_METHODS,
    Enforcement,
    Frequency,
    MailKind,
    Policy,
)
from .core.policy import (
    EMAIL_CODE_TTL_SECONDS,
    LOCKOUT_SECONDS,
    MAX_ATTEMPTS,
    MAX_LOCKOUT_SECONDS,
    MAX_WARNING_TEXT_CHARS,
    TRUSTED_DEVICE_DAYS,
    check_policy,
)
from .core.validation import Violations, has_control_characters, is_email_address
from .delivery import MailStyle, SmtpSettings
from .delivery.outbox import RetryPolicy
from .errors import OperatorError
from .store.postgres.settings import POOL_SIZE, PostgresSettings

E = TypeVar("E", bound=enum.Enum)

ENV_PREFIX = "TWOFA_"
CONFIG_ENV = "TWOFA_CONFIG"


class ConfigError(OperatorError):
    """A setting is wrong; the message names it and its allowed values, in one line."""


@dataclass(frozen=True)
class Settings:
    store: str = "lmdb"
    data_dir: Path = Path("./data")
    keyring_file: Path | None = None
    listen: str = "127.0.0.1:50051"
    unix_socket: str = ""
    health_listen: str = ""
    allow_insecure: bool = False
    map_size_mb: int = 1024
    issuer: str = "twofa"
    workers: int = 4
    qr_timeout_seconds: float = 5.0
    grace_seconds: float = 10.0
    reflection: bool = True
    log_level: str = "info"
    log_format: str = "text"
    metrics_listen: str = "127.0.0.1:9464"
    audit_log: str = "stderr"
    sweep_interval_seconds: float = 3600.0
    policy: Policy = field(default_factory=Policy)
    mail_backend: str = "console"
    mail: MailStyle = field(default_factory=MailStyle)
    mail_retry: RetryPolicy = field(default_factory=RetryPolicy)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    tls: TlsSettings = field(default_factory=TlsSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    postgres: PostgresSettings = field(default_factory=PostgresSettings)
    admission: AdmissionSettings = field(default_factory=AdmissionSettings)

    @property
    def keyring_path(self) -> Path:
        return self.keyring_file or self.data_dir / "keyring"


@dataclass(frozen=True)
class Option:
    key: str
    parse: Callable[[Any], Any]
    help: str
    # How the default reads in the docs when the value itself would mislead.
    shown_default: str | None = None
    # Where the value goes in Settings ("section.field" or "field"); default: the key.
    target: str = ""
    # Whether an invalid value may be quoted back (not when it might hold a secret).
    quoted: bool = True

    @property
    def path(self) -> tuple[str, ...]:
        return tuple((self.target or self.key).split("."))


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected text")
    return value


def _whole(value: Any) -> int:
    text = (
        str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    )
    if not text.lstrip("-").isdigit():
        raise ValueError("expected a whole number")
    return int(text)


def _int_range(low: int, high: int, unit: str) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        number = _whole(value)
        if not low <= number <= high:
            raise ValueError(f"is {number}; allowed: {low}-{high} {unit}")
        return number

    return parse


def _seconds(low: float, high: float) -> Callable[[Any], float]:
    def parse(value: Any) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError("expected a number of seconds") from None
        if not low <= number <= high:
            raise ValueError(f"is {number:g}; allowed: {low:g}-{high:g} seconds")
        return number

    return parse


def _address(value: Any) -> str:
    text = _str(value).strip()
    host, colon, port = text.rpartition(":")
    if text and not (colon and host and port.isdigit() and int(port) <= 65535):
        raise ValueError("expected host:port, e.g. 127.0.0.1:50051, or empty for none")
    return text


def _log_level(value: Any) -> str:
    level = _str(value).strip().lower()
    if level not in ("debug", "info", "warning", "error"):
        raise ValueError("allowed: debug, info, warning, error")
    return level


def _warning_text(value: Any) -> str:
    text = _str(value)
    if not text or len(text) > MAX_WARNING_TEXT_CHARS or has_control_characters(text):
        raise ValueError(
            f"allowed: 1-{MAX_WARNING_TEXT_CHARS} characters without control characters"
        )
    return text


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _audit_destination(value: Any) -> str:
    text = _str(value).strip()
    if not text or has_control_characters(text):
        raise ValueError("expected stderr or the path of a file")
    return text


def _path(value: Any) -> Path:
    return Path(_str(value))


def _optional_path(value: Any) -> Path | None:
    text = _str(value).strip()
    return Path(text) if text else None


def _choice(kind: type[Enforcement] | type[Frequency]) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        name = _str(value).strip().upper()
        if name == "UNSPECIFIED" or name not in kind.__members__:
            raise ValueError(
                "allowed: " + ", ".join(m.name.lower() for m in kind if m.name != "UNSPECIFIED")
            )
        return kind[name]

    return parse


def _choice_of(*allowed: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = _str(value).strip().lower()
        if text not in allowed:
            raise ValueError("allowed: " + ", ".join(allowed))
        return text

    return parse


def _members(allowed: Sequence[E], what: str) -> Callable[[Any], tuple[E, ...]]:
    """A parser of a list (or comma-separated text) of enum members, by lower-case name."""
    by_name = {member.name.lower(): member for member in allowed}

    def parse(value: Any) -> tuple[E, ...]:
        if isinstance(value, list):
            names = value
        else:
            names = [name for name in _str(value).split(",") if name.strip()]
        members = []
        for name in names:
            cleaned = _str(name).strip().lower()
            if cleaned not in by_name:
                raise ValueError(f"{cleaned!r} is not a {what}; allowed: {', '.join(by_name)}")
            members.append(by_name[cleaned])
        return tuple(members)

    return parse


_methods = _members(SETUP_METHODS, "method")
_notices = _members(NOTICE_KINDS, "notice")


def _domains(value: Any) -> tuple[str, ...]:
    names = value if isinstance(value, list) else _str(value).split(",")
    domains = tuple(_str(name).strip().lower() for name in names if _str(name).strip())
    for domain in domains:
        if not is_email_address(f"sender@{domain}"):
            raise ValueError(f"{domain!r} is not a domain name; expected e.g. acme.example")
    return domains


def _dsn(value: Any) -> str:
    text = _str(value).strip()
    if not text:
        return text
    try:
        parts = conninfo.conninfo_to_dict(text)
    except psycopg.ProgrammingError:
        raise ValueError(
            "expected a libpq connection string (host=db dbname=twofa user=twofa "
            "sslmode=verify-full) or URI (postgresql://twofa@db/twofa?sslmode=verify-full)"
        ) from None
    if parts.get("password"):
        raise ValueError(
            "holds a password: remove it and put the password in postgres.password_file"
        )
    return text


OPTIONS: tuple[Option, ...] = (
    Option(
        "store",
        _choice_of("lmdb", "postgres"),
        "where state lives: `lmdb` (embedded, one instance) or `postgres` (one database "
        "shared by every instance)",
    ),
    Option("data_dir", _path, "LMDB store directory"),
    Option(
        "keyring_file",
        _path,
        "keyring file; the server refuses to start without a valid one",
        shown_default="`<data_dir>/keyring`",
    ),
    Option("listen", _address, "TCP address of the API, host:port (empty: none)"),
    Option("unix_socket", _str, "Unix socket path of the API (empty: none)"),
    Option(
        "health_listen",
        _address,
        "plaintext gRPC address serving only health checks, for probes (empty: off)",
    ),
    Option(
        "allow_insecure",
        _bool,
        "allow plaintext on a non-loopback `listen` (a mesh or network policy protects it)",
    ),
    Option("tls.cert_file", _optional_path, "server certificate chain, PEM (set: TLS on `listen`)"),
    Option("tls.key_file", _optional_path, "private key of tls.cert_file, PEM"),
    Option(
        "tls.client_ca_file",
        _optional_path,
        "CA certificates clients must present a certificate from (set: mutual TLS)",
    ),
    Option(
        "auth.token_file",
        _optional_path,
        "file holding the bearer token every call must carry (empty: none)",
    ),
    Option(
        "postgres.dsn",
        _dsn,
        "PostgreSQL connection string or URI (libpq; TLS through `sslmode`), without the "
        "password (required with store = postgres)",
        quoted=False,
    ),
    Option(
        "postgres.password_file",
        _optional_path,
        "file holding the database password (checked like every secret file; empty: none)",
    ),
    Option(
        "postgres.pool_size",
        _int_range(*POOL_SIZE, "connections"),
        "database connections for requests, per instance (plus 2 for background jobs)",
    ),
    Option(
        "map_size_mb",
        _int_range(1, 1 << 30, "MiB"),
        "LMDB map size: the most the store may grow to, in MiB",
    ),
    Option("issuer", _str, "default issuer shown in authenticator apps"),
    Option(
        "workers",
        _int_range(1, 256, "processes"),
        "the most QR renderer processes (one starts with the server, more when all are busy; "
        "a crashed or stuck one is replaced)",
    ),
    Option(
        "qr_timeout_seconds",
        _seconds(0.1, 60),
        "how long a set-up waits for a free QR renderer, then for its images, before it is "
        "answered UNAVAILABLE (a stuck renderer is killed and replaced)",
    ),
    Option("grace_seconds", _seconds(0, 3600), "how long in-flight calls may finish after SIGTERM"),
    *(
        option
        for kind, (work, concurrency, queue) in {
            "setup": ("BeginAuthenticatorSetup and the set-ups' confirmations", 64, 100_000),
            "mail": ("calls that email a code (BeginEmailSetup, SendLoginCode)", 256, 100_000),
            "admin": ("policy updates and other administrative changes", 256, 100_000),
        }.items()
        for option in (
            Option(
                f"admission.{kind}_concurrency",
                _int_range(1, concurrency, "calls"),
                f"{work}: how many run at once (VerifyCode and EvaluateLogin are never held back)",
            ),
            Option(
                f"admission.{kind}_queue",
                _int_range(0, queue, "calls"),
                f"{work}: how many more may wait for a turn; beyond, a call is refused "
                "RESOURCE_EXHAUSTED (SERVER_BUSY, with RetryInfo)",
            ),
        )
    ),
    Option("reflection", _bool, "serve gRPC server reflection (for grpcurl)"),
    Option(
        "sweep_interval_seconds",
        _seconds(1, 86400),
        "how often expired devices, set-ups and codes are purged from the store",
    ),
    Option("log_level", _log_level, "debug, info, warning or error"),
    Option(
        "log_format",
        _choice_of("text", "json"),
        "`text` (one line per message) or `json` (one JSON object per line: time, level, "
        "logger, message, request_id) for the application log on stderr; the audit log "
        "is apart (audit.log)",
    ),
    Option(
        "metrics_listen",
        _address,
        "HTTP address of the Prometheus `/metrics` endpoint, host:port (empty: off)",
    ),
    Option(
        "audit.log",
        _audit_destination,
        "where audit lines (JSON, one per security event) go: `stderr` or a file path "
        "(appended to, created mode 0600)",
        target="audit_log",
    ),
    Option("policy.enforcement", _choice(Enforcement), "default policy: optional or required"),
    Option("policy.frequency", _choice(Frequency), "default policy: every_login or trusted_device"),
    Option(
        "policy.trusted_device_days",
        _int_range(*TRUSTED_DEVICE_DAYS, "days"),
        "default policy: days a device stays trusted",
    ),
    Option(
        "policy.max_attempts",
        _int_range(*MAX_ATTEMPTS, "attempts"),
        "default policy: failed attempts before the lockout",
    ),
    Option(
        "policy.warn_after_failures",
        _int_range(*MAX_ATTEMPTS, "failures"),
        "default policy: failures after which answers carry the warning",
    ),
    Option(
        "policy.lockout_seconds",
        _int_range(*LOCKOUT_SECONDS, "seconds"),
        "default policy: lockout length in seconds",
    ),
    Option("policy.warning_text", _warning_text, "default policy: the warning shown to the user"),
    Option(
        "policy.lockout_escalation",
        _bool,
        "default policy: each lockout after another (no success between) lasts twice as long",
    ),
    Option(
        "policy.max_lockout_seconds",
        _int_range(*MAX_LOCKOUT_SECONDS, "seconds"),
        "default policy: the longest an escalating lockout grows to",
    ),
    Option(
        "policy.require_proof_for_changes",
        _bool,
        "default policy: Reset, new set-ups, turning a method off and new backup codes "
        "need a current code",
    ),
    Option(
        "policy.email_backup_codes",
        _bool,
        "default policy: new backup codes are also emailed (off: only returned, once)",
    ),
    Option(
        "policy.disabled_notices",
        _notices,
        "default policy: security notices not sent (method_disabled, reset_confirmed, "
        "backup_codes_regenerated, locked_out, device_trusted, backup_code_used; empty: "
        "all are sent)",
    ),
    Option(
        "policy.email_code_ttl_seconds",
        _int_range(*EMAIL_CODE_TTL_SECONDS, "seconds"),
        "default policy: email code lifetime",
    ),
    Option(
        "policy.allowed_methods", _methods, "default policy: methods users may set up (empty: all)"
    ),
    Option(
        "mail.backend",
        _choice_of("console", "smtp"),
        "`console` (logs each message; development only) or `smtp`",
        target="mail_backend",
    ),
    Option("mail.from", _str, "sender address", target="mail.from_address"),
    Option("mail.sender_name", _str, "sender display name"),
    Option("mail.brand", _str, "product name shown in messages"),
    Option(
        "mail.language",
        _choice_of(*LANGUAGES),
        "language of messages whose tenant's policy sets none: " + ", ".join(LANGUAGES),
    ),
    Option(
        "mail.sender_domains",
        _domains,
        "domains a tenant's policy sender_address may use, comma-separated (empty: any)",
    ),
    Option("mail.template_dir", _path, "directory of template files overriding the built-in ones"),
    Option(
        "mail.max_attempts",
        _int_range(1, 100, "attempts"),
        "delivery attempts before a message is given up",
        target="mail_retry.max_attempts",
    ),
    Option(
        "mail.retry_base_seconds",
        _seconds(0.01, 3600),
        "first retry delay; doubles each attempt",
        target="mail_retry.base_seconds",
    ),
    Option(
        "mail.retry_max_seconds",
        _seconds(0.01, 86400),
        "longest retry delay",
        target="mail_retry.max_seconds",
    ),
    Option("smtp.host", _str, "SMTP relay host (required with mail.backend = smtp)"),
    Option("smtp.port", _int_range(1, 65535, ""), "SMTP relay port"),
    Option(
        "smtp.security",
        _choice_of("starttls", "tls", "none"),
        "`starttls` (refuses a server without it), `tls` (implicit) or `none` "
        "(plaintext, never with credentials)",
    ),
    Option("smtp.username", _str, "SMTP login (empty: none)"),
    Option("smtp.password_file", _path, "file holding the SMTP password"),
    Option("smtp.timeout_seconds", _seconds(0.1, 600), "SMTP connect and reply timeout"),
    Option("smtp.ca_file", _path, "CA certificates to verify the relay with (empty: the system's)"),
)
_BY_KEY = {option.key: option for option in OPTIONS}


def env_name(key: str) -> str:
    return ENV_PREFIX + key.replace(".", "_").upper()


def flag_name(key: str) -> str:
    return "--" + key.replace(".", "-").replace("_", "-")


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in table.items():
        key = prefix + name
        if isinstance(value, dict):
            flat.update(_flatten(value, key + "."))
        else:
            flat[key] = value
    return flat


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            flat = _flatten(tomllib.load(handle))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    for key in flat:
        if key not in _BY_KEY:
            raise ConfigError(
                f"unknown setting {key!r} in {path}{_did_you_mean(key, list(_BY_KEY))} "
                "(known: " + ", ".join(_BY_KEY) + ")"
            )
    return flat


# What Kubernetes puts in every pod of a namespace holding a Service named "twofa"
# (service links): these are not settings, and must not stop a pod from starting.
_SERVICE_LINK = re.compile(
    rf"{ENV_PREFIX}(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT"
    r"|PORT_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)"
)


def _did_you_mean(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
    return f"; did you mean {close[0]}?" if close else ""


def _read_env(environ: Mapping[str, str]) -> dict[str, Any]:
    by_env = {env_name(option.key): option.key for option in OPTIONS}
    values: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV:
            continue
        if name not in by_env:
            if _SERVICE_LINK.fullmatch(name):
                continue
            raise ConfigError(
                f"unknown environment variable {name}{_did_you_mean(name, list(by_env))} "
                "(known: " + ", ".join(by_env) + ")"
            )
        values[by_env[name]] = value
    return values


def add_flags(parser: argparse.ArgumentParser) -> None:
    """Adds --config and one flag per setting (all default to 'not given').

    A true-or-false setting's flag works bare (`--allow-insecure` is
    `--allow-insecure true`) and still takes a value (`--reflection false`).
    """
    parser.add_argument("--config", type=Path, help="TOML configuration file")
    for option in OPTIONS:
        if option.parse is _bool:
            parser.add_argument(
                flag_name(option.key),
                dest=option.key,
                default=None,
                nargs="?",
                const="true",
                metavar="true|false",
                help=f"{option.help} (bare: true)",
            )
            continue
        parser.add_argument(
            flag_name(option.key), dest=option.key, default=None, metavar="VALUE", help=option.help
        )


def load_settings(
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Builds Settings from the file, the environment and the flags, then validates them.

    Raises:
        ConfigError: naming the setting, where it came from and what is allowed.
    """
    return load_settings_and_sources(flags, environ, config_file)[0]


def load_settings_and_sources(
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> tuple[Settings, dict[str, str]]:
    """load_settings, and where each key that is not a default came from: the config file's
    path, the variable (TWOFA_...) or the flag (--...).

    Raises:
        ConfigError: naming the setting, where it came from and what is allowed.
    """
    environ = os.environ if environ is None else environ
    if config_file is None and environ.get(CONFIG_ENV):
        config_file = Path(environ[CONFIG_ENV])
    layers = [
        ("config file", _read_file(config_file) if config_file else {}),
        ("environment", _read_env(environ)),
        ("flag", {k: v for k, v in (flags or {}).items() if k in _BY_KEY and v is not None}),
    ]
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    sources: dict[str, str] = {}
    for source, layer in layers:
        for key, raw in layer.items():
            where = {"environment": env_name(key), "flag": flag_name(key)}.get(source)
            named = f" ({key})" if where else ""
            origins[key] = f"{source} setting {where or key}{named}"
            sources[key] = where or str(config_file)
            try:
                values[key] = _BY_KEY[key].parse(raw)
            except ValueError as exc:
                shown = f"={raw!r}" if _BY_KEY[key].quoted else ""
                raise ConfigError(
                    f"{source} setting {where or key}{shown}{named} is invalid: {exc}"
                ) from None
    return _build(values, origins), sources


def _build(values: dict[str, Any], origins: Mapping[str, str]) -> Settings:
    top: dict[str, Any] = {}
    sections: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        path = _BY_KEY[key].path
        if len(path) == 1:
            top[path[0]] = value
        else:
            sections.setdefault(path[0], {})[path[1]] = value
    policy = sections.get("policy", {})
    if "max_attempts" in policy and "warn_after_failures" not in policy:
        # The default warning (3rd failure) must not come after a lower lockout.
        policy["warn_after_failures"] = min(Policy().warn_after_failures, policy["max_attempts"])
    defaults = Settings()
    for name, changes in sections.items():
        try:
            top[name] = dataclasses.replace(getattr(defaults, name), **changes)
        except ValueError as exc:
            raise ConfigError(f"{name} settings are invalid: {exc}") from None
    settings = Settings(**top)
    _check_combinations(settings, origins)
    return settings


def _check_combinations(settings: Settings, origins: Mapping[str, str]) -> None:
    """Checks what single values cannot: settings that must agree with each other."""
    problems = Violations()
    check_policy(problems, settings.policy)
    try:
        problems.raise_if_any()
    except InvalidArgument as invalid:
        first = invalid.violations[0]
        origin = origins.get(first.field, f"default {first.field}")
        raise ConfigError(f"{origin} does not fit the policy: {first.description}") from None
    if settings.store == "postgres" and not settings.postgres.dsn:
        raise ConfigError(
            "store is postgres but postgres.dsn is not set: give the database's connection "
            "string (e.g. host=db dbname=twofa user=twofa sslmode=verify-full)"
        )
    if settings.mail_backend == "smtp" and not settings.smtp.host:
        raise ConfigError("mail.backend is smtp but smtp.host is not set: give the relay's host")
    if not settings.listen and not settings.unix_socket:
        raise ConfigError(
            "neither listen nor unix_socket is set"
            + (f" ({origins['listen']} is empty)" if "listen" in origins else "")
            + ": give at least one"
        )


def value_of(settings: Settings, option: Option) -> Any:
    """The value `settings` holds for `option` (e.g. policy.max_attempts)."""
    value: Any = settings
    for part in option.path:
        value = getattr(value, part)
    return value


# The files mail.template_dir may hold: <kind><suffix> for each kind of mail
# (delivery/templates.py reads exactly these; tests/e2e/test_cli.py checks it).
TEMPLATE_SUFFIXES = (".subject.txt", ".txt", ".html")


def template_file_names() -> tuple[str, ...]:
    return tuple(kind.value + suffix for kind in MailKind for suffix in TEMPLATE_SUFFIXES)


def unused_template_files(directory: Path | None) -> str:
    """A warning (one line) naming the files in `directory` that twofa never reads, so that
    a misspelt name such as login-code.txt is not ignored in silence; empty when there is
    none. Hidden entries (a Kubernetes ConfigMap mount's ..data) and directories are
    left alone."""
    if directory is None or not directory.is_dir():
        return ""
    known = template_file_names()
    unused = []
    for entry in sorted(directory.iterdir()):
        if entry.name.startswith(".") or entry.name in known or entry.is_dir():
            continue
        close = difflib.get_close_matches(entry.name, known, n=1, cutoff=0.6)
        unused.append(entry.name + (f" (did you mean {close[0]}?)" if close else ""))
    if not unused:
        return ""
    return (
        f"mail.template_dir {directory} holds files twofa does not use, so the built-in "
        f"templates stand in for them: {', '.join(unused)}; the names twofa reads: "
        + ", ".join(known)
    )


def describe(options: Sequence[Option] = OPTIONS) -> str:
    """The configuration table for the README, from the same declarations."""
    defaults = Settings()
    rows = ["| key | env / flag | default | meaning |", "|---|---|---|---|"]
    for option in options:
        default = value_of(defaults, option)
        shown = option.shown_default or _show(default)
        rows.append(
            f"| `{option.key}` | `{env_name(option.key)}` `{flag_name(option.key)}` "
            f"| {shown} | {option.help} |"
        )
    return "\n".join(rows)


def _show(value: Any) -> str:
    if value is None or value == "" or value == ():
        return "empty"
    if isinstance(value, Enforcement | Frequency):
        return f"`{value.name.lower()}`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, Path) and not value.is_absolute():
        return f"`./{value}`"
    return f"`{value}`"
