"""Proof of the current factor before a sensitive change, when the tenant's policy asks for it.

By default twofa trusts its caller: the application has authenticated the user
(password, session) before it asks for a Reset, a new method, a method turned
off or new backup codes. With `require_proof_for_changes`, those changes also
need a code of a factor the user already has (app, email login code, or backup
code), checked like VerifyCode's, under the same attempt budget: someone who
holds only the password cannot swap the second factor for their own.
"""

from __future__ import annotations

from typing import Any

from . import code_check, notices
from .codes import Proof
from .context import verdict_events
from .errors import FailedPrecondition, RateLimited, TwoFactorError
from .events import Event, EventType
from .models import Method, Policy, UserRef, UserState, Verdict, VerifyResult
from .ports import Transaction
from .validation import Violations, check_code
from .work import Done, refused


def check_field(violations: Violations, proof_code: str) -> None:
    """The proof code's rules are those of any code field; it may be left out."""
    if proof_code:
        check_code(violations, proof_code, field="proof_code")


def needed(policy: Policy, state: UserState) -> bool:
    """Whether a sensitive change of this user needs a proof now."""
    return policy.require_proof_for_changes and bool(state.enabled_methods())


def prove(
    state: UserState,
    policy: Policy,
    user: UserRef,
    proof: Proof | None,
    now: float,
) -> tuple[list[Event], TwoFactorError | None, Verdict | None]:
    """Checks the proof if the policy asks for one; uses the code up when it is accepted.

    Returns:
        The events of the check (none when no proof was needed), the error to answer
        with when the change must not go ahead (the user's state is then still
        stored, since a wrong code counts against the budget), and the verdict on
        the proof's code (None when none was checked).
    """
    if not needed(policy, state):
        return [], None, None
    if proof is None:
        required = FailedPrecondition(
            "proof_code",
            "PROOF_REQUIRED",
            "the tenant's policy requires a current code (app, email or backup code) in "
            "proof_code for this change",
        )
        return [], required, None
    verdict = code_check.check_under_budget(
        state, policy, Method.UNSPECIFIED, proof.code, proof.digest, now
    )
    events = verdict_events(
        user, verdict, EventType.VERIFICATION_ACCEPTED, EventType.VERIFICATION_REJECTED
    )
    if verdict.accepted:
        return events, None, verdict
    if verdict.result is VerifyResult.LOCKED_OUT and verdict.retry_after is not None:
        locked = RateLimited(
            "LOCKED_OUT",
            verdict.retry_after,
            "the user is locked out after too many failed attempts; try the change again "
            "when the lockout ends",
        )
        return events, locked, verdict
    rejected = FailedPrecondition(
        "proof_code",
        "PROOF_REJECTED",
        f"the proof code was not accepted ({verdict.reason.name}); "
        f"{verdict.attempts_remaining} attempts left",
    )
    return events, rejected, verdict


def check_or_refuse(
    tx: Transaction,
    user: UserRef,
    state: UserState,
    policy: Policy,
    proof: Proof | None,
    now: float,
) -> tuple[list[Event], Done[Any] | None]:
    """`prove` inside a use case's transaction, with the notice its code calls for (a
    lockout, a backup code used).

    Returns the check's events, and the refusal to answer with when the change must
    not go ahead (the user is stored first: a wrong code counts).
    """
    events, refusal, verdict = prove(state, policy, user, proof, now)
    if verdict is not None:
        notices.after_code(tx, user, state, policy, verdict, now)
    if refusal is None:
        return events, None
    if events:
        tx.put_user(user, state)
    return events, refused(refusal, events)
