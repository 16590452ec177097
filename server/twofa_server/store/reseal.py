"""Which keyring keys the store's records need, and re-sealing them under the primary key.

After `twofa keys rotate` every sealed value (TOTP secrets, email addresses, queued mail,
the keyring probe) is still under the old key. The running server re-seals them in small
write transactions (see jobs/rotation.py). Only the sealed fields of a record are
rewritten, each with the associated data it was sealed with; every other field keeps its
value, so an outbox message keeps its attempts and schedule.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from google.protobuf.message import DecodeError, Message

from ..crypto import Sealer, SealError
from . import keys
from . import records_pb2 as pb
from .codec import SCHEMA

# The sub-databases holding sealed values, in the order they are re-sealed.
SEALED_DATABASES = (keys.USERS, keys.OUTBOX, keys.META)
# Sub-databases whose records `twofa status` counts.
COUNTED_DATABASES = (keys.USERS, keys.POLICIES, keys.OUTBOX)

# A re-seal transaction examines at most this many records per one it may rewrite.
EXAMINED_PER_RESEALED = 20

# Reads the (key, value) pairs of a sub-database, in key order, from one snapshot.
Records = Callable[[bytes], Iterable[tuple[bytes, bytes]]]


class UnreadableRecord(Exception):
    """A record cannot be parsed or one of its sealed values has no valid header."""


@dataclass(frozen=True)
class SealedField:
    """One sealed field of a stored record.

    Attributes:
        message: the sub-message holding it, or "" for the record itself.
        name: the protobuf field name.
        context: the field name bound into the associated data (see codec.py).
    """

    message: str
    name: str
    context: str


USER_FIELDS = (
    SealedField("authenticator", "sealed_secret", "totp_secret"),
    SealedField("authenticator", "sealed_pending_secret", "totp_pending_secret"),
    SealedField("email", "sealed_address", "email_address"),
    SealedField("email", "sealed_pending_address", "email_pending_address"),
)
OUTBOX_FIELDS = (
    SealedField("", "sealed_recipient", "mail_recipient"),
    SealedField("", "sealed_codes", "mail_codes"),
)


def _parse(db: bytes, data: bytes) -> tuple[Message, tuple[SealedField, ...]]:
    record: pb.UserRecord | pb.OutboxRecord
    fields: tuple[SealedField, ...]
    try:
        if db == keys.USERS:
            record, fields = pb.UserRecord.FromString(data), USER_FIELDS
        else:
            record, fields = pb.OutboxRecord.FromString(data), OUTBOX_FIELDS
    except DecodeError:
        raise UnreadableRecord from None
    if record.schema > SCHEMA:
        raise UnreadableRecord  # written by a newer twofa: leave it alone
    return record, fields


def _holder(record: Message, sealed: SealedField) -> Message:
    return getattr(record, sealed.message) if sealed.message else record


def _key_id(blob: bytes) -> int:
    try:
        return Sealer.key_id_of(blob)
    except SealError:
        raise UnreadableRecord from None


def key_ids(db: bytes, key: bytes, data: bytes) -> frozenset[int]:
    """The ids of the keys that sealed a record's values (empty: it holds none).

    Raises:
        UnreadableRecord: the record cannot be parsed, or a sealed value is malformed.
    """
    if db == keys.META:
        return frozenset((_key_id(data),)) if key == keys.META_KEY_CHECK else frozenset()
    record, fields = _parse(db, data)
    blobs = (getattr(_holder(record, sealed), sealed.name) for sealed in fields)
    return frozenset(_key_id(blob) for blob in blobs if blob)


def reseal(db: bytes, key: bytes, data: bytes, sealer: Sealer) -> bytes | None:
    """The record with every sealed value under the sealer's primary key.

    Returns:
        The new record, or None if every value already is under the primary key.

    Raises:
        UnreadableRecord: the record cannot be parsed, or a sealed value is malformed.
        SealError: a sealed value does not open with the sealer's keyring.
    """
    primary = sealer.primary_key_id
    if db == keys.META:
        if key != keys.META_KEY_CHECK or _key_id(data) == primary:
            return None
        return sealer.reseal(data, keys.KEY_CHECK_CONTEXT)
    record, fields = _parse(db, data)
    changed = False
    for sealed in fields:
        holder = _holder(record, sealed)
        blob: bytes = getattr(holder, sealed.name)
        if blob and _key_id(blob) != primary:
            context = keys.sealed_field_context(key, sealed.context)
            setattr(holder, sealed.name, sealer.reseal(blob, context))
            changed = True
    return record.SerializeToString() if changed else None


@dataclass
class Census:
    """Record counts and which keys the records need, from one read snapshot.

    Attributes:
        records: entries per counted sub-database name (users, policies, outbox).
        sealed_by_key: sub-database name -> key id -> records with a value sealed under it.
        stale: records with a value not sealed under `primary` (0 without a primary).
        unreadable: records that could not be parsed (they need no key that can be told).
    """

    primary: int | None
    records: dict[str, int] = field(default_factory=dict)
    sealed_by_key: dict[str, dict[int, int]] = field(default_factory=dict)
    stale: int = 0
    unreadable: int = 0

    def under(self, key_id: int) -> int:
        """How many records still need key `key_id`."""
        return sum(by_key.get(key_id, 0) for by_key in self.sealed_by_key.values())

    def needed_keys(self) -> set[int]:
        return {key_id for by_key in self.sealed_by_key.values() for key_id in by_key}


def take_census(records: Records, primary: int | None = None) -> Census:
    """Counts the records and the keys they were sealed with; see Census."""
    census = Census(primary)
    for db in COUNTED_DATABASES:
        if db not in SEALED_DATABASES:
            census.records[db.decode()] = sum(1 for _ in records(db))
    for db in SEALED_DATABASES:
        per_key: Counter[int] = Counter()
        count = 0
        for key, data in records(db):
            count += 1
            try:
                ids = key_ids(db, bytes(key), bytes(data))
            except UnreadableRecord:
                census.unreadable += 1
                continue
            per_key.update(ids)
            if primary is not None and ids - {primary}:
                census.stale += 1
        if db in COUNTED_DATABASES:
            census.records[db.decode()] = count
        census.sealed_by_key[db.decode()] = dict(sorted(per_key.items()))
    census.records = {db.decode(): census.records[db.decode()] for db in COUNTED_DATABASES}
    return census


@dataclass
class Batch:
    """What one re-seal transaction did.

    Attributes:
        last_key: the last key examined, to continue after; None once the sub-database is done.
        resealed: records rewritten under the primary key.
        failed: records that could not be re-sealed (unreadable, or not opening).
    """

    last_key: bytes | None
    resealed: int = 0
    failed: int = 0


def reseal_batch(
    records: Iterable[tuple[bytes, bytes]],
    put: Callable[[bytes, bytes, bytes], None],
    sealer: Sealer,
    db: bytes,
    limit: int,
) -> Batch:
    """Re-seals up to `limit` of `records` (the next ones of `db`, in key order).

    At most EXAMINED_PER_RESEALED x `limit` records are examined, so a transaction stays
    short even when most records are already under the primary key.

    Args:
        records: (key, value) pairs of `db` in key order, from where the pass got to.
        put: stores a rewritten record: put(db, key, value).
    """
    batch = Batch(last_key=None)
    updates: list[tuple[bytes, bytes]] = []
    for examined, (key, data) in enumerate(records, start=1):
        try:
            new = reseal(db, key, data, sealer)
        except (UnreadableRecord, SealError):
            batch.failed += 1
            new = None
        if new is not None:
            updates.append((key, new))
        if len(updates) == limit or examined == EXAMINED_PER_RESEALED * limit:
            batch.last_key = key
            break
    for key, new in updates:
        put(db, key, new)
    batch.resealed = len(updates)
    return batch
