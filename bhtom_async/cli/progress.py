"""What `bhtom upload` says while it runs, to a terminal, a log, or a program.

One `JobReport` takes the uploader's events (and, with ``--wait``, each calibration result) and
sends them to:

- the screen: on a terminal, a live display (a bar of the bytes to send with rate, elapsed time
  and ETA, and the file counts; a second bar for calibrations with ``--wait``) above which each
  finished file gets a line; off a terminal (cron, a pipe), one timestamped plain line per event
  and no box drawing; nothing but errors and the summary with ``-q``; nothing on stdout when it
  carries machine output (``--json``, ``-o csv``);
- a log file (``--log-file``): the timestamped plain lines, always, whatever the screen shows;
- JSON lines (``-o jsonl`` / ``--json-lines``): one object per event on stdout (docs/cli.md).

The figures are `tally.Tally`'s. The totals count only the bytes that will be sent: the plan
(`plan.Plan`) says which files the journal holds as uploaded already, and the events correct it
where the job decides otherwise. A file counts toward the bar as its bytes go out and is full
once its upload has an answer; files left unsent (not ready, not attempted) keep the bar short
of full, truthfully.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

import click

from ..upload.events import (
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
from .output import human_bytes, json_line, printable, timestamp
from .shapes import calibration_json, outcome_json
from .signals import signal_name
from .tally import Tally

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

    from ..models.calibration import CalibrationResult
    from .plan import Plan

__all__ = ["JobReport", "calibration_detail", "outcome_detail"]

#: The live display is redrawn at most this often on events (and every half second anyway).
REDRAW = 0.1


def calibration_detail(result: CalibrationResult) -> str:
    """``id 5: GaiaSP/V 15.213 ± 0.021`` or the server's message."""
    ident = f"id {result.dataproduct_id}"
    if result.magnitude is not None:
        limit = ">" if result.is_limit else ""
        magnitude = f"{limit}{result.magnitude:.3f} ± {abs(result.error or 0.0):.3f}"
        return f"{ident}: {result.filter or ''} {magnitude}".replace(":  ", ": ")
    note = result.status_message or result.message
    return f"{ident}: {note}" if note else ident


def outcome_detail(outcome: UploadOutcome) -> str:
    """What a file's line says after its name."""
    parts = []
    if outcome.data_product_id is not None and outcome.status == "uploaded":
        parts.append(f"id {outcome.data_product_id}")
    if outcome.reason:
        parts.append(outcome.reason)
    if outcome.status == "uploaded" and outcome.size:
        parts.append(human_bytes(outcome.size))
    stored = [v.data_product_id for v in outcome.versions if v.data_product_id is not None]
    if stored:
        ids = ", ".join(f"id {i}" for i in stored)
        parts.append(f"rewritten after its upload; earlier version{'s' if len(stored) > 1 else ''} {ids}")
    return ", ".join(parts)


class JobReport:
    """Fans one job's events out to the screen, a log file and JSON lines (see the module doc).

    Args:
        plan: what the job is about to do.
        screen: ``live`` (a terminal), ``lines`` (timestamped plain lines), ``quiet`` (errors
            and the summary only) or ``off`` (stdout carries machine output).
        json_lines: write one JSON object per event on stdout.
        log: an open text file for the plain lines (``--log-file``), or None.
        console: the rich console of the live display (a terminal's by default).
        wait: calibrations are awaited too (a second bar).
        watching: what a watch run watches (``--watch``): said at the start, and the live
            display gets a status line.
        status_every: seconds between status lines off a terminal, in the log and as JSON
            lines (``--watch``); None for none.
        now: the monotonic clock (tests bring their own).
    """

    def __init__(
        self,
        plan: Plan,
        *,
        screen: str = "lines",
        json_lines: bool = False,
        log: IO[str] | None = None,
        console: Console | None = None,
        wait: bool = False,
        watching: str | None = None,
        status_every: float | None = None,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tally = Tally(plan, now=now)
        self.screen = screen
        self.json_lines = json_lines
        self.log = log
        self.wait = wait
        self.watching = watching
        self.status_every = status_every
        self._last_status = now()
        self._now = now
        self._started = now()
        self._console = console
        self._progress: Progress | None = None
        self._upload_task: TaskID | None = None
        self._calib_task: TaskID | None = None
        self._drawn = 0.0
        self._paths: dict[int, Path] = {}

    @property
    def summary(self) -> UploadSummary | None:
        """The job's summary, once `JobFinished` has been seen (also after a cancellation)."""
        return self.tally.summary

    @property
    def elapsed(self) -> float:
        return self._now() - self._started

    # ---- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Open the live display (on a terminal) and say what the job is about to do."""
        plan = self.tally.plan
        if self.screen == "live":
            self._open_live()
        other = f", {plan.other} not of the type or unreadable" if plan.other else ""
        text = (
            f"{plan.entries} files found: {len(plan.to_send)} to send "
            f"({human_bytes(plan.bytes_to_send)}), {plan.already} already uploaded{other}; "
            f"journal {plan.journal}"
        )
        self._line("start", text, counter=False)
        self._json(
            "start",
            files=plan.entries,
            to_send=len(plan.to_send),
            bytes_to_send=plan.bytes_to_send,
            already_uploaded=plan.already,
            journal=plan.journal,
        )
        if self.watching is not None:
            self._line("watch", self.watching, counter=False, important=True)
            self._json("watch", watching=self.watching)

    def watch_ended(self, reason: str) -> None:
        """The watch stopped looking for new frames (``--until``, ``--idle-exit``)."""
        self._line("watch", f"ended: {reason}; finishing the frames found", counter=False, important=True)
        self._json("watch_ended", reason=reason)

    def close(self) -> None:
        """Draw the final state and close the live display."""
        if self._progress is not None:
            self._redraw(force=True)
            self._progress.stop()
            self._progress = None
        if self.log is not None:
            self.log.flush()

    def tick(self) -> None:
        """Redraw the live display (the elapsed time moves even when no event comes); a status
        line when one is due (``status_every``)."""
        self._redraw(force=True)
        if self.status_every is not None and self._now() - self._last_status >= self.status_every:
            self._last_status = self._now()
            self.status()

    def status(self) -> None:
        """One status line (and JSON line) with the watch's figures; the live display has its own."""
        tally = self.tally
        if self.screen != "live":
            self._line("status", tally.status_text(), counter=False)
        self._json(
            "status",
            seen=tally.seen,
            uploaded=tally.count("uploaded"),
            already_uploaded=tally.already,
            waiting_to_settle=len(tally.held),
            failed=tally.count("failed"),
            unknown=tally.count("unknown"),
            calibrated=tally.calib_counts.get("calibrated", 0),
            last_magnitude=dict(sorted(tally.last_magnitude.items())),
        )

    # ---- events -------------------------------------------------------------------------------

    def __call__(self, event: UploadEvent) -> None:
        """The uploader's `on_event`."""
        repeated = isinstance(event, (FileFinished, FileSkipped)) and self.tally.known(event.outcome)
        self.tally.apply(event)
        if repeated:  # the file's outcome announced again unchanged: its line is printed already
            self._redraw()
            return
        if isinstance(event, FileQueued):
            self._json("queued", path=str(event.path), size=event.size)
        elif isinstance(event, FileHeld):
            self._line(
                "held", f"{event.path}  (changed recently; sent once it has been still)", counter=False
            )
            self._json("held", path=str(event.path), size=event.size)
        elif isinstance(event, FileStarted):
            if event.attempt > 1:
                self._line("retry", f"{event.path}  (attempt {event.attempt})", counter=False)
            self._json("started", path=str(event.path), size=event.size, attempt=event.attempt)
        elif isinstance(event, (FileFinished, FileSkipped)):
            self._file(event.outcome)
        elif isinstance(event, JobFinished):
            for warning in event.summary.warnings:
                self.warning(warning)
        self._redraw()

    def _file(self, outcome: UploadOutcome) -> None:
        detail = outcome_detail(outcome)
        self._line(outcome.status, f"{outcome.path}" + (f"  ({detail})" if detail else ""))
        self._json(outcome.status, **outcome_json(outcome))
        if self.wait and outcome.data_product_id is not None and outcome.status in ("uploaded", "skipped"):
            self._paths[outcome.data_product_id] = outcome.path
            self.tally.expect_calibration()

    def calibrated(self, result: CalibrationResult) -> None:
        """One final calibration result (``--wait``)."""
        word = self.tally.calibrated(result)
        path = self._paths.get(result.dataproduct_id) if result.dataproduct_id is not None else None
        name = str(path) if path is not None else (result.filename or str(result.dataproduct_id))
        done = sum(self.tally.calib_counts.values())
        self._line(word, f"{name}  ({calibration_detail(result)})", counter=False, index=done)
        self._json("calibrated", path=str(path) if path is not None else None, **calibration_json(result))
        self._redraw()

    def warning(self, message: str) -> None:
        """A warning line (always shown, also with -q)."""
        self._line("warning", message, counter=False, important=True)
        self._json("warning", message=message)

    def interrupted(self, signum: int, grace: float) -> None:
        """A signal arrived: say what happens next."""
        sending = len(self.tally.sending)
        what = (
            f"waiting up to {grace:g} s for the {sending} upload(s) in flight"
            if sending
            else "no upload was in flight"
        )
        name = signal_name(signum)
        self._line(
            "interrupted",
            f"by {name}: starting no new uploads; {what} (again to stop at once)",
            counter=False,
            important=True,
        )
        self._json("interrupted", signal=name, grace=grace, in_flight=sending)

    def to_log(self, word: str, text: str) -> None:
        """A line for the log file only (the screen shows the same thing its own way)."""
        if self.log is not None:
            self.log.write(f"{timestamp()} {word:<13} {printable(text)}\n")

    def json_event(self, event: str, **fields: object) -> None:
        """One JSON line (``-o jsonl``), e.g. the closing ``summary``."""
        self._json(event, **fields)

    # ---- writers ------------------------------------------------------------------------------

    def _line(
        self,
        word: str,
        text: str,
        *,
        counter: bool = True,
        important: bool = False,
        index: int | None = None,
    ) -> None:
        total = max(self.tally.seen, self.tally.finished)
        number = index if index is not None else self.tally.finished
        of = self.tally.calib_expected if index is not None else total
        prefix = f"[{number}/{of}] " if counter or index is not None else ""
        line = printable(f"{prefix}{word:<13} {text}".rstrip())  # a file name may hold any bytes
        if self.log is not None:
            self.log.write(f"{timestamp()} {line}\n")
        if self.screen == "lines" or (self.screen == "quiet" and important):
            click.echo(f"{timestamp()} {line}")
        elif self.screen == "live" and self._progress is not None:
            self._progress.console.print(f"{timestamp(date=False)} {line}", markup=False, highlight=False)

    def _json(self, event: str, **fields: object) -> None:
        if self.json_lines:
            click.echo(json_line({"event": event, "time": timestamp(), **fields}))

    # ---- the live display ---------------------------------------------------------------------

    def _open_live(self) -> None:
        from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn
        from rich.text import Text

        class _Text(ProgressColumn):
            def render(self, task: Task) -> Text:
                return Text(str(task.fields.get("text", "")))

        tally = self.tally
        watching = self.watching is not None

        class _Display(Progress):
            # The file counts get a line of their own under the bars, so nothing wraps oddly.
            def get_renderables(self) -> Iterator[object]:  # type: ignore[override]
                yield self.make_tasks_table(self.tasks)
                yield Text(f"files     {tally.counts_text()}")
                if watching:
                    yield Text(f"night     {tally.status_text()}")

        self._progress = _Display(
            TextColumn("[bold]{task.description:<9}"),
            BarColumn(bar_width=20),
            _Text(),
            console=self._console,
            auto_refresh=False,
            transient=False,
        )
        self._progress.start()
        self._upload_task = self._progress.add_task("upload", total=1, text="")
        if self.wait:
            self._calib_task = self._progress.add_task("calibrate", total=1, text="")
        self._redraw(force=True)

    def _redraw(self, *, force: bool = False) -> None:
        progress = self._progress
        if progress is None or self._upload_task is None:
            return
        now = self._now()
        if not force and now - self._drawn < REDRAW:
            return
        self._drawn = now
        tally = self.tally
        total, done = tally.total_bytes, tally.completed_bytes
        if total == 0:  # nothing to send: an empty bar until the job ends, then a full one
            total, done = 1, 1 if tally.summary is not None else 0
        progress.update(self._upload_task, total=total, completed=done, text=tally.bytes_text(self.elapsed))
        if self._calib_task is not None:
            finished = sum(tally.calib_counts.values())
            progress.update(
                self._calib_task,
                total=max(tally.calib_expected, 1),
                completed=finished,
                text=tally.calibration_text(),
            )
        progress.refresh()
