"""A token bucket: a rate limit shared by tasks (upload requests and bytes, poller requests)."""

from __future__ import annotations

import anyio

from ._clock import Clock

__all__ = ["TokenBucket"]


class TokenBucket:
    """Allows `rate` units per second on average, in bursts of at most `burst` units.

    A request larger than the bucket is allowed by going into debt: the caller waits until the
    debt is paid back, so the long-run rate still holds. Waiters are served one at a time, in order.

    Args:
        rate: units per second (must be positive).
        burst: bucket size in units (default: one second's worth).
        clock: time source (tests pass `ManualClock`).
    """

    def __init__(self, rate: float, *, burst: float | None = None, clock: Clock) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, not {rate!r}")
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else rate)
        self._clock = clock
        self._tokens = self.burst
        self._stamp = clock.monotonic()
        self._lock = anyio.Lock()

    async def acquire(self, amount: float = 1.0) -> None:
        """Take `amount` units, waiting (on the clock) as long as the rate requires."""
        async with self._lock:
            now = self._clock.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= amount
            if self._tokens < 0:
                await self._clock.sleep(-self._tokens / self.rate)
