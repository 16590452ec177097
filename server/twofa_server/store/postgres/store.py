"""The shared store: core's Store on one PostgreSQL database, for every instance of a deployment.

Each use case's Work is one transaction at READ COMMITTED on a pooled connection:
its user's row is locked with the tenant's policy read in the same statement,
core decides, the row is written, and the commit is durable (synchronous_commit)
before the outcome is reported. A serialization failure, a deadlock or a
unique-key conflict runs the whole Work again from the start. A commit whose
outcome is unknown (the connection was lost during COMMIT) is reported as
UNAVAILABLE, never as a guess. Inside an instance, one user's transactions run one
at a time (lanes.py), on a thread pool the size of the connection pool.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
import psycopg_pool
from psycopg import conninfo, errors

from ...clock import SystemClock
from ...core.errors import StoreUnavailable
from ...core.models import QueuedMail
from ...core.ports import Clock
from ...core.work import Done, Finish, Outcome, Work
from ...crypto import Sealer, UnknownKey
from ...crypto.secret_file import read_secret_line
from ...errors import OperatorError
from .. import keys
from ..codec import RecordCodec
from ..reseal import EXAMINED_PER_RESEALED, Batch, Census, reseal_batch, take_census
from .lanes import Lanes
from .schema import SCHEMA, check_version, installed_version, migrate
from .settings import PostgresSettings
from .transaction import LockedHint, PostgresTransaction

T = TypeVar("T")
R = TypeVar("R")
log = logging.getLogger("twofa.store")

# Bounds on every wait (session settings of each pooled connection).
LOCK_TIMEOUT = "5s"
STATEMENT_TIMEOUT = "10s"
IDLE_IN_TRANSACTION_TIMEOUT = "60s"
CONNECT_TIMEOUT_SECONDS = 5
POOL_WAIT_SECONDS = 5.0  # for a free connection; then UNAVAILABLE
# Connections beyond pool_size, for background jobs (outbox, sweeper, re-seal).
BACKGROUND_CONNECTIONS = 2
RUNS_PER_WORK = 8  # runs of one Work after conflicts before it is refused
OUTBOX_CLAIM = 10  # messages a sender claims at once
OUTBOX_LEASE_MS = 120_000  # how long a claim lasts if its sender dies
_CONFLICTS = (errors.SerializationFailure, errors.DeadlockDetected, errors.UniqueViolation)
_BUSY = (errors.LockNotAvailable, errors.QueryCanceled)


class DatabaseUnreachable(OperatorError):
    """twofa cannot start on the database; the message says why and what to do."""


def describe(dsn: str) -> str:
    """The database as an operator knows it, without any secret: "database twofa on db:5432"."""
    try:
        parts = conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "the database of postgres.dsn"
    host = parts.get("host") or "localhost"
    port = parts.get("port") or "5432"
    return f"database {parts.get('dbname') or parts.get('user') or '?'} on {host}:{port}"


def connection_args(settings: PostgresSettings) -> dict[str, Any]:
    """What every connection of an instance is opened with, the password included."""
    args: dict[str, Any] = {
        "application_name": "twofa",
        "connect_timeout": CONNECT_TIMEOUT_SECONDS,
    }
    if settings.password_file is not None:
        args["password"] = read_secret_line(settings.password_file, "postgres.password_file")
    return args


def connect(settings: PostgresSettings) -> psycopg.Connection[Any]:
    """A connection to the configured database (for tools).

    Raises:
        DatabaseUnreachable: with libpq's reason, in one line, never the password.
    """
    return _connect(settings.dsn, connection_args(settings), describe(settings.dsn))


def _connect(dsn: str, args: dict[str, Any], where: str) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(dsn, **args)
    except psycopg.Error as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise DatabaseUnreachable(
            f"cannot connect to {where}: {reason} (check postgres.dsn, "
            "postgres.password_file, and that the database accepts this host)"
        ) from None


class PostgresStore:
    """The PostgreSQL store (see the module's docstring). Call `open()` before use.

    Args:
        settings: the DSN, the password file and the pool size.
        sealer: seals and opens the secret fields of records.
        clock: stamps queued mail and decides what mail is due.
    """

    def __init__(
        self, settings: PostgresSettings, sealer: Sealer, clock: Clock | None = None
    ) -> None:
        self.where = describe(settings.dsn)
        self.codec = RecordCodec(sealer)
        self.clock = clock or SystemClock()
        self._dsn = settings.dsn
        self._connect_args = connection_args(settings)
        self._pool = psycopg_pool.ConnectionPool(
            settings.dsn,
            kwargs=self._connect_args,
            min_size=1,
            max_size=settings.pool_size + BACKGROUND_CONNECTIONS,
            timeout=POOL_WAIT_SECONDS,
            configure=_configure,
            open=False,
            name="twofa",
        )
        self._executor = ThreadPoolExecutor(settings.pool_size, thread_name_prefix="twofa-db")
        self._lanes = Lanes(self._executor)
        self._mail_listeners: list[Callable[[], None]] = []
        # Users this instance last saw locked out, and until when (see _worth_reading_first).
        self._locked_hint = LockedHint()
        self._probe: psycopg.Connection[Any] | None = None
        self._probe_lock = threading.Lock()

    # --- opening -------------------------------------------------------------------------------

    def connect(self) -> psycopg.Connection[Any]:
        """A connection of its own (not pooled), for tools and fleet-job locks.

        Raises:
            DatabaseUnreachable: with libpq's reason, in one line, never the password.
        """
        return _connect(self._dsn, self._connect_args, self.where)

    def open(self) -> None:
        """Checks the schema (applying newer migrations), then opens the pool.

        Raises:
            DatabaseUnreachable: the database cannot be reached or refuses the login.
            SchemaError: no twofa schema (run `twofa store init`), or a newer one.
        """
        with self.connect() as conn:
            conn.autocommit = True
            check_version(installed_version(conn), self.where)
            conn.autocommit = False
            before, now = migrate(conn, self.where, create=False)
        if before != now:
            log.info("migrated the twofa schema of %s from %s to %s", self.where, before, now)
        self._pool.open(wait=True, timeout=POOL_WAIT_SECONDS * 2)

    def initialize(self) -> tuple[int | None, int]:
        """Creates the schema, or brings it up to date (`twofa store init`)."""
        with self.connect() as conn:
            return migrate(conn, self.where, create=True)

    def close(self) -> None:
        self._executor.shutdown(wait=True)  # transactions in flight finish first
        self._pool.close()
        with self._probe_lock:
            if self._probe is not None:
                self._probe.close()

    # --- core's Store --------------------------------------------------------------------------

    def submit(self, work: Work[Any], finish: Finish) -> None:
        lane = keys.user_key(work.user) if work.user is not None else work.tenant or None
        self._lanes.run(lane, lambda: finish(self._outcome(work)))

    def run(self, work: Work[T]) -> Done[T]:
        return self._transact(work)

    @contextmanager
    def lead(self, job: str) -> Iterator[bool]:
        # A session-level advisory lock on a connection of its own, held for the whole job.
        try:
            conn = self.connect()
        except DatabaseUnreachable:
            yield False
            return
        with conn:
            conn.autocommit = True
            row = conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (f"twofa:{job}",))
            leading = bool(row.fetchone()[0])  # type: ignore[index]
            yield leading  # the lock ends with the session

    def _outcome(self, work: Work[Any]) -> Outcome[Any]:
        try:
            return Outcome(done=self._transact(work))
        except BaseException as error:
            return Outcome(error=error)

    def _transact(self, work: Work[T]) -> Done[T]:
        for run in range(1, RUNS_PER_WORK + 1):
            try:
                with self._failures(), self._pool.connection() as conn:
                    done, mail_queued = self._run_once(conn, work)
            except _CONFLICTS as conflict:
                if run == RUNS_PER_WORK:
                    log.error("gave up after %d conflicting runs: %s", run, conflict.sqlstate)
                    raise StoreUnavailable("too many conflicts", "CONFLICT") from None
                continue
            if mail_queued:
                for listener in self._mail_listeners:
                    listener()
            return done
        raise AssertionError("unreachable")

    def _run_once(self, conn: Any, work: Work[T]) -> tuple[Done[T], bool]:
        """One run of `work`: reads in one statement each, writes in one transaction of
        two round trips (BEGIN and the locking SELECT; the writes and COMMIT)."""
        if work.answer_from_read is not None and self._worth_reading_first(work):
            early = self._read_only(conn, work, work.answer_from_read)
            if early is not None:
                return early, False
        if not work.writes:
            return self._read_only(conn, work, work.run), False
        tx = PostgresTransaction(conn, self.codec, self.clock, self._locked_hint)
        try:
            with conn.pipeline():
                tx.begin(work.user, work.tenant, lock=True)
                done = work.run(tx)
                try:
                    conn.commit()
                except psycopg.OperationalError:
                    # The connection went during COMMIT: it may or may not have committed.
                    raise StoreUnavailable(
                        "the database connection was lost during a commit",
                        "COMMIT_OUTCOME_UNKNOWN",
                    ) from None
        except BaseException:
            _rollback_quietly(conn)
            raise
        return done, tx.mail_queued

    def _worth_reading_first(self, work: Work[Any]) -> bool:
        """Whether to try a use case's read first: only for a user this instance last saw
        locked out. A read before every write would cost every VerifyCode a round trip
        to spare a hammered user's writes; this way only the hammering pays it. The hint
        may be stale either way, and either way the answer is right: the read is real."""
        if work.user is None:
            return False
        until = self._locked_hint.get(keys.user_key(work.user))
        return until is not None and until > self.clock.now()

    def _read_only(self, conn: Any, work: Work[T], read: Callable[[PostgresTransaction], R]) -> R:
        """Runs `read` without a lock or a transaction: each statement reads on its own
        (the user and the policy come in one statement)."""
        conn.autocommit = True
        try:
            tx = PostgresTransaction(conn, self.codec, self.clock)
            tx.begin(work.user, work.tenant, lock=False)
            return read(tx)
        finally:
            with contextlib.suppress(psycopg.Error):
                conn.autocommit = False

    @contextmanager
    def _failures(self) -> Iterator[None]:
        """Turns the database's failures into core's StoreUnavailable (conflicts pass through)."""
        try:
            yield
        except _CONFLICTS:
            raise
        except _BUSY as error:
            raise StoreUnavailable(f"a wait ran out ({error.sqlstate})", "DATABASE_BUSY") from None
        except UnknownKey as error:
            raise StoreUnavailable(
                f"a record is sealed under key {error.key_id}, which this instance's keyring "
                "does not hold yet",
                "KEY_NOT_LOADED",
                retry_after=5.0,
            ) from None
        except (psycopg.OperationalError, psycopg.InterfaceError, psycopg_pool.PoolTimeout):
            raise StoreUnavailable(
                f"{self.where} cannot be reached", "DATABASE_UNREACHABLE"
            ) from None
        except psycopg.Error as error:
            log.error("database error: %s (%s)", type(error).__name__, error.sqlstate)
            raise StoreUnavailable("the database refused a statement") from None

    def reachable(self) -> bool:
        """Whether the database answers now, on a connection of its own (for readiness)."""
        with self._probe_lock:
            try:
                if self._probe is None or self._probe.closed:
                    self._probe = psycopg.connect(
                        self._dsn, **{**self._connect_args, "connect_timeout": 2}
                    )
                    self._probe.autocommit = True
                self._probe.execute("SELECT 1")
                return True
            except psycopg.Error:
                if self._probe is not None:
                    self._probe.close()
                self._probe = None
                return False

    # --- plain statements on a pooled connection -------------------------------------------------

    def _execute(self, statement: str, params: Any = (), *, fetch: bool = True) -> list[Any]:
        with self._failures(), self._pool.connection() as conn:
            cursor = conn.execute(statement, params)
            rows = cursor.fetchall() if fetch and cursor.description else []
            conn.commit()
            return rows

    # --- the outbox, for the delivery worker (core.ports.Outbox) -------------------------------

    def claim_due(self, now: float, limit: int) -> list[QueuedMail]:
        now_ms = round(now * 1000)
        rows = self._execute(
            "UPDATE twofa.outbox SET claimed_until_ms = %(until)s WHERE id IN ("
            "SELECT id FROM twofa.outbox WHERE next_attempt_at_ms <= %(now)s "
            "AND claimed_until_ms <= %(now)s ORDER BY created_at_ms LIMIT %(limit)s "
            "FOR UPDATE SKIP LOCKED) RETURNING id, record",
            {"now": now_ms, "until": now_ms + OUTBOX_LEASE_MS, "limit": min(limit, OUTBOX_CLAIM)},
        )
        with self._failures():
            claimed = [
                self.codec.decode_mail(bytes(mail_id), self.codec.mail_record(bytes(record)))
                for mail_id, record in rows
            ]
        return sorted(claimed, key=lambda queued: queued.created_at)

    def next_attempt_at(self) -> float | None:
        rows = self._execute(
            "SELECT min(greatest(next_attempt_at_ms, claimed_until_ms)) FROM twofa.outbox"
        )
        return None if not rows or rows[0][0] is None else rows[0][0] / 1000

    def reschedule(self, mail_id: bytes, attempts: int, next_attempt_at: float) -> None:
        with self._failures(), self._pool.connection() as conn:
            row = conn.execute(
                "SELECT record FROM twofa.outbox WHERE id = %s FOR UPDATE", (mail_id,)
            ).fetchone()
            if row is not None:  # else removed meanwhile, e.g. by DeleteUser
                record = self.codec.mail_record(bytes(row[0]))
                record.attempts = attempts
                record.next_attempt_at_ms = round(next_attempt_at * 1000)
                conn.execute(
                    "UPDATE twofa.outbox SET record = %s, next_attempt_at_ms = %s, "
                    "claimed_until_ms = 0 WHERE id = %s",
                    (record.SerializeToString(), record.next_attempt_at_ms, mail_id),
                )
            conn.commit()

    def remove(self, mail_id: bytes) -> None:
        self._execute("DELETE FROM twofa.outbox WHERE id = %s", (mail_id,), fetch=False)

    def on_mail_queued(self, wake: Callable[[], None]) -> None:
        self._mail_listeners.append(wake)

    def outbox_summary(self) -> tuple[int, float | None]:
        """(queued messages, when the oldest was queued) — for metrics and status."""
        rows = self._execute("SELECT count(*), min(created_at_ms) FROM twofa.outbox")
        count, oldest = rows[0]
        return int(count), (None if oldest is None else oldest / 1000)

    def map_usage(self) -> tuple[int, int] | None:
        return None  # a database grows as its operator lets it

    # --- sealed records: the keyring check and re-sealing (store/reseal.py) ------------------

    def read_key_check(self) -> tuple[bytes, bytes] | None:
        rows = self._execute(
            "SELECT name, value FROM twofa.meta WHERE name IN (%s, %s)",
            (keys.META_KEY_CHECK.decode(), keys.META_MAC_CHECK.decode()),
        )
        found = {name.encode(): bytes(value) for name, value in rows}
        sealed, mac = found.get(keys.META_KEY_CHECK), found.get(keys.META_MAC_CHECK)
        return None if sealed is None or mac is None else (sealed, mac)

    def write_key_check(self, sealed: bytes, mac: bytes) -> None:
        self._execute(
            "INSERT INTO twofa.meta (name, value) VALUES (%s, %s), (%s, %s) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (keys.META_KEY_CHECK.decode(), sealed, keys.META_MAC_CHECK.decode(), mac),
            fetch=False,
        )

    def census(self, primary: int | None = None) -> Census:
        with self._failures(), self._pool.connection() as conn:
            return census_of(conn, primary)

    def reseal_batch(self, sealer: Sealer, db: bytes, after: bytes, limit: int) -> Batch:
        with self._failures(), self._pool.connection() as conn, conn.transaction():
            records = records_of(conn, db, after, EXAMINED_PER_RESEALED * limit, lock=True)
            return reseal_batch(
                records, lambda db, key, value: _put(conn, db, key, value), sealer, db, limit
            )

    def replace_sealer(self, sealer: Sealer, check: Callable[[Census], None]) -> None:
        # Instances share the database but not their keyrings: records written by others
        # meanwhile under an older key are re-sealed by the pass that follows.
        check(self.census())
        self.codec = RecordCodec(sealer)


_TABLES = {
    keys.USERS: ("users", "record_key", "record"),
    keys.POLICIES: ("policies", "tenant_id", "record"),
    keys.OUTBOX: ("outbox", "id", "record"),
    keys.META: ("meta", "name", "value"),
}


def records_of(
    conn: Any, db: bytes, after: bytes = b"", limit: int | None = None, lock: bool = False
) -> Iterator[tuple[bytes, bytes]]:
    """A table's (key, value) pairs in key order, as the LMDB store's sub-databases give them."""
    table, key_column, value_column = _TABLES[db]
    text_key = key_column in ("tenant_id", "name")
    # Table and column names come from _TABLES, never from input.
    statement = f"SELECT {key_column}, {value_column} FROM {SCHEMA}.{table}"  # noqa: S608
    params: list[Any] = []
    if after:
        statement += f" WHERE {key_column} > %s"
        params.append(after.decode() if text_key else after)
    statement += f" ORDER BY {key_column}"
    if limit is not None:
        statement += " LIMIT %s"
        params.append(limit)
    if lock:
        statement += " FOR UPDATE SKIP LOCKED"
    with conn.cursor() as cursor:
        for key, value in cursor.execute(statement, params):
            yield (key.encode() if text_key else bytes(key)), bytes(value)


def census_of(conn: Any, primary: int | None = None) -> Census:
    """Record counts and the keys they need, from one snapshot of the database."""
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        return take_census(lambda db: records_of(conn, db), primary)


def _put(conn: Any, db: bytes, key: bytes, value: bytes) -> None:
    table, key_column, value_column = _TABLES[db]
    stored_key: Any = key.decode() if key_column in ("tenant_id", "name") else key
    conn.execute(
        f"UPDATE {SCHEMA}.{table} SET {value_column} = %s WHERE {key_column} = %s",  # noqa: S608
        (value, stored_key),
    )


def _configure(conn: psycopg.Connection[Any]) -> None:
    """Every pooled connection bounds its waits."""
    conn.execute(
        f"SET lock_timeout = '{LOCK_TIMEOUT}'; SET statement_timeout = '{STATEMENT_TIMEOUT}'; "
        f"SET idle_in_transaction_session_timeout = '{IDLE_IN_TRANSACTION_TIMEOUT}'"
    )
    conn.commit()


def _rollback_quietly(conn: Any) -> None:
    with contextlib.suppress(psycopg.Error):
        conn.rollback()
