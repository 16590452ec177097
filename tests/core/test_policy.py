"""The tenant policy as pure rules: allowed ranges and their messages, partial updates by mask."""

from __future__ import annotations

import dataclasses

import pytest

from twofa_server.core.errors import InvalidArgument
from twofa_server.core.events import EventType
from twofa_server.core.models import Enforcement, Frequency, Method, Policy
from twofa_server.core.policy import (
    POLICY_FIELDS,
    check_policy,
    check_update_mask,
    merge_policy,
)
from twofa_server.core.validation import Violations

from .fakes import Core


def problems(policy: Policy, sender_domains: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """Every (field, description) check_policy reports for `policy`."""
    violations = Violations()
    check_policy(violations, policy, sender_domains)
    try:
        violations.raise_if_any()
    except InvalidArgument as refused:
        return [(v.field, v.description) for v in refused.violations]
    return []


def test_the_default_policy_is_valid() -> None:
    assert problems(Policy()) == []


@pytest.mark.parametrize(
    ("change", "field", "description"),
    [
        ({"trusted_device_days": 0}, "trusted_device_days", "is 0; allowed: 1-365 days"),
        ({"trusted_device_days": 366}, "trusted_device_days", "is 366; allowed: 1-365 days"),
        ({"max_attempts": 0}, "max_attempts", "is 0; allowed: 1-20 attempts"),
        ({"max_attempts": 21}, "max_attempts", "is 21; allowed: 1-20 attempts"),
        ({"lockout_seconds": 59}, "lockout_seconds", "is 59; allowed: 60-86400 seconds"),
        ({"lockout_seconds": 86401}, "lockout_seconds", "is 86401; allowed: 60-86400 seconds"),
        (
            {"email_code_ttl_seconds": 59},
            "email_code_ttl_seconds",
            "is 59; allowed: 60-3600 seconds",
        ),
        (
            {"email_code_ttl_seconds": 3601},
            "email_code_ttl_seconds",
            "is 3601; allowed: 60-3600 seconds",
        ),
        ({"warn_after_failures": 0}, "warn_after_failures", "is 0; allowed: 1 to max_attempts (5)"),
        ({"warn_after_failures": 6}, "warn_after_failures", "is 6; allowed: 1 to max_attempts (5)"),
        (
            {"enforcement": Enforcement.UNSPECIFIED},
            "enforcement",
            "is not set; allowed: OPTIONAL, REQUIRED",
        ),
        (
            {"frequency": Frequency.UNSPECIFIED},
            "frequency",
            "is not set; allowed: EVERY_LOGIN, TRUSTED_DEVICE",
        ),
        (
            {"allowed_methods": (Method.BACKUP_CODE,)},
            "allowed_methods",
            "holds BACKUP_CODE; allowed: AUTHENTICATOR_APP, EMAIL",
        ),
        (
            {"allowed_methods": (Method.EMAIL, Method.EMAIL)},
            "allowed_methods",
            "holds a method twice; allowed: AUTHENTICATOR_APP, EMAIL",
        ),
    ],
)
def test_a_value_out_of_range_is_named_with_what_is_allowed(
    change: dict[str, object], field: str, description: str
) -> None:
    assert problems(dataclasses.replace(Policy(), **change)) == [  # type: ignore[arg-type]
        (f"policy.{field}", description)
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [("", "is required"), ("x" * 257, "is too long"), ("Wait\x00", "holds a forbidden character")],
)
def test_the_warning_text_is_checked_as_text(text: str, problem: str) -> None:
    [(field, description)] = problems(Policy(warning_text=text))
    assert field == "policy.warning_text"
    assert description.startswith(f"{problem}; must be 1-256 characters")


def test_the_warning_is_judged_against_a_valid_max_attempts_only() -> None:
    # max_attempts=30 is wrong itself: the warning is judged against the highest valid value.
    assert problems(Policy(max_attempts=30, warn_after_failures=7)) == [
        ("policy.max_attempts", "is 30; allowed: 1-20 attempts")
    ]
    assert problems(Policy(max_attempts=30, warn_after_failures=21)) == [
        ("policy.max_attempts", "is 30; allowed: 1-20 attempts"),
        ("policy.warn_after_failures", "is 21; allowed: 1 to max_attempts (20)"),
    ]


def test_every_problem_is_reported_at_once() -> None:
    fields = [f for f, _ in problems(Policy(max_attempts=0, lockout_seconds=0, warning_text=""))]
    assert fields == ["policy.max_attempts", "policy.lockout_seconds", "policy.warning_text"]


# --- partial updates -------------------------------------------------------------------------

CURRENT = Policy(max_attempts=3, lockout_seconds=600, warning_text="Wait.")
UPDATE = Policy(max_attempts=7, lockout_seconds=120, frequency=Frequency.TRUSTED_DEVICE)


@pytest.mark.parametrize(
    ("mask", "expected"),
    [
        ([], UPDATE),
        (["max_attempts"], dataclasses.replace(CURRENT, max_attempts=7)),
        (
            ["frequency", "lockout_seconds"],
            dataclasses.replace(CURRENT, frequency=Frequency.TRUSTED_DEVICE, lockout_seconds=120),
        ),
    ],
    ids=["empty-replaces-all", "one-field", "two-fields"],
)
def test_merge_takes_the_masked_fields_from_the_update(mask: list[str], expected: Policy) -> None:
    assert merge_policy(CURRENT, UPDATE, mask) == expected


def test_an_unknown_mask_field_is_named_with_the_known_ones() -> None:
    violations = Violations()
    check_update_mask(violations, ["max_attempts", "max_attempt"])
    with pytest.raises(InvalidArgument) as refused:
        violations.raise_if_any()
    named, allowed = refused.value.violations
    assert named.field == allowed.field == "update_mask"
    assert named.description == "names unknown field 'max_attempt'"
    assert allowed.description == "allowed: " + ", ".join(POLICY_FIELDS)
    assert "allowed_methods" in POLICY_FIELDS and "lockout_escalation" in POLICY_FIELDS


def test_update_policy_checks_the_merged_result_and_stores_nothing_when_refused(
    core: Core,
) -> None:
    tenant = "acme"
    stored = core.do(core.service.update_policy(tenant, Policy(max_attempts=3), ["max_attempts"]))
    assert stored == Policy(max_attempts=3)
    # warn_after_failures=3 is fine alone, but not once max_attempts is 2.
    with pytest.raises(InvalidArgument) as refused:
        core.do(core.service.update_policy(tenant, Policy(max_attempts=2), ["max_attempts"]))
    assert [v.field for v in refused.value.violations] == ["policy.warn_after_failures"]
    assert core.store.state.policies[tenant] == Policy(max_attempts=3)
    info = core.do(core.service.get_policy(tenant))
    assert (info.policy, info.is_default) == (Policy(max_attempts=3), False)
    assert core.do(core.service.get_policy("other")).is_default
    assert [e.type for e in core.events.events] == [EventType.POLICY_UPDATED]
