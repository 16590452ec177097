"""Tests of the keyring file, AEAD sealing and keyed hashing, against real files."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_decrypt

from twofa_server.core.ports import Hasher
from twofa_server.crypto import (
    KeyedHasher,
    Keyring,
    KeyringError,
    Sealer,
    SealError,
    generate_keyring,
    load_keyring,
    with_new_primary_key,
    without_key,
    write_keyring,
)

AD = b"t1/u1/totp_secret"
SECRET = b"12345678901234567890"
# Words the action part of a KeyringError message starts with.
ACTIONS = ("create", "restore", "run", "check", "set", "upgrade", "move", "make", "pick")


def counting_bytes() -> Callable[[int], bytes]:
    """Returns a deterministic, distinct-per-call stand-in for secrets.token_bytes."""
    calls: Iterator[int] = iter(range(1, 1 << 16))

    def token_bytes(n: int) -> bytes:
        seed = next(calls).to_bytes(2, "big")
        return hashlib.shake_256(seed).digest(n)

    return token_bytes


def key_material(keyring: Keyring) -> list[str]:
    """Every form in which a keyring's keys could leak into a message."""
    raw = [*keyring.aead_keys.values(), keyring.mac_key]
    return [form for key in raw for form in (base64.b64encode(key).decode(), key.hex(), repr(key))]


def assert_actionable(exc: KeyringError, path: Path, secrets: list[str]) -> None:
    message = str(exc)
    assert "\n" not in message
    assert str(path) in message
    _, _, action = message.rpartition(": ")
    assert action.startswith(ACTIONS), message
    for secret in secrets:
        assert secret not in message


@pytest.fixture
def keyring() -> Keyring:
    return generate_keyring()


@pytest.fixture
def keyring_path(tmp_path: Path, keyring: Keyring) -> Path:
    path = tmp_path / "data" / "keyring"
    write_keyring(path, keyring)
    return path


# Keyring files.


def test_write_then_load_round_trips(keyring: Keyring, keyring_path: Path) -> None:
    assert load_keyring(keyring_path) == keyring


def test_round_trip_keeps_every_key(tmp_path: Path) -> None:
    rotated = with_new_primary_key(with_new_primary_key(generate_keyring()))
    path = tmp_path / "keyring"
    write_keyring(path, rotated)
    loaded = load_keyring(path)
    assert loaded.primary_key_id == 3
    assert dict(loaded.aead_keys) == dict(rotated.aead_keys)
    assert loaded.mac_key == rotated.mac_key


def test_file_format(keyring: Keyring, keyring_path: Path) -> None:
    doc = json.loads(keyring_path.read_text(encoding="utf-8"))
    assert doc == {
        "format": "twofa-keyring",
        "version": 1,
        "primary_key_id": 1,
        "aead_keys": {"1": base64.b64encode(keyring.aead_keys[1]).decode()},
        "mac_key": base64.b64encode(keyring.mac_key).decode(),
    }


def test_written_file_is_private_and_alone(keyring_path: Path) -> None:
    assert stat.S_IMODE(keyring_path.stat().st_mode) == 0o600
    assert os.listdir(keyring_path.parent) == ["keyring"]


def test_write_refuses_to_overwrite(keyring: Keyring, keyring_path: Path) -> None:
    before = keyring_path.read_bytes()
    with pytest.raises(KeyringError) as caught:
        write_keyring(keyring_path, generate_keyring())
    assert_actionable(caught.value, keyring_path, key_material(keyring))
    assert keyring_path.read_bytes() == before
    assert os.listdir(keyring_path.parent) == ["keyring"]


def test_write_overwrites_when_asked(keyring_path: Path) -> None:
    keyring_path.chmod(0o640)
    replacement = with_new_primary_key(load_keyring(keyring_path))
    write_keyring(keyring_path, replacement, overwrite=True)
    assert load_keyring(keyring_path) == replacement
    assert stat.S_IMODE(keyring_path.stat().st_mode) == 0o600


def test_write_failure_names_the_path(tmp_path: Path, keyring: Keyring) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    path = blocker / "keyring"
    with pytest.raises(KeyringError) as caught:
        write_keyring(path, keyring)
    assert_actionable(caught.value, path, key_material(keyring))


def test_group_readable_is_allowed(keyring: Keyring, keyring_path: Path) -> None:
    keyring_path.chmod(0o440)
    assert load_keyring(keyring_path) == keyring


def test_symlink_to_keyring_is_followed(keyring: Keyring, keyring_path: Path) -> None:
    # Kubernetes mounts secrets as symlinks into a timestamped directory.
    link = keyring_path.parent / "link"
    link.symlink_to(keyring_path)
    assert load_keyring(link) == keyring


def _mutate(change: Callable[[dict[str, Any]], object]) -> Callable[[dict[str, Any]], str]:
    def apply(doc: dict[str, Any]) -> str:
        change(doc)
        return json.dumps(doc)

    return apply


# Each case turns a valid keyring document into the text of a broken file.
BROKEN_FILES: dict[str, Callable[[dict[str, Any]], str]] = {
    "not json": lambda doc: json.dumps(doc)[:-5],
    "empty": lambda doc: "",
    "not an object": lambda doc: json.dumps([doc]),
    "wrong format": _mutate(lambda doc: doc.update(format="other")),
    "missing format": _mutate(lambda doc: doc.pop("format")),
    "newer version": _mutate(lambda doc: doc.update(version=2)),
    "version as text": _mutate(lambda doc: doc.update(version="1")),
    "version as bool": _mutate(lambda doc: doc.update(version=True)),
    "missing version": _mutate(lambda doc: doc.pop("version")),
    "unknown field": _mutate(lambda doc: doc.update(comment="x")),
    "missing primary": _mutate(lambda doc: doc.pop("primary_key_id")),
    "primary as text": _mutate(lambda doc: doc.update(primary_key_id="1")),
    "primary not a key": _mutate(lambda doc: doc.update(primary_key_id=7)),
    "missing aead keys": _mutate(lambda doc: doc.pop("aead_keys")),
    "empty aead keys": _mutate(lambda doc: doc.update(aead_keys={})),
    "aead keys as list": _mutate(lambda doc: doc.update(aead_keys=[doc["aead_keys"]["1"]])),
    "key id not a number": _mutate(lambda doc: doc["aead_keys"].update(x=doc["aead_keys"]["1"])),
    "key id with zero": _mutate(lambda doc: doc["aead_keys"].update({"01": "AAAA"})),
    "key id zero": _mutate(lambda doc: doc.update(aead_keys={"0": doc["aead_keys"]["1"]})),
    "key id too large": _mutate(lambda doc: doc["aead_keys"].update({"4294967296": "AAAA"})),
    "key not a string": _mutate(lambda doc: doc["aead_keys"].update({"1": 5})),
    "key bad base64": _mutate(lambda doc: doc["aead_keys"].update({"1": "!!" + "A" * 42})),
    "key short": _mutate(
        lambda doc: doc["aead_keys"].update({"1": base64.b64encode(bytes(range(31))).decode()})
    ),
    "missing mac key": _mutate(lambda doc: doc.pop("mac_key")),
    "mac key bad base64": _mutate(lambda doc: doc.update(mac_key=doc["mac_key"][:-1])),
    "mac key short": _mutate(lambda doc: doc.update(mac_key=base64.b64encode(b"k" * 16).decode())),
    "duplicated field": lambda doc: json.dumps(doc)[:-1] + ', "version": 1}',
    "huge integer": lambda doc: json.dumps(doc).replace(": 1,", ": 1" + "0" * 5000 + ",", 1),
    "deep nesting": lambda doc: "[" * 100_000,
}


@pytest.mark.parametrize("case", BROKEN_FILES)
def test_broken_file_is_one_actionable_line(
    case: str, keyring: Keyring, keyring_path: Path
) -> None:
    doc = json.loads(keyring_path.read_text(encoding="utf-8"))
    keyring_path.write_text(BROKEN_FILES[case](doc), encoding="utf-8")
    with pytest.raises(KeyringError) as caught:
        load_keyring(keyring_path)
    assert_actionable(caught.value, keyring_path, key_material(keyring))


def test_not_utf8_is_one_actionable_line(keyring: Keyring, keyring_path: Path) -> None:
    keyring_path.write_bytes(b"\xff" + keyring_path.read_bytes())
    with pytest.raises(KeyringError) as caught:
        load_keyring(keyring_path)
    assert_actionable(caught.value, keyring_path, key_material(keyring))


def test_missing_file_says_how_to_create_one(tmp_path: Path) -> None:
    path = tmp_path / "keyring"
    with pytest.raises(KeyringError) as caught:
        load_keyring(path)
    assert_actionable(caught.value, path, [])
    assert f"twofa keys generate {path}" in str(caught.value)


@pytest.mark.parametrize("mode", [0o644, 0o604, 0o602, 0o666])
def test_file_open_to_others_is_refused(mode: int, keyring: Keyring, keyring_path: Path) -> None:
    keyring_path.chmod(mode)
    with pytest.raises(KeyringError) as caught:
        load_keyring(keyring_path)
    assert_actionable(caught.value, keyring_path, key_material(keyring))
    assert f"mode {mode:04o}" in str(caught.value)
    assert f"chmod 600 {keyring_path}" in str(caught.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_is_refused(keyring: Keyring, keyring_path: Path) -> None:
    keyring_path.chmod(0o000)
    with pytest.raises(KeyringError) as caught:
        load_keyring(keyring_path)
    assert_actionable(caught.value, keyring_path, key_material(keyring))


def test_path_under_a_file_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    path = blocker / "keyring"
    with pytest.raises(KeyringError) as caught:
        load_keyring(path)
    assert_actionable(caught.value, path, [])


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyringError) as caught:
        load_keyring(tmp_path)
    assert_actionable(caught.value, tmp_path, [])


# Keyring values.


def test_generate_uses_the_injected_randomness() -> None:
    first = generate_keyring(counting_bytes())
    assert first == generate_keyring(counting_bytes())
    assert first.primary_key_id == 1
    assert set(first.aead_keys) == {1}
    assert first.aead_keys[1] != first.mac_key
    assert all(len(key) == 32 for key in (*first.aead_keys.values(), first.mac_key))


def test_repr_hides_keys(keyring: Keyring) -> None:
    text = repr(keyring)
    for secret in key_material(keyring):
        assert secret not in text


def test_keys_cannot_be_changed_in_place(keyring: Keyring) -> None:
    with pytest.raises(TypeError):
        keyring.aead_keys[2] = bytes(32)  # type: ignore[index]


@pytest.mark.parametrize(
    ("primary", "keys", "mac"),
    [
        (2, {1: bytes(32)}, bytes(32)),
        (0, {0: bytes(32)}, bytes(32)),
        (2**32, {2**32: bytes(32)}, bytes(32)),
        (1, {}, bytes(32)),
        (1, {1: bytes(31)}, bytes(32)),
        (1, {1: bytes(32)}, bytes(33)),
    ],
)
def test_keyring_invariants(primary: int, keys: dict[int, bytes], mac: bytes) -> None:
    with pytest.raises(ValueError):
        Keyring(primary_key_id=primary, aead_keys=keys, mac_key=mac)


def test_new_primary_key_takes_the_next_id(keyring: Keyring) -> None:
    rotated = with_new_primary_key(without_key(with_new_primary_key(keyring), 1))
    assert rotated.primary_key_id == 3
    assert set(rotated.aead_keys) == {2, 3}
    assert rotated.mac_key == keyring.mac_key


def test_new_primary_key_fails_when_ids_run_out() -> None:
    full = Keyring(primary_key_id=2**32 - 1, aead_keys={2**32 - 1: bytes(32)}, mac_key=bytes(32))
    with pytest.raises(KeyringError):
        with_new_primary_key(full)


@pytest.mark.parametrize("key_id", [2, 9])
def test_without_key_refuses_primary_and_unknown(key_id: int, keyring: Keyring) -> None:
    rotated = with_new_primary_key(keyring)
    with pytest.raises(KeyringError) as caught:
        without_key(rotated, key_id)
    message = str(caught.value)
    assert "\n" not in message
    assert message.rpartition(": ")[2].startswith(ACTIONS)
    for secret in key_material(rotated):
        assert secret not in message


# Sealing.


def test_seal_then_open_round_trips(keyring: Keyring) -> None:
    sealer = Sealer(keyring)
    for plaintext in (b"", SECRET, bytes(range(256)) * 40):
        assert sealer.open(sealer.seal(plaintext, AD), AD) == plaintext


def test_blob_layout(keyring: Keyring) -> None:
    # Checked against libsodium directly, so other readers of the store can rely on it.
    keyring = with_new_primary_key(keyring)
    blob = Sealer(keyring, token_bytes=lambda n: b"n" * n).seal(SECRET, AD)
    assert blob[:5] == b"\x01\x00\x00\x00\x02"
    assert blob[5:29] == b"n" * 24
    assert len(blob) == 29 + len(SECRET) + 16
    opened = crypto_aead_xchacha20poly1305_ietf_decrypt(
        blob[29:], blob[:5] + AD, blob[5:29], keyring.aead_keys[2]
    )
    assert opened == SECRET


def test_seals_use_fresh_nonces(keyring: Keyring) -> None:
    sealer = Sealer(keyring)
    assert sealer.seal(SECRET, AD) != sealer.seal(SECRET, AD)


def test_open_with_other_associated_data_fails(keyring: Keyring) -> None:
    sealer = Sealer(keyring)
    blob = sealer.seal(SECRET, b"t1/u1/totp_secret")
    for other in (b"t1/u2/totp_secret", b"t1/u1/totp_secreT", b"", b"t1/u1/totp_secret\x00"):
        with pytest.raises(SealError):
            sealer.open(blob, other)


def test_every_tampered_byte_fails(keyring: Keyring) -> None:
    sealer = Sealer(keyring)
    blob = sealer.seal(SECRET, AD)
    for index in range(len(blob)):
        for flip in (0x01, 0x80):
            tampered = bytearray(blob)
            tampered[index] ^= flip
            with pytest.raises(SealError):
                sealer.open(bytes(tampered), AD)


def test_truncated_or_extended_fails(keyring: Keyring) -> None:
    sealer = Sealer(keyring)
    blob = sealer.seal(SECRET, AD)
    for length in range(len(blob)):
        with pytest.raises(SealError):
            sealer.open(blob[:length], AD)
    with pytest.raises(SealError):
        sealer.open(blob + b"\x00", AD)


def test_unknown_key_id_fails(keyring: Keyring) -> None:
    blob = Sealer(with_new_primary_key(keyring)).seal(SECRET, AD)
    with pytest.raises(SealError):
        Sealer(keyring).open(blob, AD)


def test_same_key_id_other_key_fails() -> None:
    blob = Sealer(generate_keyring()).seal(SECRET, AD)
    with pytest.raises(SealError):
        Sealer(generate_keyring()).open(blob, AD)


def test_header_is_authenticated() -> None:
    # Two ids holding the same key: only the associated data can tell the headers apart.
    key = bytes(range(32))
    keyring = Keyring(primary_key_id=2, aead_keys={1: key, 2: key}, mac_key=bytes(32))
    sealer = Sealer(keyring)
    blob = sealer.seal(SECRET, AD)
    relabelled = blob[:1] + (1).to_bytes(4, "big") + blob[5:]
    with pytest.raises(SealError):
        sealer.open(relabelled, AD)


def test_seal_errors_are_opaque(keyring: Keyring) -> None:
    sealer = Sealer(keyring)
    blob = sealer.seal(SECRET, AD)
    failures = [b"", b"\x02" + blob[1:], blob[:-1], blob, blob[:1] + b"\x00\x00\x00\x09" + blob[5:]]
    messages = set()
    for bad in failures:
        with pytest.raises(SealError) as caught:
            sealer.open(bad, b"t1/u2/totp_secret")
        messages.add(str(caught.value))
    assert messages == {"sealed value cannot be opened"}


def test_key_id_of(keyring: Keyring) -> None:
    rotated = with_new_primary_key(keyring)
    assert Sealer.key_id_of(Sealer(keyring).seal(SECRET, AD)) == 1
    assert Sealer.key_id_of(Sealer(rotated).seal(SECRET, AD)) == 2
    for malformed in (b"", b"\x01\x00\x00\x00\x01", b"\x02" + bytes(60)):
        with pytest.raises(SealError):
            Sealer.key_id_of(malformed)


def test_rotation_lifecycle(tmp_path: Path) -> None:
    path = tmp_path / "keyring"
    write_keyring(path, generate_keyring())
    v1 = Sealer(load_keyring(path))
    old_blob = v1.seal(SECRET, AD)
    assert v1.primary_key_id == 1
    assert Sealer.key_id_of(old_blob) == 1

    write_keyring(path, with_new_primary_key(load_keyring(path)), overwrite=True)
    v2 = Sealer(load_keyring(path))
    assert v2.primary_key_id == 2
    assert Sealer.key_id_of(v2.seal(SECRET, AD)) == 2
    assert v2.open(old_blob, AD) == SECRET

    resealed = v2.reseal(old_blob, AD)
    assert Sealer.key_id_of(resealed) == 2
    with pytest.raises(SealError):
        v1.open(resealed, AD)

    write_keyring(path, without_key(load_keyring(path), 1), overwrite=True)
    v3 = Sealer(load_keyring(path))
    assert set(load_keyring(path).aead_keys) == {2}
    assert v3.open(resealed, AD) == SECRET
    with pytest.raises(SealError):
        v3.open(old_blob, AD)


# Keyed hashing.

HASHER_CONFORMS: Hasher = KeyedHasher(bytes(32))


def test_digest_is_keyed_blake2b(keyring: Keyring) -> None:
    hasher = KeyedHasher(keyring.mac_key)
    expected = hashlib.blake2b(
        b"ABCD2345EFGH", key=keyring.mac_key, digest_size=32, person=b"backup-code"
    ).digest()
    assert hasher.digest(b"backup-code", b"ABCD2345EFGH") == expected
    assert hasher.digest(b"backup-code", b"ABCD2345EFGH") == expected
    assert len(expected) == 32


def test_digest_differs_by_purpose_data_and_key(keyring: Keyring) -> None:
    hasher = KeyedHasher(keyring.mac_key)
    digests = {
        hasher.digest(b"backup-code", b"123456"),
        hasher.digest(b"email-code", b"123456"),
        hasher.digest(b"backup-code", b"123457"),
        KeyedHasher(generate_keyring().mac_key).digest(b"backup-code", b"123456"),
    }
    assert len(digests) == 4


def test_purpose_of_16_bytes_is_the_limit() -> None:
    hasher = KeyedHasher(bytes(32))
    assert len(hasher.digest(b"p" * 16, b"x")) == 32
    with pytest.raises(ValueError):
        hasher.digest(b"p" * 17, b"x")


def test_mac_key_must_be_32_bytes() -> None:
    with pytest.raises(ValueError):
        KeyedHasher(bytes(16))
