"""The panel's own users, kept in SQLite: what the application owns before twofa comes in.

Passwords are argon2id hashes (argon2-cffi). Each user owns a workspace, which is the
twofa *tenant*: its 2FA policy is the workspace's policy. The twofa *user id* is the
panel's numeric id, so nothing personal goes to twofa but the address the user types
when setting up email codes.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 256

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    tenant_id     TEXT NOT NULL
)
"""


class EmailTaken(Exception):
    """Sign-up with an address that already has an account."""


@dataclass(frozen=True, slots=True)
class User:
    id: int
    email: str
    tenant_id: str

    @property
    def twofa_user_id(self) -> str:
        """The opaque id twofa knows this user by."""
        return str(self.id)


class Accounts:
    """Users and their password hashes in one SQLite file (a connection per call)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._hasher = PasswordHasher()  # argon2id with the library's (RFC 9106) defaults
        # Checked against when the address is unknown, so that both cases take as long.
        self._dummy_hash = self._hasher.hash(secrets.token_hex(16))
        with self._connect() as db:
            db.execute(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self._path, timeout=10)
        try:
            with db:  # commits, or rolls back on an exception
                yield db
        finally:
            db.close()

    def create(self, email: str, password: str, tenant_id: str | None = None) -> User:
        """A new user in a new workspace (or in `tenant_id`); raises EmailTaken."""
        tenant = tenant_id or f"ws-{secrets.token_hex(8)}"
        try:
            with self._connect() as db:
                cursor = db.execute(
                    "INSERT INTO users (email, password_hash, tenant_id) VALUES (?, ?, ?)",
                    (email, self._hasher.hash(password), tenant),
                )
        except sqlite3.IntegrityError:
            raise EmailTaken(email) from None
        assert cursor.lastrowid is not None
        return User(cursor.lastrowid, email, tenant)

    def get(self, user_id: int) -> User | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT id, email, tenant_id FROM users WHERE id = ?", (user_id,)
            ).fetchone()
        return User(*row) if row else None

    def authenticate(self, email: str, password: str) -> User | None:
        """The user if the password is theirs, else None (unknown address included)."""
        with self._connect() as db:
            row = db.execute(
                "SELECT id, email, tenant_id, password_hash FROM users WHERE email = ?", (email,)
            ).fetchone()
        if row is None:
            self._verify(self._dummy_hash, password)
            return None
        user = User(row[0], row[1], row[2])
        if not self._verify(row[3], password):
            return None
        if self._hasher.check_needs_rehash(row[3]):  # parameters were raised since
            with self._connect() as db:
                db.execute(
                    "UPDATE users SET password_hash = ? WHERE id = ?",
                    (self._hasher.hash(password), user.id),
                )
        return user

    def check_password(self, user: User, password: str) -> bool:
        """Re-authentication before a sensitive change (turning a method off)."""
        return self.authenticate(user.email, password) is not None

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
