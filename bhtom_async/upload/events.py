"""What the bulk uploader reports: per-file outcomes, a summary, and progress events.

Events are small frozen attrs objects. A CLI progress bar, a notebook widget or a logger consumes
them through `Uploader(on_event=...)` or `Uploader.events()`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import attrs

from ..errors import BhtomError

__all__ = [
    "STATUSES",
    "BytesSent",
    "FileFinished",
    "FileHeld",
    "FileQueued",
    "FileSkipped",
    "FileStarted",
    "JobFinished",
    "JobVerdict",
    "JournalWritten",
    "OutcomeStatus",
    "RateLimited",
    "UploadEvent",
    "UploadOutcome",
    "UploadSummary",
]

OutcomeStatus = Literal[
    "uploaded", "skipped", "failed", "unknown", "dry_run", "not_ready", "not_attempted", "ignored"
]
"""What happened to one file:

- ``uploaded``: stored (``data_product_id`` set), in this run or an earlier one;
- ``skipped``: deliberately not sent, with the reason (excluded by the settings, a second path to
  a file already handled, a symlink leading outside the folders given);
- ``failed``: refused or broken (``error``); nothing of it is stored;
- ``unknown``: the body may have reached the server and the uploader could not tell whether it was
  stored (re-run with the same journal to reconcile); it is never re-sent blindly;
- ``dry_run``: the server checked the file in a dry run and stored nothing;
- ``not_ready``: still being written when the job's patience (`max_settle_wait`) ran out;
- ``not_attempted``: the job stopped or was cancelled before trying it (``reason`` says why);
- ``ignored``: not a file of the type being uploaded (e.g. a ``.txt`` log beside FITS frames), or
  a file renamed or deleted by its writer before it was sent (a camera's temporary file).
"""

#: Every status, in report order.
STATUSES: tuple[OutcomeStatus, ...] = (
    "uploaded",
    "skipped",
    "failed",
    "unknown",
    "dry_run",
    "not_ready",
    "not_attempted",
    "ignored",
)

JobVerdict = Literal["ok", "stopped", "unknown", "failed", "incomplete", "empty", "cancelled"]
"""The job as a whole, worst first: ``cancelled`` (interrupted), ``stopped`` (a refusal every
file would get, e.g. a bad token), ``unknown`` (some outcomes unknown), ``failed`` (some files
failed), ``incomplete`` (some not ready or not attempted), ``empty`` (nothing to upload was
found), else ``ok`` (every file found is uploaded, or was already)."""


@attrs.frozen
class UploadOutcome:
    """What happened to one file.

    Attributes:
        path: the file.
        status: see `OutcomeStatus`.
        data_product_id: the server's id for an uploaded file.
        reason: why it was skipped, failed, is unknown or not ready (one line).
        error: the typed error behind a failure or an unknown outcome.
        size: bytes on disk when it was found.
        sha256: the content hash, when a complete pass happened (now or in an earlier run).
        reconciled: the id was found on the server after a lost answer, not from a 201.
        attempts: upload requests sent for this file in this run.
        sent_as: the file name used on the wire, when it differs from the file's own name.
        candidates: for an unknown outcome, the stored products that might be this file.
        versions: the file's earlier outcomes in this run, oldest first: a watched file rewritten
            after it was handled is handled again, and its summary entry stays one.
    """

    path: Path
    status: OutcomeStatus
    data_product_id: int | None = None
    reason: str | None = None
    error: BhtomError | None = attrs.field(default=None, eq=False)
    size: int = 0
    sha256: str | None = None
    reconciled: bool = False
    attempts: int = 0
    sent_as: str | None = None
    candidates: tuple[int, ...] = ()
    versions: tuple[UploadOutcome, ...] = ()


@attrs.frozen
class UploadSummary:
    """The result of a bulk upload.

    Attributes:
        outcomes: one `UploadOutcome` per file found, in completion order (a watched file
            handled again has its earlier outcomes in `UploadOutcome.versions`).
        stopped: the error that stopped the whole job early (bad token, unknown target, camera not
            in favourites, an unusable journal), or None. Its `hint` says what to do.
        cancelled: the job was cancelled before it finished.
        bytes_sent: request-body bytes handed to the network (all attempts).
        elapsed: seconds from start to finish.
        warnings: things the job did differently from what was asked (a connection pool too
            small for the concurrency, ...), one line each.
    """

    outcomes: tuple[UploadOutcome, ...]
    stopped: BhtomError | None = attrs.field(default=None, eq=False)
    cancelled: bool = False
    bytes_sent: int = 0
    elapsed: float = 0.0
    warnings: tuple[str, ...] = ()

    def of(self, status: OutcomeStatus) -> tuple[UploadOutcome, ...]:
        """The outcomes with this status."""
        return tuple(o for o in self.outcomes if o.status == status)

    @property
    def counts(self) -> dict[str, int]:
        """How many files ended in each status (every status is a key)."""
        found: dict[str, int] = dict.fromkeys(STATUSES, 0)
        for outcome in self.outcomes:
            found[outcome.status] += 1
        return found

    @property
    def ids(self) -> tuple[int, ...]:
        """Data-product ids of the uploaded files, earlier versions' included (for `bh.calibration.wait`)."""
        return tuple(
            v.data_product_id
            for o in self.outcomes
            for v in (*o.versions, o)
            if v.data_product_id is not None
        )

    @property
    def verdict(self) -> JobVerdict:
        """The job as a whole (see `JobVerdict`); the CLI turns it into its exit code."""
        counts = self.counts
        if self.cancelled:
            return "cancelled"
        if self.stopped is not None:
            return "stopped"
        if counts["unknown"]:
            return "unknown"
        if counts["failed"]:
            return "failed"
        if counts["not_ready"] or counts["not_attempted"]:
            return "incomplete"
        if not any(counts[s] for s in ("uploaded", "dry_run")) and not self._already_uploaded():
            return "empty"
        return "ok"

    @property
    def ok(self) -> bool:
        """Every file found is uploaded (now or before), or was checked in a dry run."""
        return self.verdict == "ok"

    def _repr_html_(self) -> str:
        """A small HTML table for notebooks: the counts, then every failed or unknown file."""
        from .._display import summary_html

        return summary_html(self)

    def _already_uploaded(self) -> bool:
        return any(o.status == "skipped" and o.data_product_id is not None for o in self.outcomes)

    def __str__(self) -> str:
        counts = self.counts
        parts = [f"{n} {status.replace('_', ' ')}" for status, n in counts.items() if n]
        text = ", ".join(parts) or "no files"
        if self.stopped is not None:
            text += f"; stopped: {self.stopped.headline}"
        if self.cancelled:
            text += "; cancelled"
        return text


@attrs.frozen
class FileQueued:
    """`path` (`size` bytes) will be sent: it is new, changed, or its earlier upload failed."""

    path: Path
    size: int


@attrs.frozen
class FileHeld:
    """`path` changed recently and is held back until it has been still for the settle time."""

    path: Path
    size: int


@attrs.frozen
class FileStarted:
    """An upload request for `path` is about to be sent (`attempt` counts from 1)."""

    path: Path
    size: int
    attempt: int = 1


@attrs.frozen
class BytesSent:
    """`sent` more body bytes of `path` went out; `total` is the job's running total."""

    path: Path
    sent: int
    total: int


@attrs.frozen
class FileSkipped:
    """A path reached its outcome without being sent (already uploaded, ignored, refused...).

    A watched file touched without new content announces its unchanged outcome again this way.
    """

    outcome: UploadOutcome


@attrs.frozen
class FileFinished:
    """A file that was sent (or looked up) reached its final outcome in this run."""

    outcome: UploadOutcome


@attrs.frozen
class JobFinished:
    """The job ended; `summary` is what `Uploader.run` returns."""

    summary: UploadSummary


@attrs.frozen
class RateLimited:
    """The server answered `path`'s upload with 429: every worker is held `seconds` more (the
    job's pause, counted against `JobOptions.rate_limit_budget`); the file is sent again after."""

    path: Path
    seconds: float


@attrs.frozen
class JournalWritten:
    """One write to the job's journal (`operation`: begin, finish, record_stored)
    took `seconds` (on the job's clock), waiting for the journal's lock included."""

    operation: str
    seconds: float


UploadEvent = (
    FileQueued
    | FileHeld
    | FileStarted
    | BytesSent
    | FileSkipped
    | FileFinished
    | JobFinished
    | RateLimited
    | JournalWritten
)
