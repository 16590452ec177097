"""The database seen from an operator command (`twofa status`, `twofa keys drop`)."""

from __future__ import annotations

from ..reseal import Census
from .schema import check_version, installed_version
from .settings import PostgresSettings
from .store import census_of, connect, describe


def read_census(settings: PostgresSettings, primary: int | None = None) -> Census:
    """Record counts and the keys they need, from one snapshot of the database.

    Raises:
        DatabaseUnreachable, SchemaError: with one line saying what to do.
    """
    with connect(settings) as conn:
        check_version(installed_version(conn), describe(settings.dsn))
        conn.rollback()
        return census_of(conn, primary)
