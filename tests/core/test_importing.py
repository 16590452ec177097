"""core/importing.py: which entries of another system's authenticators are accepted."""

from __future__ import annotations

import base64

import pytest

from twofa_server.core import importing
from twofa_server.core.errors import InvalidArgument
from twofa_server.core.importing import AuthenticatorEntry, ImportResult, check_entries
from twofa_server.core.models import Authenticator, UserState
from twofa_server.core.otp import TotpParameters

NOW = 1_800_000_000.0
KEY = bytes(range(20))
B32 = base64.b32encode(KEY).decode()  # 20 bytes: 32 characters, no padding


@pytest.mark.parametrize(
    "text",
    [
        B32,
        B32.lower(),
        " ".join(B32[i : i + 4] for i in range(0, len(B32), 4)),  # as apps print it
        "-".join(B32[i : i + 8] for i in range(0, len(B32), 8)),
        B32 + "\n",
    ],
)
def test_secrets_are_read_as_apps_show_them(text: str) -> None:
    assert importing.decode_secret(text) == KEY


@pytest.mark.parametrize(("size", "usable"), [(9, False), (10, True), (64, True), (65, False)])
def test_secret_sizes_from_80_bits_to_64_bytes(size: int, usable: bool) -> None:
    text = base64.b32encode(bytes(size)).decode()
    assert (importing.decode_secret(text) is not None) is usable
    assert (importing.decode_secret(text.rstrip("=")) is not None) is usable


@pytest.mark.parametrize(
    "text", ["", "   ", B32[:-1] + "1", B32[:-1] + "8", "é" * 16, B32[:-2], "A" * 25 + "B"]
)
def test_what_is_not_a_secret(text: str) -> None:
    # The last: 16 bytes with bits set past their end, as a mistyped character makes.
    assert importing.decode_secret(text) is None


def test_defaults_are_the_apps_defaults_and_the_current_step_counts_as_used() -> None:
    (checked,) = check_entries("acme", [AuthenticatorEntry("alice", B32)], NOW, "entries")
    assert checked.params == TotpParameters(digits=6, period=30, algorithm="sha1")
    assert checked.last_step == int(NOW // 30)
    assert checked.secret == KEY


def test_parameters_are_read_in_any_case() -> None:
    entry = AuthenticatorEntry("a", B32, 8, 60, "sha-512", last_used_step=7)
    (checked,) = check_entries("acme", [entry], NOW, "entries")
    assert checked.params == TotpParameters(digits=8, period=60, algorithm="sha512")
    assert checked.last_step == 7


@pytest.mark.parametrize(
    ("period", "latest"), [(30, int(NOW // 30) + 20), (60, int(NOW // 60) + 10)]
)
def test_last_used_step_reaches_ten_minutes_ahead(period: int, latest: int) -> None:
    fine = AuthenticatorEntry("a", B32, period=period, last_used_step=latest)
    assert check_entries("acme", [fine], NOW, "e")
    late = AuthenticatorEntry("a", B32, period=period, last_used_step=latest + 1)
    with pytest.raises(InvalidArgument) as refused:
        check_entries("acme", [late], NOW, "e")
    assert [v.field for v in refused.value.violations] == ["e[0].last_used_step"]


def test_one_entry_with_many_faults_names_each_field_and_never_the_secret() -> None:
    bad = AuthenticatorEntry("", B32[:10], 7, 45, "MD5", last_used_step=-1)
    with pytest.raises(InvalidArgument) as refused:
        check_entries("acme", [bad], NOW, "e")
    fields = [v.field for v in refused.value.violations]
    assert fields == ["e[0].user_id", "e[0].secret", "e[0].digits", "e[0].period", "e[0].algorithm"]
    assert B32[:10] not in str(refused.value)


def apply_to(state: UserState, secret: bytes = KEY, replace: bool = False) -> ImportResult:
    (checked,) = check_entries(
        "acme", [AuthenticatorEntry("a", base64.b32encode(secret).decode())], NOW, "e"
    )
    return importing.apply(state, checked, replace, NOW)


def test_apply_imports_keeps_replaces_or_leaves_unchanged() -> None:
    state = UserState()
    assert apply_to(state) is ImportResult.IMPORTED
    assert state.authenticator.secret == KEY and state.authenticator.enabled_at == NOW
    assert apply_to(state) is ImportResult.UNCHANGED
    other = bytes(reversed(KEY))
    assert apply_to(state, other) is ImportResult.ALREADY_ENROLLED
    assert state.authenticator.secret == KEY
    assert apply_to(state, other, replace=True) is ImportResult.REPLACED
    assert state.authenticator.secret == other


def test_apply_replaces_a_pending_set_up() -> None:
    state = UserState(authenticator=Authenticator(pending_secret=b"p" * 20, pending_expires_at=NOW))
    assert apply_to(state) is ImportResult.IMPORTED
    assert state.authenticator.pending_secret is None
