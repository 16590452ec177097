"""The PostgreSQL store's settings (postgres.* in the configuration)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

POOL_SIZE = (1, 200)


@dataclass(frozen=True)
class PostgresSettings:
    """Where the shared database is and how many connections an instance keeps.

    Attributes:
        dsn: a libpq connection string or URI (TLS through `sslmode`), without a password.
        password_file: the password, read like every other secret file.
        pool_size: connections this instance keeps open; also how many transactions
            it runs at once.
    """

    dsn: str = ""
    password_file: Path | None = None
    pool_size: int = 10
