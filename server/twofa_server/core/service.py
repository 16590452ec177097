"""TwoFactorService: every use case of twofa, each one store transaction.

The use cases live by family (enrollment.py, verification.py, logins.py); this
module adds status, administration, housekeeping and policy. Each use case checks
its request and answers the Work of its transaction (core/work.py), which the
caller runs: the gRPC server without blocking (api/runner.py), jobs and tools
with `perform`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence

from . import importing, notices
from . import proof as proofs
from .context import ServiceSettings, devices_revoked, require_allowed, status_of
from .enrollment import EnrollmentUseCases
from .events import Event, EventType
from .housekeeping import purge_expired
from .importing import AuthenticatorEntry, ImportResult
from .logins import LoginUseCases
from .models import (
    SETUP_METHODS,
    Attempts,
    Authenticator,
    EmailMethod,
    Method,
    NoticeFacts,
    NoticeKind,
    Policy,
    PolicyInfo,
    UserRef,
    UserState,
    UserStatus,
)
from .policy import check_policy, check_update_mask, merge_policy
from .ports import Transaction
from .validation import Violations, check_tenant, check_user, validate_user
from .verification import VerificationUseCases
from .work import Done, Work

__all__ = ["ServiceSettings", "TwoFactorService"]


class TwoFactorService(EnrollmentUseCases, VerificationUseCases, LoginUseCases):
    """Enrollment, verification and administration of users' second factors."""

    # --- status ------------------------------------------------------------------------

    def get_user_status(self, user: UserRef) -> Work[UserStatus]:
        validate_user(user)
        now = self._clock.now()

        def run(tx: Transaction) -> Done[UserStatus]:
            state = tx.get_user(user) or UserState()
            return Done(status_of(state, now, self._policy(tx, user.tenant_id)))

        return Work(run, user, writes=False)

    # --- turning methods off, administration -------------------------------------------

    def disable_method(
        self, user: UserRef, method: Method, proof_code: str = ""
    ) -> Work[tuple[bool, UserStatus]]:
        """Turns a method off (enabled or pending); answers whether anything changed.

        Turning off an enabled method revokes every trusted device; when no
        method is left enabled, the backup codes go too.
        """
        violations = Violations()
        check_user(violations, user)
        if method not in SETUP_METHODS:
            violations.add(
                "method",
                f"is {method.name}, not a method to turn off; allowed: "
                + ", ".join(m.name for m in SETUP_METHODS),
            )
        proofs.check_field(violations, proof_code)
        violations.raise_if_any()
        proof = self._proof(user, proof_code)
        now = self._clock.now()

        def run(tx: Transaction) -> Done[tuple[bool, UserStatus]]:
            state = tx.get_user(user) or UserState()
            policy = self._policy(tx, user.tenant_id)
            events: list[Event] = []
            if method in state.enabled_methods():  # cancelling a pending set-up needs no proof
                events, refusal = proofs.check_or_refuse(tx, user, state, policy, proof, now)
                if refusal is not None:
                    return refusal
            before = state.enabled_methods(), state.authenticator, state.email
            if method is Method.AUTHENTICATOR_APP:
                state.authenticator = Authenticator()
            else:
                # The send history stays: turning email off and on must not reset the limits.
                state.email = EmailMethod(sent_at=state.email.sent_at)
            if not state.enabled_methods():
                state.backup_codes = []
            changed = (state.enabled_methods(), state.authenticator, state.email) != before
            if changed:
                events.append(
                    Event(EventType.METHOD_DISABLED, user.tenant_id, user.user_id, method)
                )
                # Turning off an enabled method may mean it is lost: no device stays trusted,
                # and the address enabled until now is told. Cancelling a pending set-up
                # changes nothing about the devices and tells nobody.
                if method in before[0]:
                    facts = NoticeFacts(at=now, method=method)
                    address = before[2].address  # also when email itself was turned off
                    notices.notify(tx, user, policy, address, NoticeKind.METHOD_DISABLED, facts)
                    if state.devices:
                        events.append(devices_revoked(user, len(state.devices), "disable"))
                        state.devices.clear()
                tx.put_user(user, state)
            elif events:
                tx.put_user(user, state)  # the proof's code was used up
            return Done((changed, status_of(state, now, policy)), events)

        return Work(run, user)

    def unlock_user(self, user: UserRef) -> Work[bool]:
        """Clears the user's lockout and failed attempts; answers whether there were any."""
        validate_user(user)

        def run(tx: Transaction) -> Done[bool]:
            state = tx.get_user(user)
            if state is None or state.attempts == Attempts():
                return Done(False)
            state.attempts = Attempts()
            tx.put_user(user, state)
            return Done(True, [Event(EventType.UNLOCK, user.tenant_id, user.user_id)])

        return Work(run, user)

    def delete_user(self, user: UserRef) -> Work[bool]:
        """Removes every record of the user, queued mail included; answers whether any existed."""
        validate_user(user)

        def run(tx: Transaction) -> Done[bool]:
            state = tx.get_user(user)
            events = []
            if state is not None and state.devices:
                events.append(devices_revoked(user, len(state.devices), "delete"))
            deleted = tx.delete_user(user)
            if deleted:
                events.append(Event(EventType.USER_DELETED, user.tenant_id, user.user_id))
            return Done(deleted, events)

        return Work(run, user)

    def import_authenticators(
        self, tenant_id: str, entries: Sequence[AuthenticatorEntry], replace_existing: bool
    ) -> list[Work[ImportResult]]:
        """Enables existing authenticator apps moved in from another system, one Work
        per user (their order); every entry is checked before any is stored.

        A user who has another app enabled keeps it unless `replace_existing`; a
        replaced app, like a Reset, leaves no device trusted. Backup codes are not
        made here: nobody would see them (the application offers RegenerateBackupCodes).
        """
        violations = Violations()
        check_tenant(violations, tenant_id)
        violations.raise_if_any()
        now = self._clock.now()
        checked = importing.check_entries(tenant_id, entries, now, "authenticators")

        def one(entry: importing.CheckedEntry) -> Work[ImportResult]:
            user = entry.user

            def run(tx: Transaction) -> Done[ImportResult]:
                require_allowed(self._policy(tx, tenant_id), Method.AUTHENTICATOR_APP)
                state = tx.get_user(user) or UserState()
                result = importing.apply(state, entry, replace_existing, now)
                if result not in (ImportResult.IMPORTED, ImportResult.REPLACED):
                    return Done(result)
                events = [
                    Event(
                        EventType.METHOD_IMPORTED,
                        user.tenant_id,
                        user.user_id,
                        Method.AUTHENTICATOR_APP,
                        reason=result.name.lower(),
                    )
                ]
                if result is ImportResult.REPLACED and state.devices:
                    events.append(devices_revoked(user, len(state.devices), "import"))
                    state.devices.clear()
                tx.put_user(user, state)
                return Done(result, events)

            return Work(run, user)

        return [one(entry) for entry in checked]

    # --- housekeeping ------------------------------------------------------------------

    def sweep(self, after: UserRef | None, limit: int = 500) -> Work[tuple[UserRef | None, int]]:
        """Purges what has expired for up to `limit` users after `after`, in one transaction.

        Answers the user to continue after (None once the end is reached) and how
        many users changed.
        """
        now = self._clock.now()

        def run(tx: Transaction) -> Done[tuple[UserRef | None, int]]:
            batch = tx.users_after(after, limit)
            policies: dict[str, Policy] = {}
            events = []
            changed = 0
            for user, state in batch:
                if state is None:
                    events.append(Event(EventType.RECORD_UNREADABLE, user.tenant_id, user.user_id))
                    continue
                if user.tenant_id not in policies:
                    policies[user.tenant_id] = self._policy(tx, user.tenant_id)
                trusted = len(state.devices)
                if purge_expired(state, policies[user.tenant_id], now):
                    tx.put_user(user, state)
                    changed += 1
                    if len(state.devices) < trusted:
                        expired = trusted - len(state.devices)
                        events.append(devices_revoked(user, expired, "expired"))
            next_after = batch[-1][0] if len(batch) == limit else None
            return Done((next_after, changed), events)

        return Work(run)

    # --- policy ------------------------------------------------------------------------

    def get_policy(self, tenant_id: str) -> Work[PolicyInfo]:
        violations = Violations()
        check_tenant(violations, tenant_id)
        violations.raise_if_any()

        def run(tx: Transaction) -> Done[PolicyInfo]:
            stored = tx.get_policy(tenant_id)
            if stored is None:
                return Done(PolicyInfo(self._settings.default_policy, is_default=True))
            return Done(PolicyInfo(stored, is_default=False))

        return Work(run, tenant_id=tenant_id, writes=False)

    def update_policy(
        self,
        tenant_id: str,
        update: Policy,
        mask: Sequence[str],
        unset: Collection[str] = (),
    ) -> Work[Policy]:
        """Changes the fields in `mask` (all fields when empty) after validating the result.

        Args:
            unset: fields the request left unset; they take the configured default
                (a caller that predates a field does not turn it off by omission).
        """
        violations = Violations()
        check_tenant(violations, tenant_id)
        check_update_mask(violations, mask)
        violations.raise_if_any()
        changed = ",".join(mask) or "all"
        defaults = self._settings.default_policy
        update = dataclasses.replace(update, **{name: getattr(defaults, name) for name in unset})

        def run(tx: Transaction) -> Done[Policy]:
            merged = merge_policy(self._policy(tx, tenant_id), update, mask)
            problems = Violations()
            check_policy(problems, merged, self._settings.sender_domains)
            problems.raise_if_any()
            tx.put_policy(tenant_id, merged)
            return Done(merged, [Event(EventType.POLICY_UPDATED, tenant_id, reason=changed)])

        return Work(run, tenant_id=tenant_id)
