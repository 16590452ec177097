"""The command line people expect: --version, bare true/false flags, `twofa config check`, a
warning for template files twofa does not read, JSON logs, and `twofa status` on a backup."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import grpc
import pytest

from twofa_server.config import OPTIONS, load_settings, template_file_names
from twofa_server.core.models import MailKind
from twofa_server.delivery import MailStyle, TemplateError, Templates

from ..support.processes import (
    assert_refused,
    clean_env,
    run_twofa,
    serving,
    stop,
)

TOKEN = "5b7d9f1a3c5e7092b4d6f8a0c2e4a6c8"
SMTP_PASSWORD = "hunter2-but-longer-and-secret"
RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def check(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_twofa("config", "check", *args, cwd=cwd, env=env)


def secret_file(path: Path, text: str) -> Path:
    path.write_text(text + "\n")
    path.chmod(0o600)
    return path


# =========================================================================== --version, flags


def test_version_names_the_installed_release(tmp_path: Path) -> None:
    result = run_twofa("--version", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"twofa \d+\.\d+\.\d+\S*\n", result.stdout), result.stdout


def test_true_or_false_flags_work_bare_and_with_a_value(tmp_path: Path, data_dir: Path) -> None:
    at = ("--data-dir", str(data_dir), "--listen", "0.0.0.0:50051")
    bare = check(*at, "--allow-insecure", "--reflection", cwd=tmp_path)
    assert bare.returncode == 0, bare.stderr
    assert re.search(r"^allow_insecure = true +# --allow-insecure$", bare.stdout, re.M)
    assert bare.stderr.startswith("twofa: warning: serving the API in plaintext on 0.0.0.0")
    valued = check(*at, "--allow-insecure", "true", "--reflection", "false", cwd=tmp_path)
    assert re.search(r"^reflection = false +# --reflection$", valued.stdout, re.M)
    # Without the flag, plaintext beyond loopback is still refused, in one line.
    assert_refused(check(*at, cwd=tmp_path), "not a loopback address", "allow_insecure")
    assert_refused(check(*at, "--allow-insecure", "maybe", cwd=tmp_path), "expected true or false")


# =========================================================================== config check


def test_config_check_prints_the_effective_values_and_their_sources(
    tmp_path: Path, data_dir: Path
) -> None:
    token = secret_file(tmp_path / "token", TOKEN)
    password = secret_file(tmp_path / "smtp-password", SMTP_PASSWORD)
    config = tmp_path / "twofa.toml"
    config.write_text(
        f"data_dir = {json.dumps(str(data_dir))}\n"
        'issuer = "FileIssuer"\n'
        "[policy]\nmax_attempts = 4\n"
        "[smtp]\n"
        f'host = "smtp.example.org"\nusername = "twofa"\npassword_file = "{password}"\n'
    )
    env = clean_env(TWOFA_AUTH_TOKEN_FILE=str(token), TWOFA_MAIL_BACKEND="smtp")
    result = check("--config", str(config), "--log-format", "json", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("# twofa ") and "the configuration is valid" in out
    assert f"# keyring {data_dir / 'keyring'}: keys 1, primary 1" in out
    assert "plaintext, bearer token required" in out
    for key, value, source in (
        ("issuer", '"FileIssuer"', str(config)),
        ("policy.max_attempts", "4", str(config)),
        ("auth.token_file", json.dumps(str(token)), "TWOFA_AUTH_TOKEN_FILE"),
        ("mail.backend", '"smtp"', "TWOFA_MAIL_BACKEND"),
        ("log_format", '"json"', "--log-format"),
        ("listen", '"127.0.0.1:50051"', "default"),
    ):
        assert re.search(
            rf"^{re.escape(key)} = {re.escape(value)} +# {re.escape(source)}$", out, re.M
        ), key
    # File paths of secrets, never what they hold.
    assert TOKEN not in out + result.stderr and SMTP_PASSWORD not in out + result.stderr
    assert f"smtp.password_file = {json.dumps(str(password))}" in out

    # Every setting is there, and the output is a configuration serve reads back as is.
    printed = _flat_keys(tomllib.loads(out))
    unset = re.findall(r"^# (\S+) is not set", out, re.M)
    assert sorted(printed + unset) == sorted(option.key for option in OPTIONS)
    written = tmp_path / "effective.toml"
    written.write_text(out)
    given = {name: value for name, value in env.items() if name.startswith("TWOFA_")}
    assert load_settings(config_file=written, environ={}) == load_settings(
        {"log_format": "json"}, config_file=config, environ=given
    )


def _flat_keys(table: dict[str, Any], prefix: str = "") -> list[str]:
    keys = []
    for name, value in table.items():
        if isinstance(value, dict):
            keys += _flat_keys(value, f"{prefix}{name}.")
        else:
            keys.append(prefix + name)
    return keys


@pytest.mark.parametrize(
    ("setup", "fragments"),
    [
        ({"TWOFA_POLICY_MAX_ATTEMPTS": "50"}, ("TWOFA_POLICY_MAX_ATTEMPTS", "1-20")),
        ({"TWOFA_LOG_FORMAT": "xml"}, ("TWOFA_LOG_FORMAT", "allowed: text, json")),
        ({"TWOFA_MAIL_BACKEND": "smtp"}, ("smtp.host is not set",)),
        ({"TWOFA_KEYRING_FILE": "/nonexistent/keyring"}, ("keyring /nonexistent/keyring",)),
        ({"TWOFA_TLS_CERT_FILE": "/nonexistent/cert.pem"}, ("tls.cert_file",)),
        ({"TWOFA_STORE": "postgres"}, ("postgres.dsn is not set",)),
    ],
)
def test_config_check_refuses_a_wrong_configuration_in_one_line(
    tmp_path: Path, data_dir: Path, setup: dict[str, str], fragments: tuple[str, ...]
) -> None:
    env = clean_env(TWOFA_DATA_DIR=str(data_dir), **setup)
    result = check(cwd=tmp_path, env=env)
    assert_refused(result, *fragments)
    assert result.stdout == ""  # no effective values of a configuration that does not work


def test_a_dsn_with_a_password_is_refused_without_showing_the_password(
    tmp_path: Path, data_dir: Path
) -> None:
    dsn = "postgresql://twofa:s3cret-db-pass@db.example.org/twofa"
    env = clean_env(TWOFA_DATA_DIR=str(data_dir), TWOFA_STORE="postgres", TWOFA_POSTGRES_DSN=dsn)
    for result in (check(cwd=tmp_path, env=env), run_twofa("serve", cwd=tmp_path, env=env)):
        line = assert_refused(result, "TWOFA_POSTGRES_DSN", "holds a password", "password_file")
        assert "s3cret-db-pass" not in line and dsn not in line


def test_a_password_file_others_can_read_is_refused(tmp_path: Path, data_dir: Path) -> None:
    password = secret_file(tmp_path / "db-password", "s3cret-db-pass")
    password.chmod(0o644)
    env = clean_env(
        TWOFA_DATA_DIR=str(data_dir),
        TWOFA_STORE="postgres",
        TWOFA_POSTGRES_DSN="host=db.example.org dbname=twofa user=twofa",
        TWOFA_POSTGRES_PASSWORD_FILE=str(password),
    )
    line = assert_refused(check(cwd=tmp_path, env=env), "postgres.password_file", "chmod 600")
    assert "s3cret-db-pass" not in line


# =========================================================================== mail templates


def test_the_template_names_are_the_files_the_templates_read(tmp_path: Path) -> None:
    # A broken file under each known name stops Templates: each name is read.
    for name in template_file_names():
        directory = tmp_path / name
        directory.mkdir()
        (directory / name).write_text("$nonsense_placeholder\n")
        with pytest.raises(TemplateError):
            Templates(MailStyle(template_dir=directory))
    assert len(template_file_names()) == 3 * len(MailKind)


def test_unused_template_files_are_warned_about_by_check_and_once_at_start_up(
    tmp_path: Path, data_dir: Path, socket_path: Path
) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "login_code.txt").write_text("Your $brand code: $code (valid $expires_in)\n")
    (templates / "login-code.txt").write_text("misspelt\n")
    (templates / "..data").mkdir()  # what a Kubernetes ConfigMap mount holds
    env = clean_env(TWOFA_MAIL_TEMPLATE_DIR=str(templates), TWOFA_DATA_DIR=str(data_dir))
    checked = check(cwd=tmp_path, env=env)
    assert checked.returncode == 0, checked.stderr
    [warning] = checked.stderr.splitlines()
    assert warning.startswith("twofa: warning: mail.template_dir")
    assert "login-code.txt (did you mean login_code.txt?)" in warning
    assert "..data" not in warning and "login_code.txt," in warning  # in the known names

    with serving(tmp_path, data_dir, socket_path, env=env) as (server, _):
        stop(server)
    warnings = [line for line in server.stderr.splitlines() if "login-code.txt" in line]
    assert len(warnings) == 1 and " WARNING " in warnings[0], server.stderr


# =========================================================================== JSON logs


def test_json_logs_are_one_object_per_line_apart_from_the_audit_log(
    tmp_path: Path, data_dir: Path, socket_path: Path
) -> None:
    audit = tmp_path / "audit.log"
    env = clean_env(TWOFA_LOG_FORMAT="json", TWOFA_AUDIT_LOG=str(audit))
    with serving(tmp_path, data_dir, socket_path, env=env) as (server, client):
        client.begin_authenticator_setup("acme", "alice")
        # Bytes that are no request message: logged (once) inside the call, with its id.
        with grpc.insecure_channel(f"unix:{socket_path}") as channel:
            call = channel.unary_unary("/twofa.v1.TwoFactorService/VerifyCode", None, None)
            with pytest.raises(grpc.RpcError):
                call(b"\xff\xff\xff", timeout=10, metadata=(("x-request-id", "req-json-1"),))
        server.wait_for_line("malformed")
        stop(server)
    entries = [json.loads(line) for line in server.stderr.splitlines()]
    assert len(entries) >= 4, server.stderr
    for entry in entries:
        assert (
            {"time", "level", "logger", "message"}
            <= entry.keys()
            <= {"time", "level", "logger", "message", "request_id", "error"}
        )
        assert RFC3339_MS.match(entry["time"]), entry
        assert entry["level"] in ("debug", "info", "warning", "error", "critical")
        assert "event" not in entry  # no audit line among them
    messages = [entry["message"] for entry in entries]
    assert any(m.startswith("twofa serving on") for m in messages)
    assert any(m.startswith("twofa stopped") for m in messages)
    [malformed] = [e for e in entries if "malformed" in e["message"]]
    assert malformed["request_id"] == "req-json-1" and malformed["level"] == "warning"
    assert all("request_id" not in e for e in entries if e["message"].startswith("twofa serving"))
    audited = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [e["event"] for e in audited] == ["setup_begun"]

    # A refusal to start is a log line too (a configuration error before the log exists
    # stays the usual one line of text).
    empty = tmp_path / "empty"
    empty.mkdir()
    refused = run_twofa("serve", "--data-dir", str(empty), cwd=tmp_path, env=env)
    assert refused.returncode == 2
    *_, last = [json.loads(line) for line in refused.stderr.splitlines()]
    assert last["level"] == "critical" and "keyring" in last["message"]


# =========================================================================== status on a backup


def test_status_of_a_backup_without_its_keyring_asks_for_keyring(
    tmp_path: Path, data_dir: Path
) -> None:
    copy = tmp_path / "backup"
    backed_up = run_twofa("backup", str(copy), "--data-dir", str(data_dir), cwd=tmp_path)
    assert backed_up.returncode == 0, backed_up.stderr
    result = run_twofa("status", "--data-dir", str(copy), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"no keyring at {copy / 'keyring'}" in result.stdout
    assert "pass --keyring PATH" in result.stdout and "keys generate" not in result.stdout
    keyed = run_twofa(
        "status", "--data-dir", str(copy), "--keyring", str(data_dir / "keyring"), cwd=tmp_path
    )
    assert "keys 1 (primary)" in keyed.stdout, keyed.stderr
