"""Tenants' policies in memory, so a request does not read its tenant's policy from LMDB.

Every VerifyCode and EvaluateLogin needs its tenant's policy, and policies
change rarely (UpdatePolicy). Each LMDB read also releases the GIL, which under
load costs a thread switch, so this saves more than the read itself.

Correctness rests on generations. Only the store's writer thread changes
policies; a batch that wrote one bumps the generation after it commits and
before any of its answers leave. A transaction notes the generation before it
begins, and an entry is used only when it was filled under the same generation:
then no policy has been committed since, so the entry is what the transaction
would read. Inside a batch that has written a policy, write transactions read
LMDB until the batch ends (their own change is not committed yet).
"""

from __future__ import annotations

from collections.abc import Callable

from ...core.models import Policy

MAX_TENANTS = 10_000  # bounded: past it the cache starts over


class PolicyCache:
    """Policies by tenant, each tagged with the generation it was read under."""

    def __init__(self) -> None:
        self.generation = 0
        self._entries: dict[str, tuple[int, Policy | None]] = {}
        self._batch_wrote = False  # the writer thread's running batch has put a policy

    def get(
        self, tenant_id: str, generation: int, read: Callable[[], Policy | None], writing: bool
    ) -> Policy | None:
        """The tenant's policy as of `generation` (noted before the transaction began)."""
        if writing and self._batch_wrote:
            return read()
        entry = self._entries.get(tenant_id)
        if entry is not None and entry[0] == generation:
            return entry[1]
        policy = read()
        if len(self._entries) >= MAX_TENANTS:
            self._entries = {}
        self._entries[tenant_id] = (generation, policy)
        return policy

    def written(self) -> None:
        """A write transaction of the running batch has put a policy."""
        self._batch_wrote = True

    def batch_ended(self) -> None:
        """The writer's batch has committed (or failed): what it wrote is now what reads see."""
        if self._batch_wrote:
            self._batch_wrote = False
            self.generation += 1
