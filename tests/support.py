"""Test helpers: a fixed clock, an independent TOTP and a raw view of the LMDB files."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from pathlib import Path

import lmdb

from twofa_server.app import Application

START = 1_800_000_000.0  # a fixed "now" well inside the 64-bit step range, step-aligned


class FixedClock:
    """A clock that only moves when a test moves it."""

    def __init__(self, now: float = START) -> None:
        self._now = now

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds


def totp_code(secret_b32: str, unix_seconds: float, offset_steps: int = 0) -> str:
    """RFC 6238 TOTP (SHA-1, 6 digits, 30 s), written independently of the server's."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    counter = int(unix_seconds // 30) + offset_steps
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def wrong_code(secret_b32: str, unix_seconds: float) -> str:
    """A six-digit code that matches none of the steps the server accepts now."""
    valid = {totp_code(secret_b32, unix_seconds, k) for k in (-1, 0, 1)}
    for candidate in range(1_000_000):
        code = f"{(candidate * 7919) % 1_000_000:06d}"
        if code not in valid:
            return code
    raise AssertionError("unreachable")


def dump_store(source: Application | Path) -> dict[str, dict[bytes, bytes]]:
    """Every key and value of every named sub-database.

    Pass the running Application (LMDB refuses a second open of the same
    environment in one process), or the data directory of a stopped one.
    """
    if isinstance(source, Application):
        return source.store.snapshot()
    data_dir = source
    env = lmdb.open(str(data_dir), readonly=True, lock=False, max_dbs=32, subdir=True)
    try:
        with env.begin() as txn:
            names = [bytes(key) for key, _ in txn.cursor()]
        dump: dict[str, dict[bytes, bytes]] = {}
        for name in names:
            db = env.open_db(name, create=False)
            with env.begin(db=db) as txn:
                dump[name.decode()] = {bytes(k): bytes(v) for k, v in txn.cursor()}
        return dump
    finally:
        env.close()


def store_bytes(data_dir: Path) -> bytes:
    """The raw content of the LMDB files (data and lock)."""
    return b"".join(path.read_bytes() for path in sorted(data_dir.glob("*.mdb")))
