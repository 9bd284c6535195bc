"""Ctrl-C and SIGTERM during a job: stop gracefully, then for good, and remember which signal came.

The first SIGINT or SIGTERM calls the job's `stop` (no new uploads; those in flight go on) and
gives them `grace` seconds; then, or at a second signal, the job's cancel scope is cancelled and
the uploads still in flight are journaled ``unknown`` by the library (a re-run reconciles them).
The command then prints its summary and exits 128 + the signal number (130, 143).
"""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator, Callable

import anyio

__all__ = ["DEFAULT_GRACE", "Interruption", "signal_name"]

#: Seconds the uploads in flight get to finish after the first signal.
DEFAULT_GRACE = 10.0
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interruption:
    """Watches for SIGINT/SIGTERM while a job runs (run `watch` in the job's task group).

    Args:
        scope: cancelled after the grace time, or at a second signal.
        stop: the graceful first step (`Uploader.stop`); called once.
        grace: seconds between `stop` and cancelling `scope`.
        done: set when the uploads have ended; the scope is then cancelled without waiting out
            the grace time (what is left, such as a calibration wait, is not waited for).
        announce: told ``(signum, grace)`` when the first signal arrives.
    """

    def __init__(
        self,
        scope: anyio.CancelScope,
        *,
        grace: float = DEFAULT_GRACE,
        done: anyio.Event | None = None,
        announce: Callable[[int, float], None] | None = None,
    ) -> None:
        self.scope = scope
        self.grace = grace
        self.done = done or anyio.Event()
        self.announce = announce
        self.stop: Callable[[], None] | None = None
        self.signum: int | None = None

    async def watch(self) -> None:
        """Wait for the signals (until the task group is cancelled)."""
        try:
            with anyio.open_signal_receiver(*SIGNALS) as signals:
                await self._serve(signals)
        except (NotImplementedError, RuntimeError, ValueError):
            return  # no signal handling here (not the main thread, or a platform without it)

    async def _serve(self, signals: AsyncIterator[int]) -> None:
        async for signum in signals:
            self.signum = int(signum)
            if self.announce is not None:
                self.announce(self.signum, self.grace)
            if self.stop is not None:
                self.stop()
                with anyio.move_on_after(self.grace):
                    await self._second_signal_or_done(signals)
            self.scope.cancel()
            return

    async def _second_signal_or_done(self, signals: AsyncIterator[int]) -> None:
        async with anyio.create_task_group() as tg:

            async def second() -> None:
                async for _ in signals:
                    break
                tg.cancel_scope.cancel()

            async def done() -> None:
                await self.done.wait()
                tg.cancel_scope.cancel()

            tg.start_soon(second)
            tg.start_soon(done)


def signal_name(signum: int) -> str:
    """``SIGINT``, ``SIGTERM``..."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"
