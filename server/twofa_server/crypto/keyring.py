"""The keyring file: AEAD keys by id (one primary) and the MAC key, loaded and written safely."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..errors import OperatorError
from .secret_file import SecretFileError, read_secret_file

KEY_SIZE = 32
MAX_KEY_ID = 2**32 - 1
_FORMAT = "twofa-keyring"
_VERSION = 1
_FIELDS = frozenset({"format", "version", "primary_key_id", "aead_keys", "mac_key"})
# A keyring with thousands of keys is still far below this; anything bigger is not a keyring.
_MAX_FILE_SIZE = 1 << 20
_RESTORE = "restore it from a backup (data sealed with it cannot be read without it)"


class KeyringError(OperatorError):
    """A keyring cannot be used; str() is one line saying what is wrong and what to do."""


@dataclass(frozen=True)
class Keyring:
    """AEAD keys by id, of which the primary one seals, plus the key for keyed hashes.

    Attributes:
        primary_key_id: id of the AEAD key that seals new values.
        aead_keys: key id -> 32-byte XChaCha20-Poly1305 key; every key can open.
        mac_key: 32-byte BLAKE2b key; never rotated, since stored hashes cannot be re-keyed.
    """

    primary_key_id: int
    aead_keys: Mapping[int, bytes] = field(repr=False)
    mac_key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        """Checks the invariants and freezes `aead_keys`.

        Raises:
            ValueError: an id is out of range, a key is not 32 bytes, or the primary is missing.
        """
        _check_key_id(self.primary_key_id, "primary_key_id")
        if not self.aead_keys:
            raise ValueError("aead_keys is empty")
        for key_id, key in self.aead_keys.items():
            _check_key_id(key_id, "AEAD key id")
            _check_key(key, f"AEAD key {key_id}")
        _check_key(self.mac_key, "mac_key")
        if self.primary_key_id not in self.aead_keys:
            ids = ", ".join(str(key_id) for key_id in sorted(self.aead_keys))
            raise ValueError(
                f"primary_key_id {self.primary_key_id} is not one of the key ids {ids}"
            )
        # A copy behind a read-only view, so a frozen Keyring really cannot change.
        object.__setattr__(self, "aead_keys", MappingProxyType(dict(self.aead_keys)))


def _check_key_id(key_id: object, what: str) -> None:
    if type(key_id) is not int or not 1 <= key_id <= MAX_KEY_ID:
        raise ValueError(f"{what} must be an integer in 1..{MAX_KEY_ID}")


def _check_key(key: object, what: str) -> None:
    if type(key) is not bytes:
        raise ValueError(f"{what} must be bytes")
    if len(key) != KEY_SIZE:
        raise ValueError(f"{what} is {len(key)} bytes, expected {KEY_SIZE}")


def generate_keyring(token_bytes: Callable[[int], bytes] = secrets.token_bytes) -> Keyring:
    """Creates a keyring with one fresh AEAD key (id 1, primary) and a fresh MAC key.

    Args:
        token_bytes: source of cryptographically secure random bytes.

    Returns:
        The new keyring.
    """
    return Keyring(
        primary_key_id=1, aead_keys={1: token_bytes(KEY_SIZE)}, mac_key=token_bytes(KEY_SIZE)
    )


def with_new_key(
    keyring: Keyring,
    token_bytes: Callable[[int], bytes] = secrets.token_bytes,
    *,
    primary: bool = True,
) -> Keyring:
    """Adds a fresh AEAD key with the next id, and makes it the primary unless told not to.

    Args:
        keyring: the current keyring; it is not modified.
        token_bytes: source of cryptographically secure random bytes.
        primary: False adds the key only, for the first phase of a fleet's rotation
            (every instance must be able to open values sealed under it first).

    Returns:
        A keyring with a new key of id max(existing ids) + 1.

    Raises:
        KeyringError: the largest key id is already the maximum.
    """
    new_id = max(keyring.aead_keys) + 1
    if new_id > MAX_KEY_ID:
        raise KeyringError(
            f"keyring key ids are exhausted (the largest is {MAX_KEY_ID}): "
            "re-seal all data under a new keyring"
        )
    keys = {**keyring.aead_keys, new_id: token_bytes(KEY_SIZE)}
    return Keyring(
        primary_key_id=new_id if primary else keyring.primary_key_id,
        aead_keys=keys,
        mac_key=keyring.mac_key,
    )


def with_new_primary_key(
    keyring: Keyring, token_bytes: Callable[[int], bytes] = secrets.token_bytes
) -> Keyring:
    """Adds a fresh AEAD key with the next id and makes it the primary (see with_new_key)."""
    return with_new_key(keyring, token_bytes)


def with_primary(keyring: Keyring, key_id: int) -> Keyring:
    """Makes an existing key the primary: the second phase of a fleet's rotation.

    Raises:
        KeyringError: the keyring has no such key.
    """
    if key_id not in keyring.aead_keys:
        ids = ", ".join(str(existing) for existing in sorted(keyring.aead_keys))
        raise KeyringError(f"keyring has no key {key_id}: pick one of its key ids ({ids})")
    return Keyring(primary_key_id=key_id, aead_keys=keyring.aead_keys, mac_key=keyring.mac_key)


def without_key(keyring: Keyring, key_id: int) -> Keyring:
    """Drops a non-primary AEAD key, after everything it sealed has been re-sealed.

    Args:
        keyring: the current keyring; it is not modified.
        key_id: id of the key to drop.

    Returns:
        The keyring without that key.

    Raises:
        KeyringError: the key is the primary or is not in the keyring.
    """
    if key_id == keyring.primary_key_id:
        raise KeyringError(
            f"keyring key {key_id} is the primary key: "
            "make another key primary with 'twofa keys rotate' before dropping it"
        )
    if key_id not in keyring.aead_keys:
        ids = ", ".join(str(existing) for existing in sorted(keyring.aead_keys))
        raise KeyringError(f"keyring has no key {key_id}: pick one of its key ids ({ids})")
    keys = {kid: key for kid, key in keyring.aead_keys.items() if kid != key_id}
    return Keyring(primary_key_id=keyring.primary_key_id, aead_keys=keys, mac_key=keyring.mac_key)


def load_keyring(path: Path) -> Keyring:
    """Reads and validates a keyring file.

    Args:
        path: the keyring file; it must not be readable or writable by other users.

    Returns:
        The keyring.

    Raises:
        KeyringError: the file is missing, unreadable, too open, or not a valid keyring.
    """
    return _decode(path, _read_private_file(path))


def _read_private_file(path: Path) -> bytes:
    try:
        return read_secret_file(
            path,
            "keyring",
            _MAX_FILE_SIZE,
            if_missing=f"create one with 'twofa keys generate {path}'",
        )
    except SecretFileError as error:
        raise KeyringError(str(error)) from None


class _DuplicateKeyError(ValueError):
    pass


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _DuplicateKeyError
    return result


def _decode(path: Path, data: bytes) -> Keyring:
    def invalid(problem: str) -> KeyringError:
        return KeyringError(f"keyring {path} {problem}: {_RESTORE}")

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid("is not UTF-8 text") from None
    try:
        doc = json.loads(text, object_pairs_hook=_reject_duplicates)
    except _DuplicateKeyError:
        raise invalid("has a duplicated JSON field") from None
    except json.JSONDecodeError as exc:
        # Only the position: the message must never echo file contents.
        raise invalid(f"is not valid JSON (line {exc.lineno}, column {exc.colno})") from None
    except (ValueError, RecursionError):
        # Integers too long to convert, or nesting too deep to parse.
        raise invalid("is not valid JSON") from None
    if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
        raise invalid(f'is not a twofa keyring (no "format": "{_FORMAT}")')
    version = doc.get("version")
    if type(version) is int and version > _VERSION:
        raise KeyringError(
            f"keyring {path} has version {version}, newer than this twofa supports "
            f"({_VERSION}): upgrade twofa"
        )
    if version != _VERSION or type(version) is not int:
        raise invalid(f"has no valid version (expected {_VERSION})")
    if doc.keys() - _FIELDS:
        # The allowed names rather than the unknown ones, which could be anything pasted.
        raise invalid(f"has fields other than {', '.join(sorted(_FIELDS))}")
    primary = doc.get("primary_key_id")
    if type(primary) is not int:
        raise invalid("has no integer primary_key_id")
    aead = doc.get("aead_keys")
    if not isinstance(aead, dict) or not aead:
        raise invalid("has no aead_keys object with at least one key")
    keys: dict[int, bytes] = {}
    for key_id_text, encoded in aead.items():
        if not _is_key_id_text(key_id_text):
            raise invalid(f"has an aead_keys id that is not an integer in 1..{MAX_KEY_ID}")
        keys[int(key_id_text)] = _decode_key(encoded, f"aead_keys[{key_id_text}]", invalid)
    mac_key = _decode_key(doc.get("mac_key"), "mac_key", invalid)
    try:
        return Keyring(primary_key_id=primary, aead_keys=keys, mac_key=mac_key)
    except ValueError as exc:
        raise invalid(f"is invalid ({exc})") from None


def _is_key_id_text(text: str) -> bool:
    # Canonical decimal only, so that "1" and "01" cannot name the same key twice.
    return (
        text.isascii()
        and text.isdigit()
        and not text.startswith("0")
        and len(text) <= len(str(MAX_KEY_ID))
    )


def _decode_key(encoded: object, what: str, invalid: Callable[[str], KeyringError]) -> bytes:
    if not isinstance(encoded, str):
        raise invalid(f"has no base64 string for {what}")
    try:
        return base64.b64decode(encoded.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise invalid(f"has invalid base64 in {what}") from None


def _encode(keyring: Keyring) -> bytes:
    doc = {
        "format": _FORMAT,
        "version": _VERSION,
        "primary_key_id": keyring.primary_key_id,
        "aead_keys": {
            str(key_id): base64.b64encode(keyring.aead_keys[key_id]).decode("ascii")
            for key_id in sorted(keyring.aead_keys)
        },
        "mac_key": base64.b64encode(keyring.mac_key).decode("ascii"),
    }
    return (json.dumps(doc, indent=2) + "\n").encode("utf-8")


def write_keyring(path: Path, keyring: Keyring, *, overwrite: bool = False) -> None:
    """Writes a keyring file atomically with mode 0600, creating its directory.

    Args:
        path: where to write the keyring.
        keyring: the keyring to write.
        overwrite: replace an existing file instead of refusing.

    Raises:
        KeyringError: the file exists and `overwrite` is false, or it cannot be written.
    """
    if not overwrite and os.path.lexists(path):
        raise _exists_error(path)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_new_file(tmp, _encode(keyring))
        if overwrite:
            os.replace(tmp, path)
        elif not _link_exclusive(tmp, path):
            raise _exists_error(path)
        _fsync_dir(path.parent)
    except OSError as exc:
        raise KeyringError(
            f"keyring {path} cannot be written ({exc.strerror}): "
            "check that its directory is writable and the disk is not full"
        ) from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def _exists_error(path: Path) -> KeyringError:
    return KeyringError(
        f"keyring {path} already exists and is never replaced silently: "
        "move it away first if it really is no longer needed"
    )


def _write_new_file(path: Path, data: bytes) -> None:
    # O_EXCL with 0600 means the keys never sit, even briefly, in a file others could open.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # the umask could only narrow it; this makes it exact
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def _link_exclusive(tmp: Path, path: Path) -> bool:
    """Publishes `tmp` as `path` unless `path` exists; returns whether it did."""
    # A hard link, unlike os.replace, fails if the target appeared since the caller's check.
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    except OSError:
        # Some filesystems (FAT, some network mounts) have no hard links.
        if os.path.lexists(path):
            return False
        os.replace(tmp, path)
    return True


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
