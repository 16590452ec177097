"""Checks of request fields; each failure names the field and what it may hold."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from .errors import FieldViolation, InvalidArgument
from .models import UserRef

MAX_TENANT_ID_BYTES = 128
MAX_USER_ID_BYTES = 256
MAX_CODE_CHARS = 64
MAX_ACCOUNT_NAME_CHARS = 128
MAX_ISSUER_CHARS = 64
MAX_DEVICE_LABEL_CHARS = 128
MAX_EMAIL_CHARS = 254
_EMAIL_RULE = (
    f"must be a valid address (name@domain.example) of at most {MAX_EMAIL_CHARS} characters"
)
# A pragmatic address check (RFC 5321 sizes, dot-atom local part, DNS labels); the
# mail server remains the judge of whether it exists.
_EMAIL_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_EMAIL_DOMAIN_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")

# Unicode category C* (control, format, surrogate, private use, unassigned), plus the
# invisible line and paragraph separators.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def has_control_characters(value: str) -> bool:
    return any(unicodedata.category(ch) in _INVISIBLE_CATEGORIES for ch in value)


class Violations:
    """Collects every violation of a request, so one answer lists them all."""

    def __init__(self) -> None:
        self._items: list[FieldViolation] = []

    def add(self, field: str, description: str) -> None:
        self._items.append(FieldViolation(field, description))

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[FieldViolation]:
        return iter(self._items)

    def raise_if_any(self) -> None:
        if self._items:
            raise InvalidArgument(self._items)

    def check_text(
        self,
        field: str,
        value: str,
        *,
        max_bytes: int | None = None,
        max_chars: int | None = None,
        required: bool = True,
        forbidden: str = "",
    ) -> None:
        """Checks a free-text field: presence, length, control characters, forbidden ones."""
        if not value:
            problem = "is required" if required else None
        elif (max_bytes is not None and len(value.encode("utf-8")) > max_bytes) or (
            max_chars is not None and len(value) > max_chars
        ):
            problem = "is too long"
        elif has_control_characters(value) or any(c in value for c in forbidden):
            problem = "holds a forbidden character"
        else:
            problem = None
        if problem is None:
            return  # the common case: no message to build
        limit = (
            f"1-{max_bytes} bytes of UTF-8"
            if max_bytes is not None
            else f"1-{max_chars} characters"
        )
        rule = f"must be {limit} without control characters" + (
            f" or {' '.join(repr(c) for c in forbidden)}" if forbidden else ""
        )
        self.add(field, f"{problem}; {rule}")


def check_tenant(violations: Violations, tenant_id: str) -> None:
    violations.check_text("tenant_id", tenant_id, max_bytes=MAX_TENANT_ID_BYTES)


def check_user(violations: Violations, user: UserRef) -> None:
    check_tenant(violations, user.tenant_id)
    violations.check_text("user_id", user.user_id, max_bytes=MAX_USER_ID_BYTES)


def check_code(violations: Violations, code: str, field: str = "code") -> None:
    """Checks the shape a code field may have; the value itself is never quoted back."""
    rule = f"at most {MAX_CODE_CHARS} characters: the code's digits or letters, spaces and '-'"
    if not code.strip():
        violations.add(field, f"is required; {rule}")
    elif len(code) > MAX_CODE_CHARS:
        violations.add(field, f"is too long; {rule}")
    elif has_control_characters(code):
        violations.add(field, f"holds a control character; {rule}")


def is_email_address(value: str) -> bool:
    if len(value) > MAX_EMAIL_CHARS or value.count("@") != 1:
        return False
    local, domain = value.split("@")
    labels = domain.split(".")
    return (
        len(local) <= 64
        and _EMAIL_LOCAL.fullmatch(local) is not None
        and len(labels) >= 2
        and all(_EMAIL_DOMAIN_LABEL.fullmatch(label) for label in labels)
        and not labels[-1].isdigit()
    )


def check_email(violations: Violations, field: str, value: str, *, required: bool) -> None:
    if not value:
        if required:
            violations.add(field, f"is required; {_EMAIL_RULE}")
    elif len(value) > MAX_EMAIL_CHARS:
        violations.add(field, f"is too long; {_EMAIL_RULE}")
    elif has_control_characters(value) or not is_email_address(value):
        violations.add(field, f"is not a valid address; {_EMAIL_RULE}")


def validate_user(user: UserRef) -> None:
    """Raises InvalidArgument unless tenant_id and user_id are well-formed."""
    violations = Violations()
    check_user(violations, user)
    violations.raise_if_any()
