"""Trusted devices as pure rules: one spelling per token, expiry by the current policy,
at most fifty per user, lookup by digest."""

from __future__ import annotations

import base64
import hmac

import pytest

from twofa_server.core import devices
from twofa_server.core.models import Frequency, Policy, TrustedDevice, UserRef

from .fakes import FakeHasher, FixedRandom, SeededRandom

DAY = 86400.0
NOW = 1_800_000_000.0
URLSAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def device(created_at: float, name: str = "d", digest: bytes = b"") -> TrustedDevice:
    return TrustedDevice(
        name, digest or name.encode().ljust(32, b"."), name, created_at, created_at
    )


# --- tokens ----------------------------------------------------------------------------


def test_a_new_token_is_43_url_safe_characters_of_32_random_bytes() -> None:
    token, raw = devices.new_token(SeededRandom(7))
    assert len(raw) == 32 and len(token) == 43
    assert set(token) <= set(URLSAFE)
    assert devices.parse_token(token) == raw
    assert devices.new_token(SeededRandom(7)) == (token, raw)  # the randomness is injected
    assert devices.new_token(FixedRandom(byte=0xFF))[0] == "_" * 42 + "8"


def _respelled(token: str) -> str:
    """The same 32 bytes with stray low bits in the last character (base64 ignores them)."""
    last = URLSAFE.index(token[-1])
    assert last % 4 == 0  # 43 characters carry 258 bits: the last two are zero
    return token[:-1] + URLSAFE[last + 1]


@pytest.mark.parametrize(
    "spell",
    [
        lambda t: t + "=",
        lambda t: t[:-1],
        lambda t: t + "A",
        lambda t: t.replace("-", "+").replace("_", "/"),
        lambda t: " " + t,
        _respelled,
    ],
    ids=["padded", "short", "long", "standard-alphabet", "space", "stray-low-bits"],
)
def test_only_the_issued_spelling_of_a_token_parses(spell: object) -> None:
    token, raw = devices.new_token(FixedRandom(byte=0xFB))  # holds '-' and '_'
    assert "-" in token or "_" in token
    changed = spell(token)  # type: ignore[operator]
    assert changed != token
    assert base64.urlsafe_b64decode(token + "=") == raw
    assert devices.parse_token(changed) is None


@pytest.mark.parametrize("token", ["", "x", "!" * 43, "A" * 44, "é" * 43])
def test_anything_else_is_not_a_token(token: str) -> None:
    assert devices.parse_token(token) is None


def test_a_token_digest_is_bound_to_its_user() -> None:
    _, raw = devices.new_token(SeededRandom())
    alice = devices.token_digest(FakeHasher(), UserRef("acme", "alice"), raw)
    assert alice == devices.token_digest(FakeHasher(), UserRef("acme", "alice"), raw)
    assert alice != devices.token_digest(FakeHasher(), UserRef("acme", "bob"), raw)
    assert alice != devices.token_digest(FakeHasher(), UserRef("other", "alice"), raw)


# --- expiry by the current policy --------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "age", "expired"),
    [(14, 14 * DAY - 1, False), (14, 14 * DAY, True), (30, 14 * DAY, False), (1, DAY, True)],
)
def test_a_device_expires_after_the_days_of_the_policy_it_is_judged_by(
    days: int, age: float, expired: bool
) -> None:
    policy = Policy(frequency=Frequency.TRUSTED_DEVICE, trusted_device_days=days)
    trusted = device(NOW)
    assert devices.expires_at(trusted, policy) == NOW + days * DAY
    assert devices.is_expired(trusted, policy, NOW + age) is expired


def test_only_a_trusted_device_policy_trusts_devices() -> None:
    assert devices.trusts(Policy(frequency=Frequency.TRUSTED_DEVICE))
    assert not devices.trusts(Policy(frequency=Frequency.EVERY_LOGIN))


def test_live_devices_are_the_unexpired_ones_newest_first() -> None:
    policy = Policy(frequency=Frequency.TRUSTED_DEVICE, trusted_device_days=7)
    stored = [device(NOW - 8 * DAY, "old"), device(NOW - DAY, "mid"), device(NOW, "new")]
    assert [d.device_id for d in devices.live(stored, policy, NOW)] == ["new", "mid"]
    longer = Policy(frequency=Frequency.TRUSTED_DEVICE, trusted_device_days=30)
    assert [d.device_id for d in devices.live(stored, longer, NOW)] == ["new", "mid", "old"]


# --- at most fifty, found by digest ----------------------------------------------------------


def test_the_fifty_first_device_evicts_the_oldest() -> None:
    stored: list[TrustedDevice] = []
    for i in range(50):
        assert devices.add(stored, device(NOW + i, f"d{i}")) == 0
    assert devices.add(stored, device(NOW + 50, "d50")) == 1
    assert len(stored) == devices.MAX_DEVICES_PER_USER == 50
    assert stored[0].device_id == "d1" and stored[-1].device_id == "d50"
    # A device created earlier than all the others is the one to go.
    assert devices.add(stored, device(NOW - 1, "late-but-old")) == 1
    assert "late-but-old" not in {d.device_id for d in stored}


def test_find_returns_the_device_holding_the_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    stored = [device(NOW + i, f"d{i}") for i in range(4)]
    compared: list[bytes] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        compared.append(a)
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    assert devices.find(stored, stored[1].digest) is stored[1]
    assert len(compared) == 4  # every entry is compared, not just up to the match
    assert devices.find(stored, b"x" * 32) is None
    assert devices.find([], stored[0].digest) is None
