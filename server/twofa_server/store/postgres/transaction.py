"""core's Transaction over one PostgreSQL transaction at READ COMMITTED.

Work that names a user begins by locking that user's row (`SELECT … FOR UPDATE`),
reading the tenant's policy in the same statement; core then decides inside the
lock. A user who has no row yet cannot be locked: two first requests for one user
both insert, and the second fails on the primary key; the store then runs the
whole use case again, and this time it finds (and locks) the row. Writes use
plain UPDATE or INSERT, never an upsert that would hide that race.
"""

from __future__ import annotations

import os
from typing import Any

from ...core.models import Mail, Policy, UserRef, UserState
from ...core.ports import Clock
from .. import keys
from ..codec import RecordCodec, decode_policy, encode_policy

_LOCK_USER = """
    SELECT (SELECT record FROM twofa.policies WHERE tenant_id = %(tenant)s),
           (SELECT record FROM twofa.users WHERE record_key = %(key)s FOR UPDATE)
"""
_READ_USER = """
    SELECT (SELECT record FROM twofa.policies WHERE tenant_id = %(tenant)s),
           (SELECT record FROM twofa.users WHERE record_key = %(key)s)
"""
_DELETE_USER = """
    WITH users AS (DELETE FROM twofa.users WHERE record_key = %(key)s RETURNING 1),
         mail AS (DELETE FROM twofa.outbox WHERE user_key = %(key)s RETURNING 1)
    SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM mail)
"""
_LOCK_POLICY = "SELECT record FROM twofa.policies WHERE tenant_id = %s FOR UPDATE"
_READ_POLICY = "SELECT record FROM twofa.policies WHERE tenant_id = %s"
_ABSENT = object()


class LockedHint:
    """Users seen locked out by this instance's writes, and until when; bounded."""

    MAX_USERS = 10_000

    def __init__(self) -> None:
        self._until: dict[bytes, float] = {}

    def get(self, key: bytes) -> float | None:
        return self._until.get(key)

    def saw(self, key: bytes, state: UserState) -> None:
        until = state.attempts.locked_until
        if until:
            if len(self._until) >= self.MAX_USERS:
                self._until.clear()
            self._until[key] = until
        else:
            self._until.pop(key, None)


class PostgresTransaction:
    """One run of a use case's Work on one connection (see the module's docstring).

    Args:
        conn: a connection inside a transaction.
        codec: seals and opens the records' secret fields.
        clock: stamps queued mail.
        hint: told each user's state as it is written (which users are locked out).
    """

    def __init__(
        self, conn: Any, codec: RecordCodec, clock: Clock, hint: LockedHint | None = None
    ) -> None:
        self._conn = conn
        self._codec = codec
        self._clock = clock
        self._hint = hint
        # What this transaction has seen: record key -> stored bytes (or None: no row).
        self._users: dict[bytes, bytes | None] = {}
        self._policies: dict[str, bytes | None] = {}
        self.mail_queued = False

    # --- what the store does before the work runs ---------------------------------------------

    def begin(self, user: UserRef | None, tenant_id: str, lock: bool) -> None:
        """Reads (and with `lock`, locks) the work's user and its tenant's policy at once."""
        if user is not None:
            key = keys.user_key(user)
            statement = _LOCK_USER if lock else _READ_USER
            row = self._conn.execute(statement, {"tenant": tenant_id, "key": key}).fetchone()
            self._policies[tenant_id] = _bytes(row[0])
            self._users[key] = _bytes(row[1])
        elif tenant_id:
            row = self._conn.execute(_LOCK_POLICY if lock else _READ_POLICY, (tenant_id,))
            found = row.fetchone()
            self._policies[tenant_id] = _bytes(found[0]) if found else None

    # --- core's Transaction --------------------------------------------------------------------

    def get_user(self, user: UserRef) -> UserState | None:
        key = keys.user_key(user)
        data = self._users.get(key, _ABSENT)
        if data is _ABSENT:
            found = self._conn.execute(
                "SELECT record FROM twofa.users WHERE record_key = %s", (key,)
            ).fetchone()
            data = self._users[key] = _bytes(found[0]) if found else None
        return None if data is None else self._codec.decode_user(key, data)  # type: ignore[arg-type]

    def put_user(self, user: UserRef, state: UserState) -> None:
        key = keys.user_key(user)
        existed = self._users.get(key) is not None
        if state.is_empty():
            if existed:
                self._conn.execute("DELETE FROM twofa.users WHERE record_key = %s", (key,))
            self._users[key] = None
            return
        record = self._codec.encode_user(key, state)
        if self._hint is not None:
            self._hint.saw(key, state)
        if existed:
            self._conn.execute(
                "UPDATE twofa.users SET record = %s, updated_at = now() WHERE record_key = %s",
                (record, key),
            )
        else:
            self._conn.execute(
                "INSERT INTO twofa.users (record_key, tenant_id, user_id, record) "
                "VALUES (%s, %s, %s, %s)",
                (key, user.tenant_id, user.user_id, record),
            )
        self._users[key] = record

    def delete_user(self, user: UserRef) -> bool:
        key = keys.user_key(user)
        # One statement that answers with its counts: inside a pipeline a cursor's
        # rowcount is not known until its results are fetched.
        row = self._conn.execute(_DELETE_USER, {"key": key}).fetchone()
        self._users[key] = None
        return bool(row[0])

    def get_policy(self, tenant_id: str) -> Policy | None:
        data = self._policies.get(tenant_id, _ABSENT)
        if data is _ABSENT:
            found = self._conn.execute(_READ_POLICY, (tenant_id,)).fetchone()
            data = self._policies[tenant_id] = _bytes(found[0]) if found else None
        return None if data is None else decode_policy(data)  # type: ignore[arg-type]

    def put_policy(self, tenant_id: str, policy: Policy) -> None:
        record = encode_policy(policy)
        if self._policies.get(tenant_id) is not None:
            self._conn.execute(
                "UPDATE twofa.policies SET record = %s, updated_at = now() WHERE tenant_id = %s",
                (record, tenant_id),
            )
        else:
            self._conn.execute(
                "INSERT INTO twofa.policies (tenant_id, record) VALUES (%s, %s)",
                (tenant_id, record),
            )
        self._policies[tenant_id] = record

    def users_after(
        self, after: UserRef | None, limit: int
    ) -> list[tuple[UserRef, UserState | None]]:
        # Rows other transactions hold are skipped: a sweep never waits behind a login.
        start = keys.user_key(after) if after is not None else b""
        rows = self._conn.execute(
            "SELECT record_key, record FROM twofa.users WHERE record_key > %s "
            "ORDER BY record_key LIMIT %s FOR UPDATE SKIP LOCKED",
            (start, limit),
        ).fetchall()
        found: list[tuple[UserRef, UserState | None]] = []
        for raw_key, raw_record in rows:
            key, record = bytes(raw_key), bytes(raw_record)
            self._users[key] = record
            found.append((keys.parse_user_key(key), self._codec.decode_user_or_none(key, record)))
        return found

    def enqueue_mail(self, user: UserRef, mail: Mail) -> None:
        now = self._clock.now()
        mail_id = keys.new_outbox_key(now, os.urandom)
        record = self._codec.encode_mail(mail_id, keys.user_key(user), mail, now)
        self._conn.execute(
            "INSERT INTO twofa.outbox "
            "(id, user_key, record, created_at_ms, next_attempt_at_ms) VALUES (%s, %s, %s, %s, %s)",
            (mail_id, keys.user_key(user), record, round(now * 1000), round(now * 1000)),
        )
        self.mail_queued = True


def _bytes(value: Any) -> bytes | None:
    return None if value is None else bytes(value)
