"""`twofa user import`: the file it reads (CSV, JSON, JSON Lines) line by line, and the
command run as a process against a real server."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest

from twofa_client import Method, TwoFactorClient
from twofa_server.app import Application
from twofa_server.commands.common import CommandRefused
from twofa_server.commands.import_file import format_of, read_entries

from ..support.clock import FixedClock
from ..support.enroll import enroll_app
from ..support.oathtool import new_secret, oathtool
from ..support.processes import clean_env, twofa_command
from ..support.totp import totp_code

NOW = 1_800_000_000.0
STEP = int(NOW // 30)
SECRET = base64.b32encode(bytes(range(20))).decode()  # 32 characters
OTHER = base64.b32encode(bytes(range(20, 40))).decode()


def read(text: str, file_format: str = "csv"):  # type: ignore[no-untyped-def]
    return read_entries(text, file_format, "acme", NOW)


def test_a_csv_file_with_every_column() -> None:
    found = read(
        "user_id,secret,digits,period,algorithm,last_used_step\n"
        f"alice,{SECRET},,,,\n"
        f"bob,{OTHER.lower()},8,60,sha256,{STEP // 2}\n"
    )
    assert found.bad == []
    assert [(line.number, line.entry.user_id) for line in found.good] == [(2, "alice"), (3, "bob")]
    bob = found.good[1].entry
    assert (bob.digits, bob.period, bob.algorithm, bob.last_used_step) == (
        8,
        60,
        "sha256",
        STEP // 2,
    )
    assert found.good[0].entry.last_used_step is None


def test_bad_csv_lines_are_reported_by_line_and_never_quote_a_secret() -> None:
    text = (
        "User_ID,Secret_Base32,Digits\n"  # the RPC's names and any case are understood
        f"alice,{SECRET},6\n"
        "\n"
        f"bob,{SECRET[:-2]},6\n"
        f"carol,{OTHER},seven\n"
        f"dave,{OTHER},7\n"
        f"alice,{OTHER},6\n"
        f'"erin\nsmith",{OTHER},6\n'
        f"frank,{OTHER}\n"
        f"grace,{OTHER},8\n"
    )
    found = read(text)
    assert [line.number for line in found.good] == [2, 11]
    described = {bad.number: bad.describe() for bad in found.bad}
    assert set(described) == {4, 5, 6, 7, 8, 10}
    assert described[4].startswith("secret: is not usable")
    assert described[5] == "digits: is not a whole number"
    assert described[6].startswith("digits: is 7; allowed: 6 or 8")
    assert described[7] == "user_id: repeats line 2's user; each user once"
    assert "user_id: holds a forbidden character" in described[8]  # a quoted newline
    assert described[10] == "has 2 fields; the header names 3"
    for text_of_line in described.values():
        assert SECRET[:12] not in text_of_line and OTHER[:12] not in text_of_line


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        (f"user_id,password\nalice,{SECRET}\n", "column 2 is not a known name"),
        ("user_id,digits\nalice,6\n", "lacks secret"),
        (f"{SECRET}\n", "column 1 is not"),  # no header: the first row is taken for one
        ("user_id,secret,secret\n", "twice"),
        ("user_id,secret\n\n", "names no users"),
        # A field past csv's limit (a binary or mangled export): refused, not a traceback.
        (f"user_id,secret\nalice,{SECRET}\nbob,{'A' * 200_000}\n", "breaks at line 3"),
        (f'user_id,secret\nalice,{SECRET}\nbob,"{"A" * 200_000}\n', "breaks at line 3"),
    ],
)
def test_a_csv_file_that_cannot_be_read_at_all(text: str, fragment: str) -> None:
    with pytest.raises(CommandRefused, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        read(text)


@pytest.mark.parametrize("text", ["[]", " [ ]\n", "\n\n"])
def test_a_json_file_without_entries_is_refused(text: str) -> None:
    with pytest.raises(CommandRefused, match="names no users"):
        read(text, "json")


def test_a_csv_header_error_does_not_quote_a_secret_in_the_first_row() -> None:
    with pytest.raises(CommandRefused) as refused:
        read(f"{SECRET},alice\n")
    assert SECRET.lower() not in str(refused.value).lower()


def test_a_json_array_reports_each_entry_by_the_line_it_starts_on() -> None:
    entries = [
        {"user_id": "alice", "secret": SECRET},
        {"user_id": "bob", "secret_base32": OTHER, "digits": 8, "period_seconds": 60},
        {"user_id": "carol", "secret": OTHER, "digits": "8", "last_used_step": None},
        {"user_id": "dave", "secret": OTHER, "pin": "1234"},
        {"user_id": "erin", "secret": 12345},
        ["frank", OTHER],
        {"user_id": "grace", "secret": OTHER, "digits": True},
    ]
    text = json.dumps(entries, indent=2)
    starts = [i + 1 for i, line in enumerate(text.splitlines()) if line in ("  {", "  [")]
    found = read(text, "json")
    assert [line.number for line in found.good] == starts[:3]
    assert found.good[1].entry.period == 60 and found.good[2].entry.digits == 8
    described = {bad.number: bad.describe() for bad in found.bad}
    assert list(described) == starts[3:]
    assert "unknown field 'pin'" in described[starts[3]]
    assert described[starts[4]] == "secret: must be a string"
    assert "is not a JSON object" in described[starts[5]]
    assert described[starts[6]] == "digits: must be a whole number"


def test_json_lines() -> None:
    lines = [
        json.dumps({"user_id": "alice", "secret": SECRET}),
        "",
        "{not json",
        json.dumps({"user_id": "bob", "secret": OTHER, "algorithm": "SHA512"}),
    ]
    found = read("\n".join(lines), "json")
    assert [line.number for line in found.good] == [1, 4]
    assert [bad.number for bad in found.bad] == [3]
    assert found.bad[0].describe().startswith("is not JSON")


def test_a_broken_json_array_is_refused_with_its_place() -> None:
    with pytest.raises(CommandRefused, match="line 4, column 1"):
        read('[\n  {"user_id": "a", "secret": "x"},\n  {"user_id": \n', "json")


@pytest.mark.parametrize(
    ("name", "given", "expected"),
    [
        ("users.csv", None, "csv"),
        ("x.JSON", None, "json"),
        ("x.jsonl", None, "json"),
        ("-", "csv", "csv"),
        ("users.txt", "json", "json"),
    ],
)
def test_the_format_comes_from_the_name_or_the_option(
    name: str, given: str | None, expected: str
) -> None:
    assert format_of(name, given) == expected


def test_an_unknown_format_asks_for_the_option() -> None:
    with pytest.raises(CommandRefused, match="--format"):
        format_of("users.txt", None)


# ============================================================ the command, on a real server


def twofa_import(
    app: Application, tmp_path: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    command = [*twofa_command(), "user", "import", *args, "--address", app.addresses[0]]
    result = subprocess.run(
        command,
        cwd=tmp_path,
        env=clean_env(),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def users_file(tmp_path: Path, text: str, name: str = "users.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    path.chmod(0o600)
    return path


@pytest.mark.lmdb_only
def test_a_file_is_imported_line_by_line_and_the_bad_lines_are_named(
    app: Application, client: TwoFactorClient, clock: FixedClock, tmp_path: Path
) -> None:
    alice, bob, carol = new_secret(), new_secret(32), new_secret()
    path = users_file(
        tmp_path,
        "user_id,secret,digits,period,algorithm\n"
        f"alice,{alice},,,\n"
        f"bob,{bob},8,60,SHA256\n"
        f"carol,{carol[:-13]},6,30,SHA1\n"  # 19 characters: no length base32 has
        f"dave,{carol},7,30,SHA1\n",
    )
    result = twofa_import(app, tmp_path, "acme", str(path))
    assert result.returncode == 1
    secret_line, digits_line = result.stderr.splitlines()
    assert secret_line.startswith(f"twofa: {path} line 4: secret: is not usable; must be")
    assert digits_line == f"twofa: {path} line 5: digits: is 7; allowed: 6 or 8 (0 or unset: 6)"
    assert result.stdout.startswith(f"twofa: {path} into tenant 'acme': 2 imported, 0 replaced")
    for secret in (alice, bob, carol):
        assert secret.rstrip("=")[:16] not in result.stdout + result.stderr
    assert not client.get_user_status("acme", "carol").enrolled
    clock.advance(60)
    assert client.verify_code("acme", "alice", oathtool(alice, clock.now())).accepted
    code = oathtool(bob, clock.now(), 8, 60, "SHA256")
    assert client.verify_code("acme", "bob", code).accepted

    again = twofa_import(app, tmp_path, "acme", str(path), "--json")
    assert again.returncode == 1
    report = json.loads(again.stdout)
    assert (report["imported"], report["unchanged"], report["lines"]) == (0, 2, 4)
    assert [bad["line"] for bad in report["bad_lines"]] == [4, 5]
    assert report["bad_lines"][1]["problems"][0]["field"] == "digits"


@pytest.mark.lmdb_only
def test_enrolled_users_keep_their_app_unless_replaced_and_a_dry_run_imports_nothing(
    app: Application, client: TwoFactorClient, clock: FixedClock, tmp_path: Path
) -> None:
    enrolled = enroll_app(client, clock, "acme", "erin", advance=30)
    moved = new_secret()
    lines = [json.dumps({"user_id": "erin", "secret": moved})]
    lines += [json.dumps({"user_id": f"new-{i}", "secret": new_secret()}) for i in range(3)]
    path = users_file(tmp_path, "\n".join(lines) + "\n", "users.jsonl")

    dry = twofa_import(app, tmp_path, "acme", str(path), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "4 ready to import, 0 bad; nothing imported (--dry-run)" in dry.stdout
    assert not client.get_user_status("acme", "new-0").enrolled

    kept = twofa_import(app, tmp_path, "acme", str(path))
    assert kept.returncode == 0, kept.stderr
    assert "3 imported, 0 replaced, 0 unchanged, 1 already enrolled" in kept.stdout
    assert "kept their own app (--replace-existing replaces it): erin" in kept.stdout
    assert client.verify_code("acme", "erin", totp_code(enrolled.secret, clock.now())).accepted

    replaced = twofa_import(app, tmp_path, "acme", str(path), "--replace-existing")
    assert "0 imported, 1 replaced, 3 unchanged" in replaced.stdout
    clock.advance(30)
    assert client.verify_code("acme", "erin", oathtool(moved, clock.now())).accepted


@pytest.mark.lmdb_only
def test_standard_input_a_refusing_server_and_a_readable_file(
    app: Application, client: TwoFactorClient, tmp_path: Path
) -> None:
    text = f"user_id,secret\nfrank,{new_secret()}\n"
    no_format = twofa_import(app, tmp_path, "acme", "-", stdin=text)
    assert no_format.returncode == 2 and "--format" in no_format.stderr
    piped = twofa_import(app, tmp_path, "acme", "-", "--format", "csv", stdin=text)
    assert piped.returncode == 0 and "1 imported" in piped.stdout

    client.update_policy("email-only", allowed_methods=[Method.EMAIL])
    path = users_file(tmp_path, text)
    path.chmod(0o644)
    refused = twofa_import(app, tmp_path, "email-only", str(path))
    assert refused.returncode == 1
    warning, reason = refused.stderr.splitlines()
    assert "holds secrets and other users may read it (mode 644)" in warning
    assert "FAILED_PRECONDITION" in reason and "METHOD_NOT_ALLOWED" in reason
    assert "0 users were imported before it (running the same file again is safe)" in reason


@pytest.mark.lmdb_only
@pytest.mark.parametrize(
    ("tenant", "problem"),
    [("", "is required"), ("a\tb", "holds a forbidden character"), ("t" * 129, "is too long")],
)
def test_a_tenant_the_server_would_refuse_is_refused_before_a_dry_run(
    app: Application, client: TwoFactorClient, tmp_path: Path, tenant: str, problem: str
) -> None:
    path = users_file(tmp_path, f"user_id,secret\nfrank,{new_secret()}\n")
    for extra in (["--dry-run"], []):
        result = twofa_import(app, tmp_path, tenant, str(path), *extra)
        assert result.returncode == 2
        rule = "must be 1-128 bytes of UTF-8 without control characters"
        assert result.stderr == f"twofa: the tenant id {problem}; {rule}\n"
        assert result.stdout == ""
