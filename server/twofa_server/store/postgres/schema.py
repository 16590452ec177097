"""The database schema, its version, and the migrations that bring a database up to it.

Everything lives in the schema `twofa`. Users keep the same sealed record as in
LMDB (its associated data is the record key, so a record means the same in both
stores), with plain columns beside it where a query needs them. Migrations are
numbered SQL, applied in order in one transaction under an advisory lock, so
instances starting together apply each once; `twofa store init` creates the
schema, and an instance applies newer migrations at start. An instance refuses a
database whose schema is newer than it knows.
"""

from __future__ import annotations

from typing import Any

from ...errors import OperatorError
from ..keycheck import not_initialized

SCHEMA = "twofa"
# Each entry takes the schema from version (index) to version (index + 1).
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE SCHEMA IF NOT EXISTS twofa;
    CREATE TABLE twofa.meta (
        name text PRIMARY KEY,
        value bytea NOT NULL
    );
    -- One row per (tenant, user): the sealed record both stores share.
    CREATE TABLE twofa.users (
        record_key bytea PRIMARY KEY,        -- store/keys.py user_key: sealed fields' AD
        tenant_id text NOT NULL,
        user_id text NOT NULL,
        record bytea NOT NULL,               -- records.proto UserRecord
        updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX users_by_id ON twofa.users (tenant_id, user_id);
    CREATE TABLE twofa.policies (
        tenant_id text PRIMARY KEY,
        record bytea NOT NULL,               -- records.proto PolicyRecord
        updated_at timestamptz NOT NULL DEFAULT now()
    );
    -- Mail waiting for delivery; ids are random, so instances never collide.
    CREATE TABLE twofa.outbox (
        id bytea PRIMARY KEY,
        user_key bytea NOT NULL,
        record bytea NOT NULL,               -- records.proto OutboxRecord
        created_at_ms bigint NOT NULL,
        next_attempt_at_ms bigint NOT NULL,
        claimed_until_ms bigint NOT NULL DEFAULT 0  -- a sender's lease
    );
    CREATE INDEX outbox_due ON twofa.outbox (next_attempt_at_ms);
    CREATE INDEX outbox_by_user ON twofa.outbox (user_key);
    """,
)
VERSION = len(MIGRATIONS)
_VERSION_ROW = "schema_version"
_MIGRATION_LOCK = "twofa:migrate"


class SchemaError(OperatorError):
    """The database holds no twofa schema, or one this version cannot use."""


def installed_version(conn: Any) -> int | None:
    """The schema version of the database; None when it holds no twofa schema."""
    row = conn.execute("SELECT to_regclass(%s)", ("twofa.meta",)).fetchone()
    if row is None or row[0] is None:
        return None
    found = conn.execute("SELECT value FROM twofa.meta WHERE name = %s", (_VERSION_ROW,)).fetchone()
    return int(bytes(found[0]).decode()) if found else 0


def migrate(conn: Any, where: str, *, create: bool) -> tuple[int | None, int]:
    """Brings the schema up to VERSION in one transaction, under an advisory lock.

    Args:
        conn: a connection outside any transaction.
        where: the database as an operator knows it, for messages.
        create: whether a database without any twofa schema gets one (`twofa store
            init`); serving never creates it, so a lost database does not turn 2FA off.

    Returns:
        The version found (None: none) and the version now.

    Raises:
        SchemaError: no schema and `create` is off, or a schema newer than VERSION.
    """
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (_MIGRATION_LOCK,))
        found = installed_version(conn)
        check_version(found, where, create=create)
        for version in range(found or 0, VERSION):
            conn.execute(MIGRATIONS[version])
            conn.execute(
                "INSERT INTO twofa.meta (name, value) VALUES (%s, %s) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (_VERSION_ROW, str(version + 1).encode()),
            )
    return found, VERSION


def check_version(found: int | None, where: str, *, create: bool = False) -> None:
    """Refuses a missing schema (unless creating it) and a newer one, with one line each."""
    if found is None and not create:
        raise SchemaError(not_initialized(where))
    if found is not None and found > VERSION:
        raise SchemaError(
            f"{where} has twofa schema version {found}, newer than this twofa knows "
            f"({VERSION}): run the newer twofa version"
        )
