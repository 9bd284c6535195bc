"""Time, injected: retry waits, pollers and schedulers read and sleep through a `Clock`."""

from __future__ import annotations

import time
from typing import Protocol

import anyio

__all__ = ["SYSTEM_CLOCK", "Clock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    """What the library needs of time. Units are seconds."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (for deadlines and waits)."""
        ...

    def time(self) -> float:
        """Wall-clock seconds since the epoch (for HTTP-date ``Retry-After``)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait this many seconds."""
        ...


class SystemClock:
    """The real clock: `time.monotonic`, `time.time` and `anyio.sleep`."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(max(0.0, seconds))


SYSTEM_CLOCK = SystemClock()


class ManualClock:
    """A clock for tests: `sleep` advances time at once instead of waiting.

    Every sleep is recorded in `sleeps`, so a test can assert on the waits a retry policy or
    poller chose without spending them. `sleep` still yields to the event loop once, so other
    tasks run in between.

    Example:
        >>> clock = ManualClock(start=100.0)
        >>> clock.advance(5); clock.monotonic()
        105.0
    """

    def __init__(self, start: float = 0.0, *, wall_start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._wall_offset = wall_start - start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self._now

    def time(self) -> float:
        return self._now + self._wall_offset

    def advance(self, seconds: float) -> None:
        """Move time forward by `seconds`."""
        self._now += max(0.0, seconds)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)
        await anyio.lowlevel.checkpoint()
