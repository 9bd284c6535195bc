"""When the uploader's next request may start: fail fast, the server's 429 pauses, rate caps.

No upload starts before the cheap checks on the main host have answered (`preflight`): when they
passed, every worker starts at once; when they could not tell, requests go one at a time until
one upload has been answered (the probe), so a refusal every file would get (a bad token, an
unknown target) still costs exactly one upload request. A 429 that
outlasts the client's own retries pauses every worker of the job, not only the one that got it,
and the pauses are counted against `JobOptions.rate_limit_budget`: past it the job stops rather
than wait on a server that keeps refusing. The optional caps on requests and bytes per second
(`max_requests_per_second`, `max_bytes_per_second`) are token buckets shared by all workers.
Re-sends back off; every wait is computed by `_retry.backoff`, the one backoff.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio

from .._clock import Clock
from .._config import RetrySettings
from .._ratelimit import TokenBucket
from .._retry import backoff
from ..errors import RateLimitError
from .options import JobOptions

__all__ = ["JobThrottle"]


class JobThrottle:
    """Strictly private: the probe, the job-wide pause gate and its budget, the caps and backoff.

    Args:
        job: the job's settings (rate caps, `rate_limit_budget`).
        clock: the job's time source.
        retry: the client's retry policy, read when a wait is computed (the client is open then).
    """

    def __init__(self, job: JobOptions, clock: Clock, retry: Callable[[], RetrySettings]) -> None:
        self._clock = clock
        self._retry = retry
        self._budget = job.rate_limit_budget
        rps, bps = job.max_requests_per_second, job.max_bytes_per_second
        self._requests = TokenBucket(rps, burst=1, clock=clock) if rps else None
        self._bytes = TokenBucket(bps, clock=clock) if bps else None
        self._rng = random.Random()
        self._paused = 0.0  # seconds the job has been held by the server's 429s
        self._resume_at = 0.0
        self._charged_until = 0.0  # the end of the time counted in `_paused`
        self._throttled = 0
        self._checked = anyio.Event()  # the cheap checks answered, or the job is stopping
        self._answered = anyio.Event()  # the probe's answer came, or it is not needed
        self._probe_lock = anyio.Lock()

    def checks_answered(self, *, one_at_a_time: bool) -> None:
        """Let uploads start: all at once, or (the checks could not tell) the first one alone."""
        if not one_at_a_time:
            self._answered.set()
        self._checked.set()

    @asynccontextmanager
    async def probe(self) -> AsyncIterator[None]:
        """Wait for the checks; then run the body at once, or alone until one body has run to its end.

        Enter it around each send attempt, and check whether the job is stopping inside it:
        the job may have stopped while this one waited.
        """
        await self._checked.wait()
        if not self._answered.is_set():
            async with self._probe_lock:
                if not self._answered.is_set():
                    yield
                    self._answered.set()
                    return
        yield

    def end_probe(self) -> None:
        """Let every request through at once (the job is stopping: waiters go to find that out)."""
        self._answered.set()
        self._checked.set()

    @property
    def paused_seconds(self) -> float:
        """Seconds the job has been held by the server's 429s so far."""
        return self._paused

    @property
    def byte_pacer(self) -> Callable[[float], Awaitable[None]] | None:
        """What a request body awaits with each chunk's size, or None without a byte cap."""
        return self._bytes.acquire if self._bytes is not None else None

    async def before_request(self) -> float:
        """Wait out a pause in force, then for the request cap's next slot; returns the time then."""
        while (left := self._resume_at - self._clock.monotonic()) > 0:
            await self._clock.sleep(left)
        if self._requests is not None:
            await self._requests.acquire(1)
        return self._clock.monotonic()

    def pause_after(self, exc: RateLimitError, started: float) -> str | None:
        """Hold every worker after a 429 that ended a request begun at `started`.

        The time that request spent in the client's own 429 retries counts against the budget
        too (overlapping workers count once). Returns None once the pause is in force, or why
        there is none because it would pass the budget (then the job should stop).
        """
        self._charge(started, self._clock.monotonic())
        policy = self._retry()
        self._throttled += 1
        wait = backoff(
            self._throttled,
            initial=policy.wait_initial,
            maximum=policy.wait_max,
            rng=self._rng,
            retry_after=exc.retry_after,
        )
        if exc.retry_after is not None and exc.retry_after > self._budget:
            return (
                f"the server asked us to wait {exc.retry_after:g} s (Retry-After), more than the "
                f"whole 429 budget (rate_limit_budget, {self._budget:g} s)"
            )
        # A 429 without Retry-After is retried by the client itself before the job hears of it:
        # keep room for those retries of the next request, so the budget holds as a promise.
        room = 0.0 if exc.retry_after is not None else _client_retries(policy)
        if self._paused + wait + room > self._budget:
            more = f"{wait:.3g} s more" + (
                f" (and up to {room:.3g} s of the client's own retries)" if room else ""
            )
            return (
                f"the server kept answering 429 (slow down): {self._paused:.3g} s of waiting so far and "
                f"{more} would pass the 429 budget (rate_limit_budget, {self._budget:g} s)"
            )
        self._pause(wait)
        return None

    async def back_off(self, attempt: int) -> None:
        """Sleep before re-sending a file for the `attempt`-th time."""
        policy = self._retry()
        await self._clock.sleep(
            backoff(attempt, initial=policy.wait_initial, maximum=policy.wait_max, rng=self._rng)
        )

    def _pause(self, seconds: float) -> None:
        """Hold every worker for `seconds` (extends, never shortens, a pause in force)."""
        now = self._clock.monotonic()
        self._resume_at = max(self._resume_at, now + seconds)
        self._charge(now, self._resume_at)

    def _charge(self, start: float, end: float) -> None:
        """Count [start, end] as time held by 429s; time already counted is not counted twice."""
        start = max(start, self._charged_until)
        if end > start:
            self._paused += end - start
            self._charged_until = end


def _client_retries(policy: RetrySettings) -> float:
    """The longest the client's own retries of one request may wait (each at its backoff's ceiling)."""
    waits = (
        backoff(n, initial=policy.wait_initial, maximum=policy.wait_max)
        for n in range(1, policy.max_retries + 1)
    )
    return min(policy.max_total, sum(waits))
