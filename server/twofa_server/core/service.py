"""TwoFactorService: every use case of twofa, each one store transaction.

The use cases live by family (enrollment.py, verification.py); this module adds
status, administration and policy, and is what the API layer calls.
"""

from __future__ import annotations

from collections.abc import Sequence

from .context import ServiceSettings, devices_revoked, status_of
from .enrollment import EnrollmentUseCases
from .events import Event, EventType
from .housekeeping import purge_expired
from .logins import LoginUseCases
from .models import (
    SETUP_METHODS,
    Attempts,
    Authenticator,
    EmailMethod,
    Method,
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

__all__ = ["ServiceSettings", "TwoFactorService"]


class TwoFactorService(EnrollmentUseCases, VerificationUseCases, LoginUseCases):
    """Enrollment, verification and administration of users' second factors."""

    # --- status ------------------------------------------------------------------------

    def get_user_status(self, user: UserRef) -> UserStatus:
        validate_user(user)
        now = self._clock.now()

        def read(tx: Transaction) -> UserStatus:
            state = tx.get_user(user) or UserState()
            return status_of(state, now, self._policy(tx, user.tenant_id))

        return self._store.read(read)

    # --- turning methods off, administration -------------------------------------------

    def disable_method(self, user: UserRef, method: Method) -> tuple[bool, UserStatus]:
        """Turns a method off (enabled or pending); returns whether anything changed.

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
        violations.raise_if_any()
        now = self._clock.now()
        events: list[Event] = []

        def work(tx: Transaction) -> tuple[bool, UserStatus]:
            state = tx.get_user(user) or UserState()
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
                # Turning off an enabled method may mean it is lost: no device stays trusted.
                # Cancelling a pending set-up changes nothing about the devices.
                if method in before[0] and state.devices:
                    events.append(devices_revoked(user, len(state.devices), "disable"))
                    state.devices.clear()
                tx.put_user(user, state)
            return changed, status_of(state, now, self._policy(tx, user.tenant_id))

        return self._write(work, events)

    def unlock_user(self, user: UserRef) -> bool:
        """Clears the user's lockout and failed attempts; returns whether there were any."""
        validate_user(user)
        events: list[Event] = []

        def work(tx: Transaction) -> bool:
            state = tx.get_user(user)
            if state is None or state.attempts == Attempts():
                return False
            state.attempts = Attempts()
            tx.put_user(user, state)
            events.append(Event(EventType.UNLOCK, user.tenant_id, user.user_id))
            return True

        return self._write(work, events)

    def delete_user(self, user: UserRef) -> bool:
        """Removes every record of the user, queued mail included; returns whether any existed."""
        validate_user(user)
        events: list[Event] = []

        def work(tx: Transaction) -> bool:
            state = tx.get_user(user)
            if state is not None and state.devices:
                events.append(devices_revoked(user, len(state.devices), "delete"))
            deleted = tx.delete_user(user)
            if deleted:
                events.append(Event(EventType.USER_DELETED, user.tenant_id, user.user_id))
            return deleted

        return self._write(work, events)

    # --- housekeeping ------------------------------------------------------------------

    def sweep(self, after: UserRef | None, limit: int = 500) -> tuple[UserRef | None, int]:
        """Purges what has expired for up to `limit` users after `after`, in one transaction.

        Returns the user to continue after (None once the end is reached) and
        how many users changed.
        """
        now = self._clock.now()
        events: list[Event] = []

        def work(tx: Transaction) -> tuple[UserRef | None, int]:
            batch = tx.users_after(after, limit)
            policies: dict[str, Policy] = {}
            changed = 0
            for user, state in batch:
                if user.tenant_id not in policies:
                    policies[user.tenant_id] = self._policy(tx, user.tenant_id)
                trusted = len(state.devices)
                if purge_expired(state, policies[user.tenant_id], now):
                    tx.put_user(user, state)
                    changed += 1
                    if len(state.devices) < trusted:
                        events.append(
                            devices_revoked(user, trusted - len(state.devices), "expired")
                        )
            return (batch[-1][0] if len(batch) == limit else None), changed

        return self._write(work, events)

    # --- policy ------------------------------------------------------------------------

    def get_policy(self, tenant_id: str) -> PolicyInfo:
        violations = Violations()
        check_tenant(violations, tenant_id)
        violations.raise_if_any()
        stored = self._store.read(lambda tx: tx.get_policy(tenant_id))
        if stored is None:
            return PolicyInfo(self._settings.default_policy, is_default=True)
        return PolicyInfo(stored, is_default=False)

    def update_policy(self, tenant_id: str, update: Policy, mask: Sequence[str]) -> Policy:
        """Changes the fields in `mask` (all fields when empty) after validating the result."""
        violations = Violations()
        check_tenant(violations, tenant_id)
        check_update_mask(violations, mask)
        violations.raise_if_any()

        changed = ",".join(mask) or "all"
        events = [Event(EventType.POLICY_UPDATED, tenant_id, reason=changed)]

        def work(tx: Transaction) -> Policy:
            merged = merge_policy(self._policy(tx, tenant_id), update, mask)
            problems = Violations()
            check_policy(problems, merged)
            problems.raise_if_any()
            tx.put_policy(tenant_id, merged)
            return merged

        return self._write(work, events)
