"""Public-API usage that mypy --strict checks and pytest never runs (stamina's pattern).

An unintended change to a public signature or return type fails the type check.
"""

from __future__ import annotations

import bhtom_async
from bhtom_async import Client, ManualClock, RetrySettings, Secret, Timeouts, errors


async def foundation() -> None:
    token: str = await bhtom_async.login("alice", "secret", base_url="https://bh-tom2.astrolabs.pl")
    async with Client(token, timeout=Timeouts(connect=5), max_retries=2, clock=ManualClock()) as bh:
        faster: Client = bh.with_options(timeout=30.0, max_retries=0)
        config: bhtom_async.ClientConfig = faster.config
        secret: Secret | None = config.token
        retry: RetrySettings = config.retry
        assert secret is None or isinstance(secret.masked(), str)
        assert retry.max_retries >= 0
    try:
        pass
    except errors.RateLimitError as exc:
        wait: float | None = exc.retry_after
        assert wait is None or wait >= 0
    except errors.APIError as exc:
        status: int = exc.status
        hint: str | None = exc.hint
        assert status
        assert hint is not None
