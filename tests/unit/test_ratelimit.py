"""`_ratelimit.TokenBucket`: the rate limit shared by upload workers and the poller."""

from __future__ import annotations

import pytest

from bhtom_async._ratelimit import TokenBucket
from bhtom_async.testing import ManualClock

pytestmark = pytest.mark.anyio


async def test_token_bucket_spaces_requests_at_the_rate() -> None:
    """Five requests at 10/s with a burst of 1 wait 0.1 s each after the first."""
    clock = ManualClock()
    bucket = TokenBucket(10, burst=1, clock=clock)
    for _ in range(5):
        await bucket.acquire()
    assert clock.monotonic() == pytest.approx(0.4)


async def test_token_bucket_lets_large_chunks_through_in_debt() -> None:
    """A chunk bigger than the bucket passes, and the debt delays the next one at the average rate."""
    clock = ManualClock()
    bucket = TokenBucket(1000, clock=clock)
    await bucket.acquire(3000)
    await bucket.acquire(1000)
    assert clock.monotonic() == pytest.approx(3.0)


async def test_token_bucket_idle_time_does_not_grow_the_burst() -> None:
    """After a minute idle at 10/s with a burst of 2, 2 requests pass at once; the rest wait 0.1 s each."""
    clock = ManualClock()
    bucket = TokenBucket(10, burst=2, clock=clock)
    clock.advance(60)  # 600 tokens' worth of idle time, capped at the burst
    start = clock.monotonic()
    for _ in range(12):
        await bucket.acquire()
    assert clock.monotonic() - start == pytest.approx(1.0)
    assert len(clock.sleeps) == 10


def test_token_bucket_refuses_non_positive_rate() -> None:
    """A rate of zero would wait forever; it is refused."""
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(0, clock=ManualClock())
