"""Tests of twofa_server.core.otp: the RFC vectors first, then the edges."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from twofa_server.core import otp

from ..support.totp import totp_at

RFC4226_KEY = b"12345678901234567890"

# RFC 4226 Appendix D, "HOTP values" for counts 0-9.
RFC4226_HOTP = (
    (0, "755224"),
    (1, "287082"),
    (2, "359152"),
    (3, "969429"),
    (4, "338314"),
    (5, "254676"),
    (6, "287922"),
    (7, "162583"),
    (8, "399871"),
    (9, "520489"),
)

# RFC 6238 Appendix B: the seeds are ASCII "12345678901234567890" repeated to the
# hash's block of 20, 32 and 64 bytes (per the errata; the table's own text
# shows only the 20-byte seed).
RFC6238_KEYS = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
RFC6238_TOTP = (
    (59, "sha1", "94287082"),
    (59, "sha256", "46119246"),
    (59, "sha512", "90693936"),
    (1111111109, "sha1", "07081804"),
    (1111111109, "sha256", "68084774"),
    (1111111109, "sha512", "25091201"),
    (1111111111, "sha1", "14050471"),
    (1111111111, "sha256", "67062674"),
    (1111111111, "sha512", "99943326"),
    (1234567890, "sha1", "89005924"),
    (1234567890, "sha256", "91819424"),
    (1234567890, "sha512", "93441116"),
    (2000000000, "sha1", "69279037"),
    (2000000000, "sha256", "90698825"),
    (2000000000, "sha512", "38618901"),
    (20000000000, "sha1", "65353130"),
    (20000000000, "sha256", "77737706"),
    (20000000000, "sha512", "47863826"),
)


@pytest.mark.parametrize(("counter", "expected"), RFC4226_HOTP)
def test_hotp_rfc4226_appendix_d(counter: int, expected: str) -> None:
    assert otp.hotp(RFC4226_KEY, counter) == expected


@pytest.mark.parametrize(("unix_seconds", "digest", "expected"), RFC6238_TOTP)
def test_totp_rfc6238_appendix_b(unix_seconds: int, digest: str, expected: str) -> None:
    assert otp.totp(RFC6238_KEYS[digest], unix_seconds, digits=8, digest=digest) == expected


def test_rfc_key_lengths() -> None:
    # Guards the literal keys above against a typo that would still "pass" by luck.
    assert [len(key) for key in RFC6238_KEYS.values()] == [20, 32, 64]


# --- an independent implementation, after the Java reference code in RFC 6238 Appendix A


def reference_totp(key: bytes, unix_seconds: int, digits: int, digest: str) -> str:
    counter = unix_seconds // 30
    mac = hmac.new(key, counter.to_bytes(8, "big"), getattr(hashlib, digest)).digest()
    offset = mac[len(mac) - 1] & 0xF
    binary = (
        ((mac[offset] & 0x7F) << 24)
        | (mac[offset + 1] << 16)
        | (mac[offset + 2] << 8)
        | mac[offset + 3]
    )
    return str(binary % 10**digits).rjust(digits, "0")


def test_against_independent_implementation() -> None:
    rng = random.Random(6238)
    for _ in range(300):
        digest = rng.choice(("sha1", "sha256", "sha512"))
        # Past SHA-1's and SHA-512's blocks (64 and 128 bytes) too: HMAC hashes such keys.
        key = rng.randbytes(rng.choice((1, 10, 16, 20, 32, 64, 65, 128, 129, 200)))
        unix_seconds = rng.randrange(0, 4_000_000_000)
        digits = rng.choice((6, 7, 8))
        expected = reference_totp(key, unix_seconds, digits, digest)
        case = (key.hex(), unix_seconds, digits, digest)
        assert otp.totp(key, unix_seconds, digits, digest) == expected, case
        params = otp.TotpParameters(digits=digits, algorithm=digest)
        step = unix_seconds // 30
        assert step in otp.matching_steps(key, expected, unix_seconds, params=params), case


# --- hotp / totp edges


def test_hotp_is_zero_padded() -> None:
    # RFC 6238: SHA-1 at 1111111109 is "07081804"; its last six digits start with 0.
    assert otp.totp(RFC4226_KEY, 1111111109) == "081804"
    assert otp.hotp(RFC4226_KEY, 37037036) == "081804"


def test_defaults_are_six_digit_sha1_thirty_seconds() -> None:
    assert (otp.PERIOD_SECONDS, otp.DIGITS, otp.SECRET_BYTES) == (30, 6, 20)
    assert otp.totp(RFC4226_KEY, 59) == "287082"  # step 1, RFC 4226 count 1


@pytest.mark.parametrize(
    ("counter", "digits", "digest", "message"),
    [
        (-1, 6, "sha1", "counter"),
        (1 << 64, 6, "sha1", "counter"),
        (0, 0, "sha1", "digits"),
        (0, 11, "sha1", "digits"),
        (0, 6, "md5", "digest"),
        (0, 6, "SHA1", "digest"),
    ],
)
def test_hotp_rejects_out_of_range_arguments(
    counter: int, digits: int, digest: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        otp.hotp(RFC4226_KEY, counter, digits, digest)


def test_hotp_extreme_counter_and_digits() -> None:
    largest = (1 << 64) - 1
    assert otp.hotp(RFC4226_KEY, largest) == reference_totp(RFC4226_KEY, largest * 30, 6, "sha1")
    # Ten digits hold the whole 31-bit truncated value.
    ten = otp.hotp(RFC4226_KEY, 0, digits=10)
    assert len(ten) == 10
    assert ten == reference_totp(RFC4226_KEY, 0, 10, "sha1")


# --- time_step


@pytest.mark.parametrize(
    ("unix_seconds", "step"),
    [
        (0, 0),
        (0.0, 0),
        (29.999, 0),
        (29.999999, 0),
        (30.0, 1),
        (30, 1),
        (59.999, 1),
        (60.0, 2),
        (1111111109, 37037036),
        (1111111110, 37037037),
        (20000000000, 666666666),
    ],
)
def test_time_step_boundaries(unix_seconds: float, step: int) -> None:
    assert otp.time_step(unix_seconds) == step


def test_totp_switches_code_exactly_at_the_boundary() -> None:
    assert otp.totp(RFC4226_KEY, 29.999) == "755224"  # RFC 4226 count 0
    assert otp.totp(RFC4226_KEY, 30.0) == "287082"  # RFC 4226 count 1


def test_time_step_other_period_and_bad_period() -> None:
    assert otp.time_step(119.5, period=60) == 1
    with pytest.raises(ValueError, match="period"):
        otp.time_step(100, period=0)


def test_totp_before_epoch_is_rejected() -> None:
    with pytest.raises(ValueError, match="counter"):
        otp.totp(RFC4226_KEY, -1)


# --- matching_steps

NOW = 1111111111.5  # inside step 37037037
STEP = 37037037


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_matching_steps_accepts_previous_current_and_next(offset: int) -> None:
    code = otp.hotp(RFC4226_KEY, STEP + offset)
    assert otp.matching_steps(RFC4226_KEY, code, NOW) == (STEP + offset,)


@pytest.mark.parametrize("offset", [-2, 2])
def test_matching_steps_rejects_two_steps_away(offset: int) -> None:
    code = otp.hotp(RFC4226_KEY, STEP + offset)
    near = {otp.hotp(RFC4226_KEY, STEP + d) for d in (-1, 0, 1)}
    assert code not in near  # the test would prove nothing otherwise
    assert otp.matching_steps(RFC4226_KEY, code, NOW) == ()
    assert otp.matching_steps(RFC4226_KEY, code, NOW, window=2) == (STEP + offset,)


def test_matching_steps_window_zero() -> None:
    assert otp.matching_steps(RFC4226_KEY, otp.hotp(RFC4226_KEY, STEP), NOW, window=0) == (STEP,)
    previous = otp.hotp(RFC4226_KEY, STEP - 1)
    assert otp.matching_steps(RFC4226_KEY, previous, NOW, window=0) == ()


def test_matching_steps_wrong_code() -> None:
    near = {otp.hotp(RFC4226_KEY, STEP + d) for d in (-1, 0, 1)}
    wrong = next(c for c in ("000000", "123456", "999999") if c not in near)
    assert otp.matching_steps(RFC4226_KEY, wrong, NOW) == ()


def test_matching_steps_wrong_key() -> None:
    code = otp.hotp(RFC4226_KEY, STEP)
    assert otp.matching_steps(b"another secret key..", code, NOW) == ()


def test_matching_steps_leading_zero() -> None:
    # SHA-1 at 1111111109 is "081804" (RFC 6238: "07081804"), in step 37037036.
    assert otp.matching_steps(RFC4226_KEY, "081804", 1111111109) == (37037036,)
    assert otp.matching_steps(RFC4226_KEY, "81804", 1111111109) == ()
    assert otp.matching_steps(RFC4226_KEY, "0081804", 1111111109) == ()


@pytest.mark.parametrize(
    "code",
    [
        "",
        "75522",
        "7552240",
        "75522a",
        " 55224",
        "755224\n",
        "\u0667\u0665\u0665\u0662\u0662\u0664",  # Arabic-Indic digits: isdigit() but not ASCII
        "\uff17\uff15\uff15\uff12\uff12\uff14",  # full-width digits
        "-55224",
        "+55224",
    ],
)
def test_matching_steps_malformed_code_never_matches(code: str) -> None:
    # Time 5 s is step 0, whose code is "755224" (RFC 4226 count 0).
    assert otp.matching_steps(RFC4226_KEY, "755224", 5) == (0,)
    assert otp.matching_steps(RFC4226_KEY, code, 5) == ()


def test_matching_steps_near_epoch_has_no_negative_steps() -> None:
    assert otp.matching_steps(RFC4226_KEY, "755224", 0, window=1) == (0,)
    assert otp.matching_steps(RFC4226_KEY, "287082", 0, window=1) == (1,)


def test_matching_steps_returns_every_match_ascending() -> None:
    # Found by an offline search: with the RFC 4226 key, steps 910737 and 910738
    # share the code 911617, a coincidence that happens about once a million steps.
    unix_seconds = 910738 * 30 + 7
    assert otp.matching_steps(RFC4226_KEY, "911617", unix_seconds) == (910737, 910738)
    assert reference_totp(RFC4226_KEY, 910737 * 30, 6, "sha1") == "911617"
    assert reference_totp(RFC4226_KEY, 910738 * 30, 6, "sha1") == "911617"


def test_matching_steps_compares_every_candidate(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    # otp calls hmac.compare_digest through the module, so patching it there is seen.
    monkeypatch.setattr(hmac, "compare_digest", counting)
    # A match at the first candidate must not stop the loop early.
    code = otp.hotp(RFC4226_KEY, STEP - 1)
    assert otp.matching_steps(RFC4226_KEY, code, NOW) == (STEP - 1,)
    assert len(calls) == 3
    calls.clear()
    assert otp.matching_steps(RFC4226_KEY, code, NOW, window=2) == (STEP - 1,)
    assert len(calls) == 5


def test_matching_steps_rejects_negative_window() -> None:
    with pytest.raises(ValueError, match="window"):
        otp.matching_steps(RFC4226_KEY, "755224", NOW, window=-1)


# --- secrets


def test_generate_secret_uses_the_injected_source() -> None:
    requested: list[int] = []

    def fake_token_bytes(n: int) -> bytes:
        requested.append(n)
        return bytes(range(n))

    assert otp.generate_secret(fake_token_bytes) == bytes(range(20))
    assert requested == [20]


def test_generate_secret_rejects_a_short_source() -> None:
    with pytest.raises(ValueError, match="bytes"):
        otp.generate_secret(lambda n: b"\x00" * (n - 1))


def test_base32_known_values() -> None:
    # RFC 4648 §10 test vector, and the RFC 4226 key as apps display it.
    assert otp.base32_secret(b"foobar") == "MZXW6YTBOI"
    assert otp.base32_secret(RFC4226_KEY) == "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


@pytest.mark.parametrize("length", [1, 5, 10, 16, 19, 20, 32, 64])
def test_base32_no_padding_round_trip(length: int) -> None:
    secret = random.Random(length).randbytes(length)
    text = otp.base32_secret(secret)
    assert "=" not in text
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    assert base64.b32decode(text + "=" * (-len(text) % 8)) == secret


# --- provisioning_uri

EXPECTED_URI = (
    "otpauth://totp/ACME%20Corp:j%C3%BCrgen%40example.com"
    "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ACME%20Corp"
    "&algorithm=SHA1&digits=6&period=30"
)


def test_provisioning_uri_exact() -> None:
    uri = otp.provisioning_uri(RFC4226_KEY, "jürgen@example.com", "ACME Corp")
    assert uri == EXPECTED_URI
    assert "+" not in uri
    assert uri.isascii()


def test_provisioning_uri_parses_back() -> None:
    uri = otp.provisioning_uri(RFC4226_KEY, "jürgen@example.com", "ACME Corp")
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    issuer, account = unquote(parts.path.removeprefix("/")).split(":")
    assert (issuer, account) == ("ACME Corp", "jürgen@example.com")
    params = parse_qs(parts.query, strict_parsing=True)
    assert params == {
        "secret": ["GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"],
        "issuer": ["ACME Corp"],
        "algorithm": ["SHA1"],
        "digits": ["6"],
        "period": ["30"],
    }
    secret = params["secret"][0]
    assert base64.b32decode(secret + "=" * (-len(secret) % 8)) == RFC4226_KEY


def test_provisioning_uri_encodes_reserved_characters() -> None:
    uri = otp.provisioning_uri(b"\x01" * 20, "a&b=c?d/e#f%g", "X&Y")
    assert uri.startswith("otpauth://totp/X%26Y:a%26b%3Dc%3Fd%2Fe%23f%25g?")
    assert "&issuer=X%26Y&" in uri
    assert parse_qs(urlsplit(uri).query)["issuer"] == ["X&Y"]


@pytest.mark.parametrize(
    ("account", "issuer", "message"),
    [
        ("alice:admin", "ACME", "account_name"),
        ("alice", "ACME:Corp", "issuer"),
        (":", "ACME", "account_name"),
        ("", "ACME", "account_name"),
        ("alice", "", "issuer"),
    ],
)
def test_provisioning_uri_rejects_bad_labels(account: str, issuer: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        otp.provisioning_uri(RFC4226_KEY, account, issuer)


def test_provisioning_uri_rejects_empty_secret() -> None:
    with pytest.raises(ValueError, match="secret"):
        otp.provisioning_uri(b"", "alice", "ACME")


@pytest.mark.parametrize("key_length", [1, 10, 20, 63, 64, 65, 100])
def test_matching_steps_agrees_with_the_standard_hmac_for_any_key_length(key_length: int) -> None:
    """The keyed SHA-1 states must be RFC 2104 HMAC, including keys longer than a block."""
    rng = random.Random(key_length)
    for _ in range(20):
        key = rng.randbytes(key_length)
        unix_seconds = rng.randrange(30, 2**33)
        code = reference_totp(key, unix_seconds, 6, "sha1")
        step = unix_seconds // 30
        assert step in otp.matching_steps(key, code, unix_seconds)


# --- other TOTP parameters: eight digits, SHA-256 / SHA-512, 60-second steps

# Eight-digit codes of the RFC 6238 seeds with 60-second steps, from oathtool 2.6.7
# (`oathtool --totp=sha256 -d 8 -s 60 -N @1234567890 <hex seed>`): an implementation
# other than the server's and the tests' own.
OATHTOOL_60S = (
    (59, "sha1", "84755224"),
    (59, "sha256", "18920136"),
    (59, "sha512", "53550594"),
    (1111111109, "sha1", "19360094"),
    (1111111109, "sha256", "40857319"),
    (1111111109, "sha512", "37023009"),
    (1234567890, "sha1", "55713351"),
    (1234567890, "sha256", "16450756"),
    (1234567890, "sha512", "85275929"),
    (2000000000, "sha1", "76864010"),
    (2000000000, "sha256", "34471171"),
    (2000000000, "sha512", "97791279"),
)


@pytest.mark.parametrize(("unix_seconds", "digest", "expected"), RFC6238_TOTP)
def test_the_tests_own_totp_gives_the_rfc6238_vectors(
    unix_seconds: int, digest: str, expected: str
) -> None:
    """Guards support/totp.py, which the API tests compute every code with."""
    key = RFC6238_KEYS[digest]
    assert totp_at(key, unix_seconds, digits=8, algorithm=digest) == expected


@pytest.mark.parametrize(("unix_seconds", "digest", "expected"), OATHTOOL_60S)
def test_the_tests_own_totp_agrees_with_oathtool_on_60_second_steps(
    unix_seconds: int, digest: str, expected: str
) -> None:
    key = RFC6238_KEYS[digest]
    assert totp_at(key, unix_seconds, digits=8, period=60, algorithm=digest) == expected


@pytest.mark.parametrize(("unix_seconds", "digest", "expected"), RFC6238_TOTP)
def test_steps_matching_finds_the_rfc6238_step_for_each_hash(
    unix_seconds: int, digest: str, expected: str
) -> None:
    key, step = RFC6238_KEYS[digest], unix_seconds // 30
    params = otp.TotpParameters(digits=8, period=30, algorithm=digest)
    near = range(max(step - 3, 0), step + 4)
    assert otp.steps_matching(key, expected, near, params) == (step,)
    assert otp.matching_steps(key, expected, unix_seconds, params=params) == (step,)
    # The same digits under another hash, or six of them, match nothing.
    others = [d for d in ("sha1", "sha256", "sha512") if d != digest]
    for other in others:
        assert otp.steps_matching(key, expected, near, otp.TotpParameters(8, 30, other)) == ()
    assert otp.steps_matching(key, expected[2:], near, params) == ()


@pytest.mark.parametrize(("unix_seconds", "digest", "expected"), OATHTOOL_60S)
def test_matching_steps_with_60_second_steps(unix_seconds: int, digest: str, expected: str) -> None:
    key, step = RFC6238_KEYS[digest], unix_seconds // 60
    params = otp.TotpParameters(digits=8, period=60, algorithm=digest)
    assert otp.matching_steps(key, expected, unix_seconds, params=params) == (step,)
    # One period later the window still holds it (the previous step), two periods later not.
    assert otp.matching_steps(key, expected, unix_seconds + 60, params=params) == (step,)
    assert otp.matching_steps(key, expected, unix_seconds + 120, params=params) == ()
    # A window centred elsewhere (a learnt clock drift) finds it from there.
    later = unix_seconds + 600
    assert otp.matching_steps(key, expected, later, params=params, center=-10) == (step,)


@pytest.mark.parametrize(
    ("params", "query"),
    [
        (otp.TotpParameters(8, 60, "sha256"), "algorithm=SHA256&digits=8&period=60"),
        (otp.TotpParameters(8, 30, "sha512"), "algorithm=SHA512&digits=8&period=30"),
        (otp.TotpParameters(6, 60, "sha1"), "algorithm=SHA1&digits=6&period=60"),
    ],
    ids=["sha256-8-60", "sha512-8-30", "sha1-6-60"],
)
def test_provisioning_uri_carries_the_parameters(params: otp.TotpParameters, query: str) -> None:
    uri = otp.provisioning_uri(RFC4226_KEY, "alice", "ACME", params)
    assert uri == (
        "otpauth://totp/ACME:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ACME&" + query
    )
    parsed = parse_qs(urlsplit(uri).query, strict_parsing=True)
    assert parsed["algorithm"] == [params.algorithm.upper()]
    assert parsed["digits"] == [str(params.digits)]
    assert parsed["period"] == [str(params.period)]
