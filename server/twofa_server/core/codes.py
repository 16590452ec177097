"""The codes users type: what shape a code has, and the codes twofa issues (stored only hashed)."""

from __future__ import annotations

import enum
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass

from .models import Method, UserRef, VerifyReason
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


def find_digest(digests: Sequence[bytes], candidate: bytes) -> int | None:
    """The index of `candidate` in `digests`, comparing every entry in constant time."""
    found = None
    for index, digest in enumerate(digests):
        if hmac.compare_digest(digest, candidate) and found is None:
            found = index
    return found


def use_backup_code(digests: list[bytes], digest: bytes) -> VerifyReason:
    """Accepts a backup code whose digest is among the unused ones, and uses it up."""
    if not digests:
        return VerifyReason.NO_ACTIVE_CODE
    index = find_digest(digests, digest)
    if index is None:
        return VerifyReason.WRONG_CODE
    del digests[index]
    return VerifyReason.OK


# --- what a typed code is ------------------------------------------------------------

# Separators people type or paste inside codes ("123 456", "ABCD-EFGH-JKLM").
_SEPARATORS = re.compile(r"[\s\-]+")
_BACKUP_SYMBOLS = frozenset(BACKUP_CODE_ALPHABET)


class CodeShape(enum.Enum):
    SIX_DIGITS = "six_digits"  # an authenticator app's code or an email code
    EIGHT_DIGITS = "eight_digits"  # an authenticator app's, for apps set to 8 digits
    BACKUP_CODE = "backup_code"
    MALFORMED = "malformed"  # no code twofa issues looks like this


@dataclass(frozen=True, slots=True)
class TypedCode:
    """A code as the user typed it, with separators dropped and letters upper-cased."""

    text: str
    shape: CodeShape

    @property
    def digits(self) -> bool:
        """Whether it is all digits of a length an app or email code has."""
        return self.shape in (CodeShape.SIX_DIGITS, CodeShape.EIGHT_DIGITS)

    def fits(self, method: Method, app_digits: int = EMAIL_CODE_DIGITS) -> bool:
        """Whether a code of this shape can be one of `method`'s (the app's codes have
        `app_digits` digits)."""
        if method is Method.BACKUP_CODE:
            return self.shape is CodeShape.BACKUP_CODE
        if method is Method.AUTHENTICATOR_APP:
            return self.digits and len(self.text) == app_digits
        return self.shape is CodeShape.SIX_DIGITS


def read_code(code: str) -> TypedCode:
    """Decides once what a typed code can be; every later step trusts the answer.

    Case and separators do not matter: "abcd-efgh-jkmn" and "ABCDEFGHJKMN" are the same code.
    """
    text = _SEPARATORS.sub("", code).upper()
    if text.isascii() and text.isdigit() and len(text) in (6, 8):
        return TypedCode(text, CodeShape.SIX_DIGITS if len(text) == 6 else CodeShape.EIGHT_DIGITS)
    if len(text) == BACKUP_CODE_LENGTH and _BACKUP_SYMBOLS.issuperset(text):
        return TypedCode(text, CodeShape.BACKUP_CODE)
    return TypedCode(text, CodeShape.MALFORMED)


@dataclass(frozen=True, slots=True)
class Proof:
    """A code sent to prove the current factor (core/proof.py), with the digest its check
    needs: of an email or backup code; empty for another shape."""

    code: TypedCode
    digest: bytes
