"""The one retry policy, built on tenacity.

Idempotent calls (every list and read, even though the server wants POST for them) retry on
connection errors, timeouts, dropped connections and 408/429/502/503/504. Non-idempotent calls
(upload, create, update, delete, restart) retry only when nothing can have reached the server: a
connect error, or a 429 (the server refused before doing anything). Waits back off exponentially
with full jitter; a ``Retry-After`` overrides the wait and pauses every request of the client
through one shared `PauseGate`.
"""

from __future__ import annotations

import email.utils
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import tenacity

from ._clock import Clock
from ._config import RetrySettings
from .errors import APIError, BhtomError, RateLimitError, TransportError

__all__ = ["RETRYABLE_STATUSES", "PauseGate", "backoff", "call_with_retries", "parse_retry_after"]

T = TypeVar("T")
RETRYABLE_STATUSES = frozenset({408, 429, 502, 503, 504})
logger = logging.getLogger("bhtom_async")


class PauseGate:
    """Holds every request of one client until a server-requested pause has passed."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._resume_at = 0.0

    @property
    def resume_at(self) -> float:
        """Monotonic time before which no request starts."""
        return self._resume_at

    def pause_for(self, seconds: float) -> None:
        """Hold all requests for `seconds` from now (extends, never shortens, a pause)."""
        self._resume_at = max(self._resume_at, self._clock.monotonic() + seconds)

    async def wait(self) -> None:
        """Return once no pause is in force."""
        while (remaining := self._resume_at - self._clock.monotonic()) > 0:
            await self._clock.sleep(remaining)


def backoff(
    attempt: int,
    *,
    initial: float,
    maximum: float,
    factor: float = 2.0,
    rng: random.Random | None = None,
    retry_after: float | None = None,
) -> float:
    """Seconds to wait before retry number `attempt` (1 is the first retry): the one backoff.

    A server's `retry_after` wins. Otherwise the wait grows as ``initial * factor**(attempt-1)``
    up to `maximum`; with `rng` it is drawn uniformly between `initial` and that ceiling (full
    jitter), so clients that failed together do not return together. The transport, the
    uploader's re-sends, the reconciler's second look and the poller's rounds all wait this way.
    """
    if retry_after is not None:
        return max(0.0, retry_after)
    ceiling = min(maximum, initial * factor ** max(0, attempt - 1))
    if rng is None:
        return ceiling
    return rng.uniform(initial, max(initial, ceiling))


def parse_retry_after(value: str | None, *, now_wall: float) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date; None if absent or bad."""
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now_wall)


def is_retryable(exc: BaseException, *, idempotent: bool) -> bool:
    """Whether the policy may send the same request again after `exc`."""
    if isinstance(exc, TransportError):
        return idempotent or not exc.request_sent
    if isinstance(exc, RateLimitError):
        return True
    if isinstance(exc, APIError):
        return idempotent and exc.status in RETRYABLE_STATUSES
    return False


async def call_with_retries(
    attempt: Callable[[], Awaitable[T]],
    *,
    settings: RetrySettings,
    idempotent: bool,
    clock: Clock,
    gate: PauseGate,
    rng: random.Random | None = None,
    describe: str = "request",
) -> T:
    """Run `attempt` under the policy; the last error passes through unchanged when retries end.

    A ``Retry-After`` longer than `settings.retry_after_cap` is not slept: the `RateLimitError`
    is raised at once so the caller can decide.
    """
    jitter = rng or random.Random()
    started = clock.monotonic()

    def should_retry(state: tenacity.RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        if exc is None or not is_retryable(exc, idempotent=idempotent):
            return False
        if isinstance(exc, RateLimitError) and exc.retry_after is not None:
            if exc.retry_after > settings.retry_after_cap:
                return False
            gate.pause_for(exc.retry_after)
        return True

    def should_stop(state: tenacity.RetryCallState) -> bool:
        if state.attempt_number > settings.max_retries:
            return True
        return clock.monotonic() - started >= settings.max_total

    def next_wait(state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        return backoff(
            state.attempt_number,
            initial=settings.wait_initial,
            maximum=settings.wait_max,
            rng=jitter,
            retry_after=exc.retry_after if isinstance(exc, RateLimitError) else None,
        )

    def log_retry(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        logger.info("%s failed (%s); retry %d in %.2fs", describe, _short(exc), state.attempt_number, wait)

    retrying = tenacity.AsyncRetrying(
        retry=should_retry,
        stop=should_stop,
        wait=next_wait,
        sleep=clock.sleep,
        before_sleep=log_retry,
        reraise=True,
    )
    async for try_ in retrying:
        with try_:
            await gate.wait()
            return await attempt()
    raise AssertionError("unreachable: tenacity either returns or re-raises")  # pragma: no cover


def _short(exc: BaseException | None) -> str:
    if isinstance(exc, APIError):
        return f"{exc.status} {exc.message}"
    if isinstance(exc, BhtomError):
        return type(exc).__name__
    return repr(exc)
