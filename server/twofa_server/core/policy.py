"""The tenant policy's allowed ranges, and partial updates of it."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from .letterhead import check_letterhead
from .models import NOTICE_KINDS, SETUP_METHODS, Enforcement, Frequency, Method, NoticeKind, Policy
from .validation import Violations

TRUSTED_DEVICE_DAYS = (1, 365)
MAX_ATTEMPTS = (1, 20)
LOCKOUT_SECONDS = (60, 86400)
MAX_LOCKOUT_SECONDS = (60, 30 * 86400)  # from lockout_seconds up
EMAIL_CODE_TTL_SECONDS = (60, 3600)
MAX_WARNING_TEXT_CHARS = 256

POLICY_FIELDS = tuple(f.name for f in dataclasses.fields(Policy))


def _check_range(
    violations: Violations, field: str, value: int, bounds: tuple[int, int], unit: str
) -> None:
    low, high = bounds
    if not low <= value <= high:
        violations.add(f"policy.{field}", f"is {value}; allowed: {low}-{high} {unit}")


def check_policy(
    violations: Violations, policy: Policy, sender_domains: Collection[str] = ()
) -> None:
    """Adds a violation for every field of `policy` outside its allowed values.

    Args:
        sender_domains: the domains a tenant's sender_address may use; empty: any.
    """
    if policy.enforcement is Enforcement.UNSPECIFIED:
        violations.add("policy.enforcement", "is not set; allowed: OPTIONAL, REQUIRED")
    if policy.frequency is Frequency.UNSPECIFIED:
        violations.add("policy.frequency", "is not set; allowed: EVERY_LOGIN, TRUSTED_DEVICE")
    _check_range(
        violations, "trusted_device_days", policy.trusted_device_days, TRUSTED_DEVICE_DAYS, "days"
    )
    _check_range(violations, "max_attempts", policy.max_attempts, MAX_ATTEMPTS, "attempts")
    # The warning must come at or before the lockout; judged against max_attempts
    # only when that is valid itself, so one mistake is reported once.
    low, high = MAX_ATTEMPTS
    ceiling = policy.max_attempts if low <= policy.max_attempts <= high else high
    if not 1 <= policy.warn_after_failures <= ceiling:
        violations.add(
            "policy.warn_after_failures",
            f"is {policy.warn_after_failures}; allowed: 1 to max_attempts ({ceiling})",
        )
    _check_range(violations, "lockout_seconds", policy.lockout_seconds, LOCKOUT_SECONDS, "seconds")
    # The longest lockout is at least the first one; judged against lockout_seconds only
    # when that is valid itself, so one mistake is reported once.
    low, high = LOCKOUT_SECONDS
    floor = policy.lockout_seconds if low <= policy.lockout_seconds <= high else low
    high = MAX_LOCKOUT_SECONDS[1]
    if not floor <= policy.max_lockout_seconds <= high:
        violations.add(
            "policy.max_lockout_seconds",
            f"is {policy.max_lockout_seconds}; allowed: lockout_seconds ({floor}) to "
            f"{high} seconds",
        )
    violations.check_text(
        "policy.warning_text", policy.warning_text, max_chars=MAX_WARNING_TEXT_CHARS
    )
    _check_range(
        violations,
        "email_code_ttl_seconds",
        policy.email_code_ttl_seconds,
        EMAIL_CODE_TTL_SECONDS,
        "seconds",
    )
    names = ", ".join(m.name for m in SETUP_METHODS)
    wrong = sorted({m.name for m in policy.allowed_methods if m not in SETUP_METHODS})
    if wrong:
        violations.add("policy.allowed_methods", f"holds {', '.join(wrong)}; allowed: {names}")
    right = [m for m in policy.allowed_methods if m in SETUP_METHODS]
    if len(set(right)) != len(right):
        violations.add("policy.allowed_methods", f"holds a method twice; allowed: {names}")
    _check_notices(violations, policy.disabled_notices)
    check_letterhead(violations, policy, sender_domains)


def _check_notices(violations: Violations, notices: tuple[NoticeKind, ...]) -> None:
    names = ", ".join(n.name for n in NOTICE_KINDS)
    if NoticeKind.UNSPECIFIED in notices:
        violations.add("policy.disabled_notices", f"holds UNSPECIFIED; allowed: {names}")
    if len(set(notices)) != len(notices):
        violations.add("policy.disabled_notices", f"holds a notice twice; allowed: {names}")


def merge_policy(current: Policy, update: Policy, mask: Iterable[str]) -> Policy:
    """Returns `current` with the fields named in `mask` taken from `update`.

    An empty mask replaces the whole policy. Unknown names are reported by
    `check_update_mask`, not here.
    """
    fields = list(mask)
    if not fields:
        return update
    return dataclasses.replace(current, **{name: getattr(update, name) for name in fields})


MAX_LISTED_UNKNOWN = 5  # an answer names this many unknown paths, then counts the rest


def check_update_mask(violations: Violations, mask: Iterable[str]) -> None:
    """Reports unknown names in an update mask: a few by name, the rest counted, and the allowed
    names once."""
    unknown = [name for name in mask if name not in POLICY_FIELDS]
    if not unknown:
        return
    for name in unknown[:MAX_LISTED_UNKNOWN]:
        shown = name if len(name) <= 64 else name[:61] + "..."
        violations.add("update_mask", f"names unknown field {shown!r}")
    if len(unknown) > MAX_LISTED_UNKNOWN:
        violations.add(
            "update_mask", f"names {len(unknown) - MAX_LISTED_UNKNOWN} more unknown fields"
        )
    violations.add("update_mask", "allowed: " + ", ".join(POLICY_FIELDS))


def policy_numbers(policy: Policy) -> dict[str, Any]:
    """The policy's fields as plain numbers and text (enums by value), e.g. for an encoding."""
    return {
        name: (
            value.value
            if isinstance(value, enum.Enum)
            else [member.value for member in value]
            if isinstance(value, tuple)
            else value
        )
        for name, value in ((f, getattr(policy, f)) for f in POLICY_FIELDS)
    }


def policy_from_numbers(values: Mapping[str, Any]) -> Policy:
    """A policy from `policy_numbers`' form; a field missing from `values` takes its default.

    Raises:
        ValueError: an enum number this version does not know.
    """
    fields: dict[str, Any] = dict(values)
    if "enforcement" in fields:
        fields["enforcement"] = Enforcement(fields["enforcement"])
    if "frequency" in fields:
        fields["frequency"] = Frequency(fields["frequency"])
    if "allowed_methods" in fields:
        fields["allowed_methods"] = tuple(Method(m) for m in fields["allowed_methods"])
    if "disabled_notices" in fields:
        fields["disabled_notices"] = tuple(NoticeKind(n) for n in fields["disabled_notices"])
    return Policy(**fields)
