"""The running figures of one upload job: files by status, bytes sent and to send, the rate.

`progress.JobReport` shows them; they are kept apart so they can be checked without a screen.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..upload.events import (
    BytesSent,
    FileFinished,
    FileHeld,
    FileQueued,
    FileSkipped,
    FileStarted,
    JobFinished,
    UploadEvent,
    UploadOutcome,
    UploadSummary,
)
from .output import human_bytes
from .shapes import already_uploaded

if TYPE_CHECKING:
    from ..models.calibration import CalibrationResult
    from .plan import Plan

__all__ = ["RateMeter", "Tally", "calibration_word", "clock_text"]

#: Seconds of sending the rate is averaged over.
RATE_WINDOW = 15.0
#: No rate (nor ETA) is shown before this many seconds of sending: the first bytes only fill
#: socket buffers, and a rate taken from them is wildly high.
RATE_WARMUP = 3.0


def clock_text(seconds: float) -> str:
    """``h:mm:ss``."""
    whole = max(int(seconds), 0)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


class RateMeter:
    """Bytes per second over the last `window` seconds, once `warmup` seconds of data exist."""

    def __init__(
        self,
        *,
        window: float = RATE_WINDOW,
        warmup: float = RATE_WARMUP,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window = window
        self.warmup = warmup
        self._now = now
        self._samples: deque[tuple[float, int]] = deque()
        self._first: float | None = None

    def add(self, total: int) -> None:
        """The running total of bytes sent, now."""
        now = self._now()
        if self._first is None:
            self._first = now
        self._samples.append((now, total))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self.window:
            self._samples.popleft()

    def rate(self) -> float | None:
        """Bytes per second, or None while warming up (or when nothing is being sent)."""
        if self._first is None or len(self._samples) < 2:
            return None
        now = self._now()
        if now - self._first < self.warmup:
            return None
        (start, low), (_, high) = self._samples[0], self._samples[-1]
        span = now - start
        return (high - low) / span if span > 0 else None


class Tally:
    """The running figures of one job: files by status, bytes to send and done, calibrations."""

    def __init__(self, plan: Plan, *, now: Callable[[], float] = time.monotonic) -> None:
        self.plan = plan
        self.to_send = dict(plan.to_send)
        self.total_bytes = plan.bytes_to_send
        self.done_bytes = 0
        self.inflight_bytes = 0
        self._credited: dict[str, int] = {}
        self.counts: dict[str, int] = {}
        self.already = 0
        self.finished = 0
        self.held: set[str] = set()
        self.sending: set[str] = set()
        self.meter = RateMeter(now=now)
        self.calib_expected = 0
        self.calib_counts: dict[str, int] = {}
        self.last_magnitude: dict[str, float] = {}
        self.summary: UploadSummary | None = None
        self._new: set[str] = set()
        self._last: dict[str, UploadOutcome] = {}  # each file's outcome so far
        self._now = now
        self.last_new: float | None = None

    # ---- uploads ------------------------------------------------------------------------------

    def apply(self, event: UploadEvent) -> None:
        """Update the figures for one event."""
        if isinstance(event, FileQueued):
            key = str(event.path)
            if key not in self.to_send:
                self.to_send[key] = event.size
                self.total_bytes += event.size
            if key not in self.plan.to_send and key not in self._new:  # appeared while watching
                self._new.add(key)
                self.last_new = self._now()
        elif isinstance(event, FileHeld):
            self.held.add(str(event.path))
        elif isinstance(event, FileStarted):
            key = str(event.path)
            self.held.discard(key)
            self.sending.add(key)
            self.inflight_bytes -= self._credited.pop(key, 0)
            self._credited[key] = 0
        elif isinstance(event, BytesSent):
            self.meter.add(event.total)
            key = str(event.path)
            if key in self._credited:
                size = self.to_send.get(key, 0)
                credit = max(min(event.sent, size - self._credited[key]), 0)
                self._credited[key] += credit
                self.inflight_bytes += credit
        elif isinstance(event, (FileFinished, FileSkipped)):
            self._outcome(event.outcome, sent=isinstance(event, FileFinished))
        elif isinstance(event, JobFinished):
            self.summary = event.summary
            if event.summary.ok:
                self.done_bytes, self.inflight_bytes = self.total_bytes, 0

    def _outcome(self, outcome: UploadOutcome, *, sent: bool) -> None:
        key = str(outcome.path)
        earlier = self._last.get(key)
        self._last[key] = outcome
        if earlier is not None:  # a watched file handled again: its one count moves to the new outcome
            self._uncount(earlier)
        else:
            self.finished += 1
        self.counts[outcome.status] = self.counts.get(outcome.status, 0) + 1
        if already_uploaded(outcome):
            self.already += 1
        self.held.discard(key)
        self.sending.discard(key)
        self.inflight_bytes -= self._credited.pop(key, 0)
        size = self.to_send.get(key)
        if size is None:
            return
        if outcome.status in ("not_ready", "not_attempted"):
            return  # still to send: the bar stays short of full
        if sent:
            self.done_bytes += size
        else:  # settled without sending (a copy of a stored file, refused before sending...)
            del self.to_send[key]
            self.total_bytes -= size

    def _uncount(self, earlier: UploadOutcome) -> None:
        self.counts[earlier.status] = self.counts.get(earlier.status, 1) - 1
        if already_uploaded(earlier):
            self.already -= 1

    def known(self, outcome: UploadOutcome) -> bool:
        """This very outcome was already counted for its file (announced again, nothing new)."""
        return self._last.get(str(outcome.path)) == outcome

    @property
    def completed_bytes(self) -> int:
        """Bytes of the files to send that have gone out (a file's whole size once answered)."""
        return min(self.done_bytes + self.inflight_bytes, self.total_bytes)

    @property
    def seen(self) -> int:
        """Files found: the plan's, and those that appeared since (watch mode)."""
        return self.plan.entries + len(self._new)

    @property
    def left(self) -> int:
        """Files found that have no outcome yet."""
        return max(self.seen - self.finished, 0)

    def count(self, status: str) -> int:
        return self.counts.get(status, 0)

    def counts_text(self) -> str:
        """``3 uploaded, 2 already uploaded, 0 failed, 0 unknown, 4 left`` (+ any other status)."""
        parts = [f"{self.count('uploaded')} uploaded", f"{self.already} already uploaded"]
        others = self.count("skipped") - self.already
        if others:
            parts.append(f"{others} skipped")
        parts += [f"{self.count('failed')} failed", f"{self.count('unknown')} unknown"]
        for status, label in (
            ("dry_run", "checked (dry run)"),
            ("not_ready", "not ready"),
            ("not_attempted", "not attempted"),
            ("ignored", "ignored"),
        ):
            if self.count(status):
                parts.append(f"{self.count(status)} {label}")
        if self.held:
            parts.append(f"{len(self.held)} waiting to settle")
        parts.append(f"{self.left} left")
        return ", ".join(parts)

    def bytes_text(self, elapsed: float) -> str:
        """``4.2 MiB of 10.0 MiB  1.6 MiB/s  elapsed 0:00:03  ETA 0:00:04``."""
        done, total = self.completed_bytes, self.total_bytes
        text = f"{human_bytes(done)} of {human_bytes(total)}"
        if self.summary is not None:  # the uploads are over: their own time, not the clock's
            took = self.summary.elapsed
            average = self.summary.bytes_sent / took if took > 0 else 0.0
            return f"{text}  avg {human_bytes(average)}/s  elapsed {clock_text(took)}  done"
        rate = self.meter.rate()
        if rate is None or rate <= 0:
            return f"{text}  rate -  elapsed {clock_text(elapsed)}  ETA -"
        eta = (total - done) / rate
        return f"{text}  {human_bytes(rate)}/s  elapsed {clock_text(elapsed)}  ETA {clock_text(eta)}"

    def status_text(self) -> str:
        """A watch's figures: ``12 frames seen, 10 uploaded, 1 waiting to settle, ...; last ...``."""
        parts = [
            f"{self.seen} frames seen",
            f"{self.count('uploaded')} uploaded",
            f"{self.already} already uploaded",
            f"{len(self.held)} waiting to settle",
            f"{self.count('failed')} failed",
            f"{self.count('unknown')} unknown",
        ]
        if self.calib_expected:
            parts.append(f"{self.calib_counts.get('calibrated', 0)} calibrated")
        text = ", ".join(parts)
        if self.last_magnitude:
            text += "; last " + ", ".join(f"{f} {m:.3f}" for f, m in sorted(self.last_magnitude.items()))
        if self.last_new is not None:
            text += f"; newest frame {clock_text(self._now() - self.last_new)} ago"
        return text

    # ---- calibrations -------------------------------------------------------------------------

    def expect_calibration(self) -> None:
        self.calib_expected += 1

    def calibrated(self, result: CalibrationResult) -> str:
        """Count a final calibration result; its status word for lines."""
        status = calibration_word(result)
        self.calib_counts[status] = self.calib_counts.get(status, 0) + 1
        if result.magnitude is not None and result.filter:
            self.last_magnitude[result.filter] = result.magnitude
        return status

    def calibration_text(self) -> str:
        """``3/7 frames: 3 calibrated, 0 failed, 4 waiting; last GaiaSP/V 15.213``."""
        done = sum(self.calib_counts.values())
        waiting = max(self.calib_expected - done, 0)
        text = (
            f"{done}/{self.calib_expected} frames: {self.calib_counts.get('calibrated', 0)} calibrated, "
            f"{self.calib_counts.get('calib-error', 0)} failed, {waiting} waiting"
        )
        pending = self.calib_counts.get("calib-pending", 0)
        if pending:
            text += f", {pending} still pending at the timeout"
        if self.last_magnitude:
            text += "; last " + ", ".join(f"{f} {m:.3f}" for f, m in sorted(self.last_magnitude.items()))
        return text


def calibration_word(result: CalibrationResult) -> str:
    """``calibrated``, ``calib-error``, ``calib-pending`` (still not final), or the status name."""
    name = result.status.name.lower()
    return {"success": "calibrated", "error": "calib-error", "pending": "calib-pending"}.get(
        name, f"calib-{name}"
    )
