"""The codes people type, as pure rules: what shape a code has, backup codes (issued, normalised,
used once) and email codes' digits."""

from __future__ import annotations

import re

import pytest

from twofa_server.core import codes
from twofa_server.core.codes import CodeShape, read_code
from twofa_server.core.models import Method, UserRef, VerifyReason

from .fakes import ALICE, Core, FakeHasher, FixedRandom, SeededRandom, enable_app

SIX, BACKUP, MALFORMED = CodeShape.SIX_DIGITS, CodeShape.BACKUP_CODE, CodeShape.MALFORMED
GROUPED = re.compile(r"[23456789A-HJ-NP-Z]{4}-[23456789A-HJ-NP-Z]{4}-[23456789A-HJ-NP-Z]{4}")


# --- shapes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "text", "shape"),
    [
        ("123456", "123456", SIX),
        ("123 456", "123456", SIX),
        (" 12-34 56\t", "123456", SIX),
        ("000000", "000000", SIX),
        ("abcd-efgh-jkmn", "ABCDEFGHJKMN", BACKUP),
        ("ABCDEFGHJKMN", "ABCDEFGHJKMN", BACKUP),
        ("abcd efgh  jkmn", "ABCDEFGHJKMN", BACKUP),
        ("234567892345", "234567892345", BACKUP),  # twelve digits 2-9 are a backup code
        ("12345", "12345", MALFORMED),
        ("1234567", "1234567", MALFORMED),
        ("12_456", "12_456", MALFORMED),
        ("\u0661\u0662\u0663\u0664\u0665\u0666", "\u0661\u0662\u0663\u0664\u0665\u0666", MALFORMED),
        ("ABCD-EFGH-JKL0", "ABCDEFGHJKL0", MALFORMED),  # 0, 1, I and O are never issued
        ("ABCD-EFGH-IJKL", "ABCDEFGHIJKL", MALFORMED),
        ("ABCD-EFGH-JKLMN", "ABCDEFGHJKLMN", MALFORMED),
    ],
)
def test_a_typed_code_is_normalised_once_and_given_its_shape(
    typed: str, text: str, shape: CodeShape
) -> None:
    assert read_code(typed) == codes.TypedCode(text, shape)


@pytest.mark.parametrize(
    ("shape", "fits"),
    [
        (SIX, {Method.AUTHENTICATOR_APP, Method.EMAIL}),
        (BACKUP, {Method.BACKUP_CODE}),
        (MALFORMED, set()),
    ],
)
def test_which_methods_a_shape_fits(shape: CodeShape, fits: set[Method]) -> None:
    methods = {Method.AUTHENTICATOR_APP, Method.EMAIL, Method.BACKUP_CODE}
    text = {SIX: "123456", BACKUP: "ABCDEFGHJKMN"}.get(shape, "x")
    assert {m for m in methods if codes.TypedCode(text, shape).fits(m)} == fits


def test_an_eight_digit_code_fits_an_app_set_to_eight_digits_only() -> None:
    eight = read_code("1234 5678")
    assert eight.shape is CodeShape.EIGHT_DIGITS
    assert eight.fits(Method.AUTHENTICATOR_APP, app_digits=8)
    assert not eight.fits(Method.AUTHENTICATOR_APP, app_digits=6)
    assert not eight.fits(Method.EMAIL)
    assert not read_code("123456").fits(Method.AUTHENTICATOR_APP, app_digits=8)


# --- backup codes ----------------------------------------------------------------------------


def test_ten_backup_codes_grouped_in_fours_from_32_unambiguous_symbols() -> None:
    assert len(codes.BACKUP_CODE_ALPHABET) == len(set(codes.BACKUP_CODE_ALPHABET)) == 32
    assert not set(codes.BACKUP_CODE_ALPHABET) & set("01IO")
    issued = codes.new_backup_codes(SeededRandom(1))
    assert len(issued) == 10 and len(set(issued)) == 10
    assert all(GROUPED.fullmatch(code) for code in issued), issued
    assert all(read_code(code).shape is BACKUP for code in issued)


def test_backup_codes_come_from_the_injected_randomness() -> None:
    assert codes.new_backup_codes(SeededRandom(1)) == codes.new_backup_codes(SeededRandom(1))
    assert codes.new_backup_codes(SeededRandom(1)) != codes.new_backup_codes(SeededRandom(2))
    assert codes.new_backup_codes(FixedRandom(below=0)) == ("2222-2222-2222",) * 10
    assert codes.new_backup_codes(FixedRandom(below=31))[0] == "ZZZZ-ZZZZ-ZZZZ"


def test_a_backup_code_is_used_once() -> None:
    user = UserRef("acme", "alice")
    digests = [codes.backup_code_digest(FakeHasher(), user, c) for c in ("A" * 12, "B" * 12)]
    right = digests[1]
    wrong = codes.backup_code_digest(FakeHasher(), user, "C" * 12)
    assert codes.use_backup_code(digests, wrong) is VerifyReason.WRONG_CODE
    assert len(digests) == 2
    assert codes.use_backup_code(digests, right) is VerifyReason.OK
    assert len(digests) == 1
    assert codes.use_backup_code(digests, right) is VerifyReason.WRONG_CODE
    assert codes.use_backup_code([], right) is VerifyReason.NO_ACTIVE_CODE


def test_a_backup_code_is_accepted_in_any_case_and_with_any_separators(core: Core) -> None:
    _, issued = enable_app(core)
    typed = [
        issued[0],
        issued[1].lower(),
        issued[2].replace("-", ""),
        f" {issued[3].replace('-', ' ').lower()} ",
    ]
    for spelled in typed:
        answer = core.do(core.service.verify_code(ALICE, spelled))
        assert answer.verdict.accepted, spelled
    assert len(core.store.user(ALICE).backup_codes) == 6


def test_digests_are_bound_to_the_user_even_where_the_ids_run_together() -> None:
    hasher = FakeHasher()
    one = codes.backup_code_digest(hasher, UserRef("ab", "c"), "ABCDEFGHJKMN")
    two = codes.backup_code_digest(hasher, UserRef("a", "bc"), "ABCDEFGHJKMN")
    assert one != two
    assert codes.bound_to_user(UserRef("ab", "c"), b"x") != codes.bound_to_user(
        UserRef("a", "bc"), b"x"
    )


# --- email codes -----------------------------------------------------------------------------


@pytest.mark.parametrize(("below", "code"), [(0, "000000"), (42, "000042"), (999_999, "999999")])
def test_an_email_code_is_six_digits_zero_padded(below: int, code: str) -> None:
    assert codes.new_email_code(FixedRandom(below=below)) == code


def test_an_email_code_digest_depends_on_the_user_and_the_code() -> None:
    hasher = FakeHasher()
    alice, bob = UserRef("acme", "alice"), UserRef("acme", "bob")
    assert codes.email_code_digest(hasher, alice, "123456") == codes.email_code_digest(
        hasher, alice, "123456"
    )
    assert codes.email_code_digest(hasher, alice, "123456") != codes.email_code_digest(
        hasher, bob, "123456"
    )
    assert codes.email_code_digest(hasher, alice, "123456") != codes.email_code_digest(
        hasher, alice, "123457"
    )
    # Email and backup codes are hashed for different purposes.
    assert codes.email_code_digest(hasher, alice, "234567") != codes.backup_code_digest(
        hasher, alice, "234567"
    )
