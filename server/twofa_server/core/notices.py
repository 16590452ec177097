"""Security notices: the user's enabled address is told when something about their second
factor changed.

A method turned off, a Reset confirmed, backup codes regenerated, a lockout, a new
trusted device, a backup code used: each is queued through the outbox inside the
transaction that made the change (`tx.enqueue_mail`), so a notice is sent exactly for
the changes that committed. It goes to the address enabled *before* the change (so
turning email off, or resetting it, tells the old address), in the tenant's
letterhead, unless the tenant turned that notice off (policy disabled_notices). A
notice carries facts only (core.models.NoticeFacts): never a code, a token or an
address.
"""

from __future__ import annotations

from .letterhead import letterhead_of
from .models import (
    Mail,
    MailKind,
    Method,
    NoticeFacts,
    NoticeKind,
    Policy,
    UserRef,
    UserState,
    Verdict,
    VerifyReason,
)
from .ports import Transaction


def notify(
    tx: Transaction,
    user: UserRef,
    policy: Policy,
    address: str | None,
    kind: NoticeKind,
    facts: NoticeFacts,
) -> bool:
    """Queues notice `kind` for `address`; answers whether it was queued.

    Args:
        address: the user's enabled address before the change; None: no notice.
    """
    if address is None or not policy.sends(kind):
        return False
    mail = Mail(
        MailKind.of_notice(kind),
        address,
        (),
        expires_at=None,
        letterhead=letterhead_of(policy),
        notice=facts,
    )
    tx.enqueue_mail(user, mail)
    return True


def after_code(
    tx: Transaction,
    user: UserRef,
    state: UserState,
    policy: Policy,
    verdict: Verdict,
    now: float,
) -> None:
    """The notice a checked code calls for: the lockout it caused, or the backup code it used
    (with the count left). For VerifyCode, the set-up confirmations and proofs alike."""
    address = state.email.address
    if verdict.reason is VerifyReason.TOO_MANY_ATTEMPTS:
        facts = NoticeFacts(at=now, until=verdict.locked_until)
        notify(tx, user, policy, address, NoticeKind.LOCKED_OUT, facts)
    elif verdict.accepted and verdict.method is Method.BACKUP_CODE:
        facts = NoticeFacts(at=now, remaining=len(state.backup_codes))
        notify(tx, user, policy, address, NoticeKind.BACKUP_CODE_USED, facts)
