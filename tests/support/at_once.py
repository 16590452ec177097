"""Many callers sending the same request at the same instant."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from twofa_client import TwoFactorClient, Verification


def verify_all_at_once(
    client: TwoFactorClient,
    tenant: str,
    user: str,
    code: str,
    callers: int,
    *,
    idempotency_key: str = "",
) -> list[Verification]:
    """`callers` threads send the same VerifyCode, released together by a barrier."""
    start = threading.Barrier(callers)

    def call(_: int) -> Verification:
        start.wait()
        return client.verify_code(tenant, user, code, idempotency_key=idempotency_key)

    with ThreadPoolExecutor(callers) as pool:
        return list(pool.map(call, range(callers)))
