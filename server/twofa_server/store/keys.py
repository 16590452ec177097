"""Every LMDB key and sub-database name twofa uses, encoded in one place.

A user key is `len(tenant) || tenant || user` (UTF-8). The length prefix keeps
("ab", "c") and ("a", "bc") apart and makes every key of a tenant share a
prefix; tenant ids are at most 128 bytes, so one byte holds the length.
"""

from __future__ import annotations

from collections.abc import Callable

from ..core.models import UserRef

# Named sub-databases.
USERS = b"users"
POLICIES = b"policies"
META = b"meta"
OUTBOX = b"outbox"
ALL_DATABASES = (USERS, POLICIES, META, OUTBOX)

# Keys in META.
META_SCHEMA = b"schema"
META_KEY_CHECK = b"key-check"
META_MAC_CHECK = b"mac-check"


def new_outbox_key(now: float, random_bytes: Callable[[int], bytes]) -> bytes:
    """A new message's id: the millisecond it was queued (6 bytes) and 10 random bytes.

    Random, so that ids are unique across stores and instances without a shared
    counter; time first, so that they sort about in the order messages were queued.
    """
    return round(now * 1000).to_bytes(6, "big") + random_bytes(10)


def tenant_key(tenant_id: str) -> bytes:
    tenant = tenant_id.encode("utf-8")
    return bytes((len(tenant),)) + tenant


def user_key(user: UserRef) -> bytes:
    return tenant_key(user.tenant_id) + user.user_id.encode("utf-8")


def parse_user_key(key: bytes) -> UserRef:
    length = key[0]
    return UserRef(key[1 : 1 + length].decode("utf-8"), key[1 + length :].decode("utf-8"))


def sealed_field_context(key: bytes, field: str) -> bytes:
    """Associated data binding a sealed value to its record and field.

    A ciphertext copied into another user's record, or into another field,
    then fails to open.
    """
    return b"twofa/v1/" + field.encode("ascii") + b"/" + key


# Associated data of the sealed probe that proves a keyring fits the store (keycheck.py).
KEY_CHECK_CONTEXT = sealed_field_context(META_KEY_CHECK, "meta")
