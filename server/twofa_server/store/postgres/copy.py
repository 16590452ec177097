"""Moving up: an LMDB store's records copied, as they are, into an empty PostgreSQL store.

Sealed values are bound to their record's key and field, and both stores use the
same keys, so nothing is re-sealed: the same keyring opens the copy. Everything
is copied in one transaction, so a failure leaves the target as empty as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from .. import keys
from ..codec import RecordCodec

Records = Callable[[bytes], Iterator[tuple[bytes, bytes]]]
PROGRESS_EVERY = 10_000


class TargetNotEmpty(Exception):
    """The database already holds twofa records."""


def copy_records(
    conn: Any, records: Records, progress: Callable[[str, int], None]
) -> dict[str, int]:
    """Copies every user, policy, queued message and keyring probe; returns counts by table.

    Args:
        conn: a connection to a database whose twofa schema is current and empty; the
            copy is committed on return.
        records: the LMDB store's records, from one snapshot.
        progress: told (table, rows so far) every PROGRESS_EVERY rows.

    Raises:
        TargetNotEmpty: the database holds users, policies, mail or a keyring probe.
    """
    counts = {"users": 0, "policies": 0, "outbox": 0, "meta": 0}
    with conn.transaction():
        row = conn.execute(
            "SELECT (SELECT count(*) FROM twofa.users) + (SELECT count(*) FROM twofa.policies)"
            " + (SELECT count(*) FROM twofa.outbox)"
            " + (SELECT count(*) FROM twofa.meta WHERE name <> 'schema_version')"
        ).fetchone()
        if row[0]:
            raise TargetNotEmpty(f"the target holds {row[0]} twofa records")
        with conn.cursor().copy(
            "COPY twofa.users (record_key, tenant_id, user_id, record) FROM STDIN"
        ) as copy:
            for key, value in records(keys.USERS):
                user = keys.parse_user_key(key)
                copy.write_row((key, user.tenant_id, user.user_id, value))
                counts["users"] += 1
                if counts["users"] % PROGRESS_EVERY == 0:
                    progress("users", counts["users"])
        for key, value in records(keys.POLICIES):
            tenant = keys.parse_user_key(key).tenant_id  # a tenant key is a user key's prefix
            conn.execute(
                "INSERT INTO twofa.policies (tenant_id, record) VALUES (%s, %s)", (tenant, value)
            )
            counts["policies"] += 1
        for key, value in records(keys.OUTBOX):
            record = RecordCodec.mail_record(value)
            conn.execute(
                "INSERT INTO twofa.outbox (id, user_key, record, created_at_ms, "
                "next_attempt_at_ms) VALUES (%s, %s, %s, %s, %s)",
                (key, record.user_key, value, record.created_at_ms, record.next_attempt_at_ms),
            )
            counts["outbox"] += 1
        for key, value in records(keys.META):
            if key in (keys.META_KEY_CHECK, keys.META_MAC_CHECK):
                conn.execute(
                    "INSERT INTO twofa.meta (name, value) VALUES (%s, %s)", (key.decode(), value)
                )
                counts["meta"] += 1
    return counts
