"""One-time codes twofa issues: six-digit email codes and backup codes, stored only hashed."""

from __future__ import annotations

import hmac

from .models import UserRef
from .ports import Hasher, Random

EMAIL_CODE_DIGITS = 6
BACKUP_CODE_COUNT = 10
BACKUP_CODE_LENGTH = 12
# 32 symbols (5 bits each, 60 bits a code) without 0/O, 1/I: nothing to misread.
BACKUP_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
BACKUP_CODE_GROUP = 4

EMAIL_CODE_PURPOSE = b"twofa-email-code"
BACKUP_CODE_PURPOSE = b"twofa-backup"


def bound_to_user(user: UserRef, secret: bytes) -> bytes:
    """A secret bound to its user before hashing, so a digest is worthless for anyone else."""
    parts = (user.tenant_id.encode(), user.user_id.encode(), secret)
    return b"".join(len(part).to_bytes(2, "big") + part for part in parts)


def new_email_code(random: Random) -> str:
    return f"{random.below(10**EMAIL_CODE_DIGITS):0{EMAIL_CODE_DIGITS}d}"


def email_code_digest(hasher: Hasher, user: UserRef, code: str) -> bytes:
    return hasher.digest(EMAIL_CODE_PURPOSE, bound_to_user(user, code.encode()))


def new_backup_codes(random: Random) -> tuple[str, ...]:
    """Ten fresh codes, each shown grouped as XXXX-XXXX-XXXX."""
    codes = []
    for _ in range(BACKUP_CODE_COUNT):
        raw = "".join(
            BACKUP_CODE_ALPHABET[random.below(len(BACKUP_CODE_ALPHABET))]
            for _ in range(BACKUP_CODE_LENGTH)
        )
        codes.append(
            "-".join(raw[i : i + BACKUP_CODE_GROUP] for i in range(0, len(raw), BACKUP_CODE_GROUP))
        )
    return tuple(codes)


def backup_code_digest(hasher: Hasher, user: UserRef, code: str) -> bytes:
    """The digest of a normalized (separator-free, upper-case) backup code."""
    return hasher.digest(BACKUP_CODE_PURPOSE, bound_to_user(user, code.encode()))


def looks_like_backup_code(normalized: str) -> bool:
    return len(normalized) == BACKUP_CODE_LENGTH and all(
        ch in BACKUP_CODE_ALPHABET for ch in normalized
    )


def looks_like_six_digits(normalized: str) -> bool:
    return len(normalized) == EMAIL_CODE_DIGITS and normalized.isascii() and normalized.isdigit()


def find_digest(digests: list[bytes], candidate: bytes) -> int | None:
    """The index of `candidate` in `digests`, comparing every entry in constant time."""
    found = None
    for index, digest in enumerate(digests):
        if hmac.compare_digest(digest, candidate) and found is None:
            found = index
    return found
