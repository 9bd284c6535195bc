"""Holds back files that are still being written, and lets each go once it has been still.

A file is settled when its size and modification time have not changed for `settle_time`
seconds: at once if its modification time is already that old, else after we have seen it
unchanged over that long. A file that keeps changing is given up on after `max_wait` seconds
and reported as not ready. The gate re-checks its files in one worker-thread call per round, so
a night of frames costs one `stat` each, not a task each.

Files are written in real time, so the gate measures real time (`RealTime`), not the job's
injectable clock: a test clock that skips ahead must not make a growing file look still.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import anyio.to_thread
import attrs

from .._clock import Clock, SystemClock
from .discovery import VANISHED, Fingerprint, Found, fingerprint_of

__all__ = ["NotReady", "RealTime", "SettleGate"]

#: The real clock the gate watches files with.
RealTime = SystemClock

#: Shortest wait between two checks of held files.
MIN_RECHECK = 0.05


@attrs.frozen
class NotReady:
    """`path` kept changing for longer than the gate would wait, or vanished before it settled."""

    found: Found
    reason: str
    vanished: bool = False


@attrs.define
class _Held:
    found: Found
    seen: Fingerprint
    still_since: float
    held_since: float


class SettleGate:
    """Passes files on to `release` once settled; reports the ones it gives up on to `gave_up`.

    Args:
        release: awaited with each settled file (the uploader queues it).
        settle_time: seconds a file must have been unchanged.
        max_wait: seconds a file may be held before it is reported as not ready.
        gave_up: called with each file that never settled.
        clock: real time by default; unit tests pass one whose wall time matches their files.
    """

    def __init__(
        self,
        release: Callable[[Found], Awaitable[None]],
        *,
        settle_time: float,
        max_wait: float,
        gave_up: Callable[[NotReady], None],
        clock: Clock | None = None,
    ) -> None:
        self._release = release
        self._settle = settle_time
        self._max_wait = max_wait
        self._clock: Clock = clock or RealTime()
        self._gave_up = gave_up
        self._wall: Callable[[], float] = self._clock.time
        self._held: dict[str, _Held] = {}
        self._changed = anyio.Event()
        self._closed = False

    @property
    def waiting(self) -> int:
        """Files held back right now."""
        return len(self._held)

    def is_settled(self, found: Found) -> bool:
        """Whether a file just found needs no waiting (its last change is older than the settle time)."""
        age = self._wall() - found.fingerprint.mtime_ns / 1e9
        return age >= self._settle

    def hold(self, found: Found) -> None:
        """Hold `found` until it settles (replacing an earlier hold of the same path)."""
        now = self._clock.monotonic()
        self._held[found.fingerprint.path] = _Held(found, found.fingerprint, now, now)
        self._changed.set()

    def close(self) -> None:
        """No more files will come: `run` returns once the held ones are settled or given up."""
        self._closed = True
        self._changed.set()

    def drop_all(self) -> list[Found]:
        """Stop holding every file (the job stopped); returns them."""
        dropped = [h.found for h in self._held.values()]
        self._held.clear()
        self._changed.set()
        return dropped

    async def run(self) -> None:
        """Re-check held files until none is left and `close` was called."""
        while True:
            if not self._held:
                if self._closed:
                    return
                await self._changed.wait()
                self._changed = anyio.Event()
                continue
            await self._check()
            if self._held:
                with anyio.move_on_after(self._next_wait()):
                    # A newly held file or a drop wakes the gate early.
                    await self._changed.wait()
                self._changed = anyio.Event()

    async def _check(self) -> None:
        snapshot = list(self._held.values())
        paths = [Path(h.found.fingerprint.path) for h in snapshot]
        stats = await anyio.to_thread.run_sync(_stat_all, paths)
        now = self._clock.monotonic()
        for held, info in zip(snapshot, stats, strict=True):
            key = held.found.fingerprint.path
            if self._held.get(key) is not held:
                continue  # held again (it changed) or dropped while the stats were taken
            if info is None:
                del self._held[key]
                self._gave_up(NotReady(held.found, VANISHED, vanished=True))
                continue
            current = fingerprint_of(Path(key), info)
            if not current.same_content_as(held.seen):
                held.seen, held.still_since = current, now
            age = self._wall() - current.mtime_ns / 1e9
            if now - held.still_since >= self._settle or (age >= self._settle and held.seen == current):
                del self._held[key]
                await self._release(attrs.evolve(held.found, fingerprint=current))
            elif now - held.held_since >= self._max_wait:
                del self._held[key]
                reason = f"still being written after {self._max_wait:g} s; re-run to upload it"
                self._gave_up(NotReady(held.found, reason))

    def _next_wait(self) -> float:
        now = self._clock.monotonic()
        due = min(
            min(h.still_since + self._settle, h.held_since + self._max_wait) for h in self._held.values()
        )
        return max(MIN_RECHECK, min(due - now, self._settle))


def _stat_all(paths: list[Path]) -> list[os.stat_result | None]:
    found: list[os.stat_result | None] = []
    for path in paths:
        try:
            found.append(path.stat())
        except OSError:
            found.append(None)
    return found
