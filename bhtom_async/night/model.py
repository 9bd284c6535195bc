"""`Night`: one observing night folded from the uploader's and the poller's events.

The same `UploadEvent` objects the CLI's progress display reads, and the `CalibrationResult` objects
`upload_and_calibrate` (or `bh.calibration.wait`) yields, go in through `Night.feed`; what comes out
is plain data: the frames and their states, the counts, bytes and rate, the calibration lag, the
light-curve points per filter, and which of these changed since a version number (for a page that
receives deltas instead of the whole night). A night can also be built from an upload journal's
rows (`Night.merge_rows`), so a journal that another process writes can be shown as well.

The night knows nothing of web pages or metrics; they read it. It never holds the token.
"""

from __future__ import annotations

import statistics
import time
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import anyio
import attrs

from .._http import RequestTimed
from ..models.calibration import CalibrationResult, CalibrationStatus
from ..poll import PollRound
from ..upload.events import (
    BytesSent,
    FileFinished,
    FileHeld,
    FileQueued,
    FileSkipped,
    FileStarted,
    JobFinished,
    JournalWritten,
    RateLimited,
    UploadEvent,
    UploadOutcome,
    UploadSummary,
)

if TYPE_CHECKING:
    from ..upload.journal import JournalRow

__all__ = ["FRAME_STATES", "Frame", "FrameState", "Night", "NightEvent", "Point", "PollRound", "RequestTimed"]

FrameState = Literal[
    "seen",
    "waiting",
    "sending",
    "uploaded",
    "already_uploaded",
    "calibrated",
    "calib_failed",
    "failed",
    "unknown",
    "skipped",
    "not_ready",
    "not_attempted",
    "dry_run",
    "ignored",
]
#: Every frame state, problems first (the order of tables and reports).
FRAME_STATES: tuple[FrameState, ...] = (
    "failed",
    "unknown",
    "calib_failed",
    "not_ready",
    "not_attempted",
    "sending",
    "waiting",
    "seen",
    "uploaded",
    "already_uploaded",
    "calibrated",
    "dry_run",
    "skipped",
    "ignored",
)
#: What `Night.feed` takes: the uploader's events, the poller's final results, and the client's
#: request timings (`Client(on_request=night.feed)`) and the poller's rounds (``on_round=night.feed``).
NightEvent = UploadEvent | CalibrationResult | RequestTimed | PollRound
#: Seconds without any answer while uploads are in flight before the night says the server is quiet.
STALL_AFTER = 60.0
#: Seconds of sending the upload rate is averaged over.
RATE_WINDOW = 30.0


@attrs.define
class Frame:
    """What the night knows about one file. Times are seconds since the epoch."""

    key: str
    name: str
    size: int = 0
    state: FrameState = "seen"
    data_product_id: int | None = None
    reason: str | None = None
    attempts: int = 0
    uploaded_at: float | None = None
    calibrated_at: float | None = None
    magnitude: float | None = None
    error: float | None = None
    filter: str | None = None
    mjd: float | None = None
    already_uploaded: bool = False
    version: int = 0

    @property
    def is_limit(self) -> bool:
        """The magnitude is an upper limit (a negative error, as the server marks it)."""
        return self.error is not None and self.error < 0

    def to_json(self) -> dict[str, object]:
        """The frame as JSON-ready values (no path beyond the file name, no token)."""
        return {
            "key": self.key,
            "name": self.name,
            "size": self.size,
            "state": self.state,
            "id": self.data_product_id,
            "reason": self.reason,
            "attempts": self.attempts,
            "magnitude": self.magnitude,
            "error": None if self.error is None else abs(self.error),
            "limit": self.is_limit,
            "filter": self.filter,
            "mjd": self.mjd,
        }


@attrs.frozen
class Point:
    """One light-curve point: a calibrated frame's magnitude at its MJD, in its filter."""

    index: int
    name: str
    data_product_id: int | None
    filter: str
    mjd: float
    magnitude: float
    error: float
    limit: bool

    def to_json(self) -> dict[str, object]:
        return {
            "index": self.index,
            "name": self.name,
            "id": self.data_product_id,
            "filter": self.filter,
            "mjd": self.mjd,
            "mag": self.magnitude,
            "err": self.error,
            "limit": self.limit,
        }


_UPLOAD_STATES: dict[str, FrameState] = {
    "uploaded": "uploaded",
    "failed": "failed",
    "unknown": "unknown",
    "dry_run": "dry_run",
    "not_ready": "not_ready",
    "not_attempted": "not_attempted",
    "ignored": "ignored",
    "skipped": "skipped",
}
_JOURNAL_STATES: dict[str, FrameState] = {
    "uploaded": "uploaded",
    "failed": "failed",
    "unknown": "unknown",
    "sending": "sending",
    "changed": "seen",
}


class Night:
    """A night's uploads and calibrations, folded from events; see the module docstring.

    Args:
        title: what the page and report call the night (a folder, a journal).
        now: the wall clock, seconds since the epoch (tests bring their own).

    A night is not thread-safe: feed it on the event loop that serves it (the uploader's
    callbacks run there).

    Example:
        >>> night = Night("tonight")
        >>> job = upload_and_calibrate(bh, "night/", options, on_event=night.feed)  # doctest: +SKIP
        >>> async with job as results:                                               # doctest: +SKIP
        ...     async for result in results:
        ...         night.feed(result)
        >>> night.counts()["calibrated"]                                            # doctest: +SKIP
    """

    def __init__(self, title: str = "", *, now: Callable[[], float] = time.time) -> None:
        self.title = title
        self._now = now
        self.started = now()
        self.frames: dict[str, Frame] = {}
        self.points: list[Point] = []
        self.bytes_sent = 0
        self.attempts = 0
        self.reconciled = 0
        self.lags: list[float] = []
        self.summary: UploadSummary | None = None
        self.version = 0
        self.last_answer: float | None = None
        self.server_note: str | None = None
        #: Seconds of each request attempt by ``(method path, status or "error")``.
        self.requests: dict[tuple[str, ...], list[float]] = {}
        self.request_retries = 0
        #: Seconds of each journal write by ``(operation,)``.
        self.journal_writes: dict[tuple[str, ...], list[float]] = {}
        self.poll_rounds = 0
        self.poll_rounds_failed = 0
        self.poll_pending = 0
        self.poll_failing_in_a_row = 0
        #: Seconds of each job-wide pause after a 429.
        self.pauses: list[float] = []
        self._by_id: dict[int, str] = {}
        self._samples: deque[tuple[float, int]] = deque()
        self._wakeup: anyio.Event | None = None

    # ---- folding ------------------------------------------------------------------------------

    def feed(self, event: NightEvent) -> None:
        """Fold one event: an `UploadEvent` from the uploader or a final `CalibrationResult`."""
        if isinstance(event, CalibrationResult):
            self._calibrated(event)
        elif isinstance(event, RequestTimed):
            # Any answer, even an error status, shows the server is there.
            if event.status is not None:
                self.last_answer = self._now()
            key = (f"{event.method} {event.path}", "error" if event.status is None else str(event.status))
            self.requests.setdefault(key, []).append(event.seconds)
            self.request_retries += int(event.attempt > 1)
        elif isinstance(event, PollRound):
            self.poll_rounds += 1
            self.poll_rounds_failed += int(event.failed)
            self.poll_pending = event.pending
            failing = self.poll_failing_in_a_row
            self.poll_failing_in_a_row = failing + 1 if event.failed else 0
            if event.failed or failing:
                self._touch()
        elif isinstance(event, JournalWritten):
            self.journal_writes.setdefault((event.operation,), []).append(event.seconds)
        elif isinstance(event, RateLimited):
            self.pauses.append(event.seconds)
            self._touch()
        elif isinstance(event, FileQueued):
            frame = self._frame(event.path)
            frame.size = event.size
            if frame.state in ("seen", "waiting"):
                self._set(frame, "seen")
        elif isinstance(event, FileHeld):
            frame = self._frame(event.path)
            frame.size = event.size
            self._set(frame, "waiting")
        elif isinstance(event, FileStarted):
            self._set(self._frame(event.path), "sending")
        elif isinstance(event, BytesSent):
            self.bytes_sent = event.total
            self._samples.append((self._now(), event.total))
            while len(self._samples) > 2 and self._samples[-1][0] - self._samples[1][0] >= RATE_WINDOW:
                self._samples.popleft()
            self._touch()
        elif isinstance(event, (FileFinished, FileSkipped)):
            self._outcome(event.outcome, answered=isinstance(event, FileFinished))
        elif isinstance(event, JobFinished):
            self.summary = event.summary
            self.bytes_sent = event.summary.bytes_sent
            self._touch()

    def merge_rows(self, rows: Iterable[JournalRow]) -> None:
        """Fold an upload journal's rows (any `UploadJournal`'s ``rows()``): the latest row per path wins."""
        for row in sorted(rows, key=lambda r: r.id):
            frame = self._frame(Path(row.path), name=row.name)
            state = _JOURNAL_STATES.get(row.state, "seen")
            if frame.state in ("calibrated", "calib_failed") and state == "uploaded":
                state = frame.state
            if row.data_product_id is not None:
                frame.data_product_id = row.data_product_id
                self._by_id[row.data_product_id] = frame.key
            changed = (frame.size, frame.reason, frame.attempts) != (row.size, row.reason, row.attempts)
            frame.size, frame.reason, frame.attempts = row.size, row.reason, row.attempts
            frame.uploaded_at = row.sent_at if state == "uploaded" else frame.uploaded_at
            if changed or frame.state != state:
                self._set(frame, state, force=True)

    def _frame(self, path: Path, name: str | None = None) -> Frame:
        key = str(path)
        frame = self.frames.get(key)
        if frame is None:
            frame = self.frames[key] = Frame(key, name or path.name)
            self._mark(frame)
        return frame

    def _outcome(self, outcome: UploadOutcome, *, answered: bool) -> None:
        frame = self._frame(outcome.path)
        frame.size = outcome.size or frame.size
        frame.reason = outcome.reason
        frame.attempts = outcome.attempts
        self.attempts += outcome.attempts
        self.reconciled += int(outcome.reconciled)
        if answered:
            self.last_answer = self._now()
        if outcome.data_product_id is not None:
            frame.data_product_id = outcome.data_product_id
            self._by_id[outcome.data_product_id] = frame.key
        state = _UPLOAD_STATES[outcome.status]
        if outcome.status == "skipped" and outcome.data_product_id is not None:
            state = "already_uploaded"
            frame.already_uploaded = True
        if state in ("uploaded", "already_uploaded"):
            frame.uploaded_at = self._now()
            if frame.state in ("calibrated", "calib_failed"):
                state = frame.state  # the result came first (a re-run's poll of a stored frame)
        self._set(frame, state)

    def _calibrated(self, result: CalibrationResult) -> None:
        self.last_answer = self._now()
        key = self._by_id.get(result.dataproduct_id) if result.dataproduct_id is not None else None
        if key is None:
            name = result.filename or f"id {result.dataproduct_id}"
            frame = self._frame(Path(name))
            if result.dataproduct_id is not None:
                frame.data_product_id = result.dataproduct_id
                self._by_id[result.dataproduct_id] = frame.key
        else:
            frame = self.frames[key]
        if result.status is CalibrationStatus.SUCCESS:
            state: FrameState = "calibrated"
            frame.reason = None
        elif result.status is CalibrationStatus.ERROR:
            state = "calib_failed"
            frame.reason = result.status_message or result.message
        else:  # still pending at the poller's timeout, or a status this version does not know
            state = frame.state
            frame.reason = result.message or result.status_message
        frame.magnitude, frame.error = result.magnitude, result.error
        frame.filter, frame.mjd = result.filter, result.mjd
        frame.calibrated_at = self._now()
        if frame.uploaded_at is not None and state == "calibrated":
            self.lags.append(max(frame.calibrated_at - frame.uploaded_at, 0.0))
        if state == "calibrated" and None not in (result.magnitude, result.mjd):
            assert result.magnitude is not None
            assert result.mjd is not None
            point = Point(
                index=len(self.points),
                name=frame.name,
                data_product_id=frame.data_product_id,
                filter=result.filter or "?",
                mjd=result.mjd,
                magnitude=result.magnitude,
                error=abs(result.error or 0.0),
                limit=result.is_limit,
            )
            self.points.append(point)
        self._set(frame, state, force=True)

    def _set(self, frame: Frame, state: FrameState, *, force: bool = False) -> None:
        if frame.state != state or force:
            frame.state = state
            self._mark(frame)

    def _mark(self, frame: Frame) -> None:
        self.version += 1
        frame.version = self.version
        self._touch(bump=False)

    def _touch(self, *, bump: bool = True) -> None:
        if bump:
            self.version += 1
        if self._wakeup is not None:
            self._wakeup.set()
            self._wakeup = None

    # ---- reading ------------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Frames by state (every `FrameState` is a key; ``uploaded`` is stored and still waiting
        for its calibration), plus ``seen_total`` (every frame) and ``uploaded_total`` (stored in
        this run or a journal's, calibrated or not)."""
        found: dict[str, int] = dict.fromkeys(FRAME_STATES, 0)
        for frame in self.frames.values():
            found[frame.state] += 1
        found["seen_total"] = len(self.frames)
        found["uploaded_total"] = found["uploaded"] + found["calibrated"] + found["calib_failed"]
        return found

    def rate(self) -> float | None:
        """Bytes per second over the last half minute of sending, or None before two samples."""
        if len(self._samples) < 2:
            return None
        (start, low), (end, high) = self._samples[0], self._samples[-1]
        return (high - low) / (end - start) if end > start else None

    def lag(self) -> dict[str, float | None]:
        """Calibration lag (seconds from the upload's answer to the final result): median, last, max."""
        if not self.lags:
            return {"median": None, "last": None, "max": None}
        return {"median": statistics.median(self.lags), "last": self.lags[-1], "max": max(self.lags)}

    def note_server(self, note: str | None) -> None:
        """Say (or, with None, stop saying) that the server cannot be reached; shown with `stalled`."""
        if note != self.server_note:
            self.server_note = note
            self._touch()

    def stalled(self) -> str | None:
        """A sentence when the server is said unreachable, the poller's rounds keep failing, or
        uploads are in flight and the server has not answered for `STALL_AFTER` seconds."""
        if self.server_note is not None:
            return self.server_note
        if self.poll_failing_in_a_row:
            rounds = self.poll_failing_in_a_row
            return (
                f"the BHTOM server is not answering the calibration poller ({rounds} round"
                f"{'s' if rounds > 1 else ''} in a row failed; it keeps trying)"
            )
        sending = sum(1 for f in self.frames.values() if f.state == "sending")
        if not sending or self.summary is not None:
            return None
        since = self.last_answer if self.last_answer is not None else self.started
        quiet = self._now() - since
        if quiet < STALL_AFTER:
            return None
        return f"no answer from the BHTOM server for {quiet:.0f} s ({sending} uploads waiting)"

    def header(self) -> dict[str, object]:
        """The small, whole-night part: counts, bytes, rate, lag, verdict, the server's silence."""
        return {
            "title": self.title,
            "started": self.started,
            "now": self._now(),
            "counts": self.counts(),
            "bytes_sent": self.bytes_sent,
            "rate": self.rate(),
            "attempts": self.attempts,
            "rate_limit_pauses": len(self.pauses),
            "rate_limit_seconds": sum(self.pauses),
            "lag": self.lag(),
            "points": len(self.points),
            "verdict": None if self.summary is None else self.summary.verdict,
            "stalled": self.stalled(),
            "version": self.version,
        }

    def to_json(self) -> dict[str, object]:
        """The whole night: `header` plus every frame and light-curve point."""
        return {
            **self.header(),
            "frames": [f.to_json() for f in self.frames.values()],
            "light_curve": [p.to_json() for p in self.points],
        }

    def changes_since(self, version: int, points_seen: int) -> dict[str, object]:
        """What changed after `version`: the header, the frames changed, the points after `points_seen`."""
        frames = [f.to_json() for f in self.frames.values() if f.version > version]
        return {
            **self.header(),
            "frames": frames,
            "light_curve": [p.to_json() for p in self.points[points_seen:]],
        }

    async def changed(self, version: int) -> None:
        """Return once the night's version is past `version` (at once if it already is)."""
        while self.version <= version:
            if self._wakeup is None:
                self._wakeup = anyio.Event()
            await self._wakeup.wait()

    def problems_first(self) -> list[Frame]:
        """The frames, failures and unknowns first, then by name (the report's table order)."""
        order = {state: n for n, state in enumerate(FRAME_STATES)}
        return sorted(self.frames.values(), key=lambda f: (order[f.state], f.name))
