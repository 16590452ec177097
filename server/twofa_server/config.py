"""Settings: defaults, overridden by a TOML file, by TWOFA_* variables, then by flags.

Every setting is declared once in OPTIONS with its default and meaning; the
file key `a.b` is the variable `TWOFA_A_B` and the flag `--a-b`.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .core.models import Enforcement, Frequency, Method, Policy
from .core.policy import check_policy
from .core.validation import Violations

ENV_PREFIX = "TWOFA_"
CONFIG_ENV = "TWOFA_CONFIG"


class ConfigError(Exception):
    """A setting is wrong; the message names it and its allowed values, in one line."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("./data")
    keyring_file: Path | None = None
    listen: str = "127.0.0.1:50051"
    unix_socket: str = ""
    map_size_mb: int = 1024
    issuer: str = "twofa"
    workers: int = 16
    grace_seconds: float = 10.0
    reflection: bool = True
    log_level: str = "info"
    policy: Policy = field(default_factory=Policy)

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


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected text")
    return value


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected a whole number")
    return int(value)


def _float(value: Any) -> float:
    return float(value)


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _path(value: Any) -> Path:
    return Path(_str(value))


def _choice(kind: type[Enforcement] | type[Frequency]) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        name = _str(value).strip().upper()
        if name == "UNSPECIFIED" or name not in kind.__members__:
            raise ValueError(
                "allowed: " + ", ".join(m.name.lower() for m in kind if m.name != "UNSPECIFIED")
            )
        return kind[name]

    return parse


def _methods(value: Any) -> tuple[Method, ...]:
    names = value if isinstance(value, list) else [v for v in _str(value).split(",") if v.strip()]
    allowed = ("authenticator_app", "email")
    methods = []
    for name in names:
        cleaned = _str(name).strip().lower()
        if cleaned not in allowed:
            raise ValueError(f"{cleaned!r} is not a method; allowed: {', '.join(allowed)}")
        methods.append(Method[cleaned.upper()])
    return tuple(methods)


OPTIONS: tuple[Option, ...] = (
    Option("data_dir", _path, "LMDB store directory"),
    Option(
        "keyring_file",
        _path,
        "keyring file; the server refuses to start without a valid one",
        shown_default="`<data_dir>/keyring`",
    ),
    Option("listen", _str, "TCP address of the API, host:port (empty: none)"),
    Option("unix_socket", _str, "Unix socket path of the API (empty: none)"),
    Option("map_size_mb", _int, "LMDB map size: the most the store may grow to, in MiB"),
    Option("issuer", _str, "default issuer shown in authenticator apps"),
    Option("workers", _int, "gRPC worker threads"),
    Option("grace_seconds", _float, "how long in-flight calls may finish after SIGTERM"),
    Option("reflection", _bool, "serve gRPC server reflection (for grpcurl)"),
    Option("log_level", _str, "debug, info, warning or error"),
    Option("policy.enforcement", _choice(Enforcement), "default policy: optional or required"),
    Option("policy.frequency", _choice(Frequency), "default policy: every_login or trusted_device"),
    Option("policy.trusted_device_days", _int, "default policy: days a device stays trusted"),
    Option("policy.max_attempts", _int, "default policy: failed attempts before the lockout"),
    Option(
        "policy.warn_after_failures",
        _int,
        "default policy: failures after which answers carry the warning",
    ),
    Option("policy.lockout_seconds", _int, "default policy: lockout length in seconds"),
    Option("policy.warning_text", _str, "default policy: the warning shown to the user"),
    Option("policy.email_code_ttl_seconds", _int, "default policy: email code lifetime"),
    Option(
        "policy.allowed_methods", _methods, "default policy: methods users may set up (empty: all)"
    ),
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
            raise ConfigError(f"unknown setting {key!r} in {path}; known: " + ", ".join(_BY_KEY))
    return flat


def _read_env(environ: Mapping[str, str]) -> dict[str, Any]:
    by_env = {env_name(option.key): option.key for option in OPTIONS}
    values: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV:
            continue
        if name not in by_env:
            raise ConfigError(f"unknown environment variable {name}; known: " + ", ".join(by_env))
        values[by_env[name]] = value
    return values


def add_flags(parser: argparse.ArgumentParser) -> None:
    """Adds --config and one flag per setting (all default to 'not given')."""
    parser.add_argument("--config", type=Path, help="TOML configuration file")
    for option in OPTIONS:
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
    environ = os.environ if environ is None else environ
    if config_file is None and environ.get(CONFIG_ENV):
        config_file = Path(environ[CONFIG_ENV])
    layers = [
        ("config file", _read_file(config_file) if config_file else {}),
        ("environment", _read_env(environ)),
        ("flag", {k: v for k, v in (flags or {}).items() if k in _BY_KEY and v is not None}),
    ]
    values: dict[str, Any] = {}
    for source, layer in layers:
        for key, raw in layer.items():
            try:
                values[key] = _BY_KEY[key].parse(raw)
            except ValueError as exc:
                where = {"environment": env_name(key), "flag": flag_name(key)}.get(source, key)
                raise ConfigError(f"{source} setting {where}={raw!r} is invalid: {exc}") from None
    return _build(values)


def _build(values: dict[str, Any]) -> Settings:
    policy_values = {k.split(".", 1)[1]: v for k, v in values.items() if k.startswith("policy.")}
    top = {k: v for k, v in values.items() if not k.startswith("policy.")}
    policy = dataclasses.replace(Policy(), **policy_values)
    settings = Settings(**top, policy=policy)
    _validate(settings)
    return settings


def _validate(settings: Settings) -> None:
    problems = Violations()
    check_policy(problems, settings.policy)
    try:
        problems.raise_if_any()
    except Exception as exc:
        raise ConfigError(f"default policy is invalid: {exc}") from None
    if not settings.listen and not settings.unix_socket:
        raise ConfigError("neither listen nor unix_socket is set: give at least one")
    if settings.listen and settings.listen.rpartition(":")[1] != ":":
        raise ConfigError(f"listen={settings.listen!r} is not host:port")
    if settings.map_size_mb < 1:
        raise ConfigError(f"map_size_mb={settings.map_size_mb} must be at least 1")
    if settings.workers < 1:
        raise ConfigError(f"workers={settings.workers} must be at least 1")
    if settings.log_level.lower() not in ("debug", "info", "warning", "error"):
        raise ConfigError(f"log_level={settings.log_level!r}; allowed: debug, info, warning, error")


def describe(options: Sequence[Option] = OPTIONS) -> str:
    """The configuration table for the README, from the same declarations."""
    defaults = Settings()
    rows = ["| key | env / flag | default | meaning |", "|---|---|---|---|"]
    for option in options:
        if option.key.startswith("policy."):
            default = getattr(defaults.policy, option.key.split(".", 1)[1])
        else:
            default = getattr(defaults, option.key)
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
