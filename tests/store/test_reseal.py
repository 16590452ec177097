"""Re-sealing the store under a new primary key, driven step by step in this process.

The records' sealed fields, then the keyring watcher re-sealing a store opened here;
the operator's path (`twofa keys rotate|drop`, `twofa status`) is in e2e/test_operations.py.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import pytest

from twofa_server.core.models import Attempts, Mail, MailKind, UserRef
from twofa_server.crypto import (
    KeyedHasher,
    Keyring,
    Sealer,
    generate_keyring,
    load_keyring,
    with_new_primary_key,
    without_key,
)
from twofa_server.store import keys
from twofa_server.store import records_pb2 as pb
from twofa_server.store.codec import RecordCodec
from twofa_server.store.keycheck import check_keyring
from twofa_server.store.reseal import OUTBOX_FIELDS, USER_FIELDS, reseal

from ..support.sealed_store import (
    USERS,
    WHERE,
    Prepared,
    T,
    census,
    full_user,
    read_users,
    rewrite,
    watcher_for,
)

# =========================================================================== the records


def _sealed_fields(descriptor: Any, prefix: str = "") -> set[tuple[str, str]]:
    found = set()
    for field in descriptor.fields:
        if field.message_type is not None and not prefix:
            found |= _sealed_fields(field.message_type, field.name)
        elif field.name.startswith("sealed_"):
            found.add((prefix, field.name))
    return found


def test_the_reseal_tables_name_every_sealed_field_of_the_records() -> None:
    # A sealed field added to records.proto must be added to store/reseal.py too.
    assert {(f.message, f.name) for f in USER_FIELDS} == _sealed_fields(pb.UserRecord.DESCRIPTOR)
    assert {(f.message, f.name) for f in OUTBOX_FIELDS} == _sealed_fields(
        pb.OutboxRecord.DESCRIPTOR
    )


def test_reseal_moves_every_sealed_value_under_the_new_key_and_keeps_everything_else() -> None:
    old = generate_keyring()
    rotated = with_new_primary_key(old)
    only_new = without_key(rotated, old.primary_key_id)
    key = keys.user_key(UserRef(T, "alice"))
    user = full_user()
    data = RecordCodec(Sealer(old)).encode_user(key, user)

    new = reseal(keys.USERS, key, data, Sealer(rotated))

    assert new is not None
    assert RecordCodec(Sealer(only_new)).decode_user(key, new) == user
    assert reseal(keys.USERS, key, new, Sealer(rotated)) is None  # nothing left to do
    mail_key = keys.new_outbox_key(1_700_000_000.0, lambda n: bytes(range(n)))
    mail = Mail(MailKind.LOGIN_CODE, "old@example.org", ("123456",), 1_700_000_999.0)
    record = pb.OutboxRecord.FromString(
        RecordCodec(Sealer(old)).encode_mail(mail_key, key, mail, 1_700_000_000.0)
    )
    record.attempts, record.next_attempt_at_ms = 3, 1_700_000_123_000  # a retried message
    new_mail = reseal(keys.OUTBOX, mail_key, record.SerializeToString(), Sealer(rotated))
    assert new_mail is not None
    queued = RecordCodec(Sealer(only_new)).decode_mail(mail_key, RecordCodec.mail_record(new_mail))
    assert queued.mail == replace(mail, message_id=record.message_id)  # kept, as queued
    assert (queued.attempts, queued.next_attempt_at) == (3, 1_700_000_123.0)


# =========================================================================== in-process re-seal


def test_rotation_reseals_every_record_in_small_batches(prepared: Prepared) -> None:
    watcher = watcher_for(prepared, batch=2)
    before = census(prepared, 2)  # as if key 2 were primary
    # Users, the two queued mails and the keyring probe.
    assert (before.stale, before.records) == (USERS + 3, {"policies": 1, "users": 7, "outbox": 2})
    rotated = with_new_primary_key(prepared.keyring)
    rewrite(prepared.path, rotated)

    assert watcher.poll()  # installs the new keyring and begins a pass
    assert watcher.progress.remaining == USERS + 3
    steps = 0
    while watcher.step():
        steps += 1
        assert read_users(prepared) == prepared.users  # readable throughout

    after = census(prepared, 2)
    assert after.stale == 0
    assert after.sealed_by_key == {"users": {2: USERS}, "outbox": {2: 2}, "meta": {2: 1}}
    assert steps >= USERS // 2  # two records per transaction
    assert (watcher.progress.remaining, watcher.progress.resealed_total) == (0, USERS + 3)
    mails = prepared.store.claim_due(10**12, 10)
    assert sorted(m.mail.recipient for m in mails) == ["a@example.org", "b@example.org"]

    # The old key can go: the store opens without it, and keeps the same keyed hashes.
    rewrite(prepared.path, without_key(rotated, 1))
    assert watcher.poll()
    only_new = Sealer(load_keyring(prepared.path))
    check_keyring(prepared.store, only_new, KeyedHasher(rotated.mac_key), prepared.path, WHERE)
    assert read_users(prepared) == prepared.users


def test_writes_during_the_reseal_use_the_new_key(prepared: Prepared) -> None:
    watcher = watcher_for(prepared, batch=1)
    rewrite(prepared.path, with_new_primary_key(prepared.keyring))
    assert watcher.poll()
    watcher.step()
    changed = replace(full_user(), attempts=Attempts(4, 1.0, 0.0))
    prepared.store.write(lambda tx: tx.put_user(UserRef(T, "u6"), changed))  # a login meanwhile
    while watcher.step():
        pass
    assert census(prepared, 2).stale == 0
    assert read_users(prepared)[UserRef(T, "u6")] == changed


def _error_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_keyring_lacking_a_key_that_records_need_is_not_loaded(
    prepared: Prepared, caplog: pytest.LogCaptureFixture
) -> None:
    watcher = watcher_for(prepared, batch=2)
    rotated = with_new_primary_key(prepared.keyring)
    rewrite(prepared.path, rotated)
    assert watcher.poll()
    assert watcher.step()  # the re-seal is under way, far from done

    # The operator drops key 1 too early (by hand, without 'twofa keys drop').
    rewrite(prepared.path, without_key(rotated, 1))
    assert not watcher.poll()
    [line] = _error_lines(caplog)
    assert "not reloaded" in line and "lacks key 1" in line and "still using" in line
    assert watcher.primary_key_id == 2
    assert read_users(prepared) == prepared.users  # nothing broke

    # The re-seal goes on with the keyring it has; then the same file loads.
    while watcher.step():
        pass
    rewrite(prepared.path, without_key(rotated, 1))
    assert watcher.poll()
    assert read_users(prepared) == prepared.users
    assert len(_error_lines(caplog)) == 1


@pytest.mark.parametrize(
    ("spoil", "fragment"),
    [
        (lambda k: Keyring(k.primary_key_id, k.aead_keys, b"m" * 32), "different mac_key"),
        (lambda k: generate_keyring(), "does not open the store"),
        (None, "not valid JSON"),
    ],
    ids=["other_mac_key", "unrelated_keyring", "malformed"],
)
def test_a_keyring_that_does_not_fit_the_store_is_not_loaded(
    prepared: Prepared, caplog: pytest.LogCaptureFixture, spoil: Any, fragment: str
) -> None:
    watcher = watcher_for(prepared)
    if spoil is None:
        prepared.path.write_text("{not json")
    else:
        rewrite(prepared.path, spoil(with_new_primary_key(prepared.keyring)))
    assert not watcher.poll()
    [line] = _error_lines(caplog)
    assert fragment in line and "still using the keyring with primary key 1" in line
    assert watcher.primary_key_id == 1
    assert read_users(prepared) == prepared.users
    assert not watcher.poll()  # the same file is not tried (and logged) again
