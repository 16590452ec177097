"""Settings: defaults < TOML file < TWOFA_* variables < flags, and one-line errors for bad values.

Pure and fast: no server, and never the real environment (every call passes `environ`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from twofa_server.config import (
    OPTIONS,
    ConfigError,
    Settings,
    add_flags,
    describe,
    env_name,
    flag_name,
    load_settings,
)
from twofa_server.core.models import Enforcement, Method


def parse_flags(*argv: str) -> dict[str, Any]:
    """The flags as `twofa serve` parses them (vars() of the argparse namespace)."""
    parser = argparse.ArgumentParser()
    add_flags(parser)
    return vars(parser.parse_args(list(argv)))


def toml_for(key: str, value: object) -> str:
    """One setting as TOML, nested keys under their table (`a.b` -> `[a]` `b = ...`)."""
    table, _, name = key.rpartition(".")
    line = f"{name} = {json.dumps(value)}\n"  # JSON strings and numbers are valid TOML
    return f"[{table}]\n{line}" if table else line


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "twofa.toml"
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- precedence


def test_defaults_need_no_file_variables_or_flags() -> None:
    settings = load_settings(environ={})
    assert settings == Settings()
    assert settings.listen == "127.0.0.1:50051"
    assert settings.unix_socket == ""
    assert settings.issuer == "twofa"
    assert settings.map_size_mb == 1024


def test_each_layer_overrides_the_one_below_for_the_same_key(tmp_path: Path) -> None:
    config = write_config(tmp_path, 'issuer = "from-file"\n')
    env = {"TWOFA_ISSUER": "from-env"}
    flags = parse_flags("--issuer", "from-flag")

    assert load_settings(environ={}).issuer == "twofa"
    assert load_settings(environ={}, config_file=config).issuer == "from-file"
    assert load_settings(environ=env, config_file=config).issuer == "from-env"
    assert load_settings(flags, environ=env, config_file=config).issuer == "from-flag"


def test_the_config_file_can_come_from_twofa_config(tmp_path: Path) -> None:
    config = write_config(tmp_path, 'issuer = "from-file"\n')
    other = tmp_path / "other.toml"
    other.write_text('issuer = "from-other-file"\n')

    assert load_settings(environ={"TWOFA_CONFIG": str(config)}).issuer == "from-file"
    # --config wins over TWOFA_CONFIG, as flags win over the environment.
    explicit = load_settings(environ={"TWOFA_CONFIG": str(config)}, config_file=other)
    assert explicit.issuer == "from-other-file"


def test_a_nested_key_is_a_table_a_variable_and_a_flag(tmp_path: Path) -> None:
    config = write_config(tmp_path, "[policy]\nmax_attempts = 3\n")
    env = {"TWOFA_POLICY_MAX_ATTEMPTS": "4"}
    flags = parse_flags("--policy-max-attempts", "6")

    assert load_settings(environ={}, config_file=config).policy.max_attempts == 3
    assert load_settings(environ=env, config_file=config).policy.max_attempts == 4
    assert load_settings(flags, environ=env, config_file=config).policy.max_attempts == 6
    assert env_name("policy.max_attempts") == "TWOFA_POLICY_MAX_ATTEMPTS"
    assert flag_name("policy.max_attempts") == "--policy-max-attempts"


def test_layers_merge_key_by_key(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        'issuer = "from-file"\nmap_size_mb = 64\n'
        '[policy]\nenforcement = "required"\nallowed_methods = ["authenticator_app"]\n',
    )
    settings = load_settings(
        parse_flags("--listen", "", "--unix-socket", "/run/twofa.sock"),
        environ={"TWOFA_MAP_SIZE_MB": "128", "TWOFA_POLICY_LOCKOUT_SECONDS": "120"},
        config_file=config,
    )
    assert settings.issuer == "from-file"
    assert settings.map_size_mb == 128
    assert settings.listen == ""
    assert settings.unix_socket == "/run/twofa.sock"
    assert settings.policy.enforcement is Enforcement.REQUIRED
    assert settings.policy.allowed_methods == (Method.AUTHENTICATOR_APP,)
    assert settings.policy.lockout_seconds == 120
    assert settings.policy.max_attempts == 5  # untouched: the default


def test_methods_from_a_variable_are_a_comma_separated_list() -> None:
    env = {"TWOFA_POLICY_ALLOWED_METHODS": "email, authenticator_app"}
    assert load_settings(environ=env).policy.allowed_methods == (
        Method.EMAIL,
        Method.AUTHENTICATOR_APP,
    )


def test_keyring_file_defaults_to_the_keyring_in_data_dir(tmp_path: Path) -> None:
    assert load_settings(environ={}).keyring_path == Path("data") / "keyring"
    moved = load_settings(environ={"TWOFA_DATA_DIR": str(tmp_path / "store")})
    assert moved.keyring_file is None
    assert moved.keyring_path == tmp_path / "store" / "keyring"
    explicit = load_settings(
        parse_flags("--keyring-file", str(tmp_path / "secret" / "ring")),
        environ={"TWOFA_DATA_DIR": str(tmp_path / "store")},
    )
    assert explicit.keyring_path == tmp_path / "secret" / "ring"


# --------------------------------------------------------------------------- bad values


def config_error(
    tmp_path: Path, source: str, key: str, value: object
) -> tuple[str, tuple[str, ...]]:
    """Loads one bad `key = value` from `source`; returns the message and how it must name it."""
    with pytest.raises(ConfigError) as caught:
        if source == "file":
            load_settings(environ={}, config_file=write_config(tmp_path, toml_for(key, value)))
        elif source == "env":
            load_settings(environ={env_name(key): str(value)})
        else:
            load_settings(parse_flags(flag_name(key), str(value)), environ={})
    message = str(caught.value)
    names = {"file": (key, "config file"), "env": (env_name(key),), "flag": (flag_name(key),)}
    return message, names[source]


def assert_one_line_naming(message: str, names: tuple[str, ...], *allowed: str) -> None:
    assert "\n" not in message, message
    for name in (*names, *allowed):
        assert name in message, f"{name!r} is not in {message!r}"


SOURCES = ("file", "env", "flag")


def test_an_unknown_file_key_is_named_with_the_file_and_the_known_keys(tmp_path: Path) -> None:
    config = write_config(tmp_path, '[policy]\nmax_attempts = 3\ncolour = "blue"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={}, config_file=config)
    assert_one_line_naming(str(caught.value), ("policy.colour", str(config)), "known:", "data_dir")


def test_an_unknown_twofa_variable_is_named_with_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"TWOFA_COLOUR": "blue", "TWOFAX": "ignored", "HOME": "/root"})
    assert_one_line_naming(str(caught.value), ("TWOFA_COLOUR",), "known:", "TWOFA_DATA_DIR")


def test_a_config_file_that_is_missing_or_not_toml_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(environ={}, config_file=tmp_path / "absent.toml")
    broken = write_config(tmp_path, "listen = \n")
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={}, config_file=broken)
    assert_one_line_naming(str(caught.value), (str(broken),), "not valid TOML")


@pytest.mark.parametrize(
    "source",
    SOURCES,
)
def test_a_non_integer_map_size_names_the_setting_and_asks_for_a_whole_number(
    tmp_path: Path, source: str
) -> None:
    message, names = config_error(tmp_path, source, "map_size_mb", "big")
    assert_one_line_naming(message, names, "'big'", "whole number")


def test_a_fractional_map_size_in_the_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="map_size_mb"):
        load_settings(environ={}, config_file=write_config(tmp_path, "map_size_mb = 1.5\n"))


@pytest.mark.parametrize("value", [0, 21])
@pytest.mark.parametrize("source", SOURCES)
def test_max_attempts_out_of_range_names_the_range(tmp_path: Path, source: str, value: int) -> None:
    message, _names = config_error(tmp_path, source, "policy.max_attempts", value)
    assert_one_line_naming(message, ("max_attempts",), f"is {value}", "1-20")


@pytest.mark.parametrize("value", [0, 21])
@pytest.mark.parametrize("source", SOURCES)
def test_max_attempts_out_of_range_names_where_it_came_from(
    tmp_path: Path, source: str, value: int
) -> None:
    message, names = config_error(tmp_path, source, "policy.max_attempts", value)
    assert_one_line_naming(message, names, "1-20")


@pytest.mark.parametrize("source", SOURCES)
def test_an_unknown_enforcement_lists_the_allowed_ones(tmp_path: Path, source: str) -> None:
    message, names = config_error(tmp_path, source, "policy.enforcement", "sometimes")
    assert_one_line_naming(message, names, "'sometimes'", "optional", "required")


@pytest.mark.parametrize("source", SOURCES)
def test_an_unknown_method_lists_the_allowed_ones(tmp_path: Path, source: str) -> None:
    message, names = config_error(tmp_path, source, "policy.allowed_methods", "sms")
    assert_one_line_naming(message, names, "'sms'", "authenticator_app", "email")


def test_an_unknown_method_in_a_toml_list_is_refused(tmp_path: Path) -> None:
    config = write_config(tmp_path, '[policy]\nallowed_methods = ["email", "sms"]\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={}, config_file=config)
    assert_one_line_naming(
        str(caught.value), ("policy.allowed_methods", "config file"), "'sms'", "email"
    )


@pytest.mark.parametrize("source", SOURCES)
def test_listen_without_a_port_asks_for_host_and_port(tmp_path: Path, source: str) -> None:
    message, _names = config_error(tmp_path, source, "listen", "localhost")
    assert_one_line_naming(message, ("listen",), "'localhost'", "host:port")


@pytest.mark.parametrize("source", SOURCES)
def test_listen_without_a_port_names_where_it_came_from(tmp_path: Path, source: str) -> None:
    message, names = config_error(tmp_path, source, "listen", "localhost")
    assert_one_line_naming(message, names, "host:port")


@pytest.mark.parametrize(
    ("flags", "env"),
    [
        (("--listen", ""), {}),
        ((), {"TWOFA_LISTEN": "", "TWOFA_UNIX_SOCKET": ""}),
    ],
    ids=["flag", "env"],
)
def test_neither_listen_nor_unix_socket_is_refused(
    flags: tuple[str, ...], env: dict[str, str]
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(parse_flags(*flags), environ=env)
    assert_one_line_naming(str(caught.value), ("listen", "unix_socket"), "at least one")


def test_only_a_unix_socket_is_enough() -> None:
    settings = load_settings(parse_flags("--listen", "", "--unix-socket", "/run/t.sock"), {})
    assert (settings.listen, settings.unix_socket) == ("", "/run/t.sock")


# --------------------------------------------------------------------------- describe()


def test_describe_has_a_markdown_row_for_every_option() -> None:
    lines = describe().splitlines()
    assert lines[0] == "| key | env / flag | default | meaning |"
    assert lines[1] == "|---|---|---|---|"
    rows = lines[2:]
    assert len(rows) == len(OPTIONS)
    for option, row in zip(OPTIONS, rows, strict=True):
        assert row.startswith(f"| `{option.key}` |"), row
        assert row.endswith(" |"), row
        assert row.count(" | ") == 3, row  # four cells, none with a stray pipe
        assert f"`{env_name(option.key)}`" in row
        assert f"`{flag_name(option.key)}`" in row
        assert option.help in row


def test_describe_shows_the_defaults() -> None:
    rows = {row.split(" | ")[0]: row for row in describe().splitlines()[2:]}
    assert "| `127.0.0.1:50051` |" in rows["| `listen`"]
    assert "| `1024` |" in rows["| `map_size_mb`"]
    assert "| `5` |" in rows["| `policy.max_attempts`"]
    assert "| `optional` |" in rows["| `policy.enforcement`"]
    assert "| empty |" in rows["| `unix_socket`"]
    assert "| empty |" in rows["| `policy.allowed_methods`"]


def test_describe_shows_defaults_as_documented() -> None:
    """DESIGN §6 writes `./data` and `<data_dir>/keyring`, and TOML spells booleans lowercase."""
    rows = {row.split(" | ")[0]: row for row in describe().splitlines()[2:]}
    assert "| `./data` |" in rows["| `data_dir`"]
    assert "| `<data_dir>/keyring` |" in rows["| `keyring_file`"]
    assert "| `true` |" in rows["| `reflection`"]
