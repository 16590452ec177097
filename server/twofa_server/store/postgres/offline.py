"""The database seen from an operator command (`twofa status`, `twofa keys drop`)."""

from __future__ import annotations

from ..reseal import Census, take_census
from .schema import check_version, installed_version
from .settings import PostgresSettings
from .store import connect, describe, records_of


def read_census(settings: PostgresSettings, primary: int | None = None) -> Census:
    """Record counts and the keys they need, from one snapshot of the database.

    Raises:
        DatabaseUnreachable, SchemaError: with one line saying what to do.
    """
    with connect(settings) as conn:
        check_version(installed_version(conn), describe(settings.dsn))
        conn.rollback()
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            return take_census(lambda db: records_of(conn, db), primary)
