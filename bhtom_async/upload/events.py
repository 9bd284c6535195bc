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
    "BytesSent",
    "FileFinished",
    "FileSkipped",
    "FileStarted",
    "JobFinished",
    "OutcomeStatus",
    "UploadEvent",
    "UploadOutcome",
    "UploadSummary",
]

#: ``uploaded``: stored (``data_product_id`` set); ``skipped``: not sent (``reason`` says why);
#: ``failed``: refused or broken (``error``); ``unknown``: the body may have reached the server and
#: the uploader could not find out (re-run with the same journal to reconcile); ``dry_run``: the
#: server checked the file in a dry run and stored nothing.
OutcomeStatus = Literal["uploaded", "skipped", "failed", "unknown", "dry_run"]


@attrs.frozen
class UploadOutcome:
    """What happened to one file.

    Attributes:
        path: the file.
        status: see `OutcomeStatus`.
        data_product_id: the server's id for an uploaded file.
        reason: why it was skipped, failed or is unknown (one line).
        error: the typed error behind a failure or an unknown outcome.
        size: bytes on disk when it was found.
        sha256: the content hash, when a complete pass happened (now or in an earlier run).
        reconciled: the id was found on the server after a lost answer, not from a 201.
        attempts: upload requests sent for this file in this run.
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


@attrs.frozen
class UploadSummary:
    """The result of a bulk upload.

    Attributes:
        outcomes: one `UploadOutcome` per file considered, in completion order.
        stopped: the error that stopped the whole job early (bad token, unknown target, camera not
            in favourites), or None. Its `hint` says what to do.
        cancelled: the job was cancelled before it finished.
        bytes_sent: request-body bytes handed to the network (all attempts).
        elapsed: seconds from start to finish.
    """

    outcomes: tuple[UploadOutcome, ...]
    stopped: BhtomError | None = attrs.field(default=None, eq=False)
    cancelled: bool = False
    bytes_sent: int = 0
    elapsed: float = 0.0

    def of(self, status: OutcomeStatus) -> tuple[UploadOutcome, ...]:
        """The outcomes with this status."""
        return tuple(o for o in self.outcomes if o.status == status)

    @property
    def counts(self) -> dict[str, int]:
        """How many files ended in each status."""
        found = {"uploaded": 0, "skipped": 0, "failed": 0, "unknown": 0, "dry_run": 0}
        for outcome in self.outcomes:
            found[outcome.status] += 1
        return found

    @property
    def ids(self) -> tuple[int, ...]:
        """Data-product ids of the uploaded files (for `bh.calibration.wait`)."""
        return tuple(o.data_product_id for o in self.outcomes if o.data_product_id is not None)

    @property
    def ok(self) -> bool:
        """Nothing failed, nothing is unknown, and the job was neither stopped nor cancelled."""
        counts = self.counts
        return not (counts["failed"] or counts["unknown"] or self.stopped or self.cancelled)

    def __str__(self) -> str:
        counts = self.counts
        parts = [f"{n} {status.replace('_', ' ')}" for status, n in counts.items() if n]
        text = ", ".join(parts) or "no files"
        if self.stopped is not None:
            text += f"; stopped: {self.stopped}"
        if self.cancelled:
            text += "; cancelled"
        return text


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
    """A path was not sent (not a candidate, already uploaded, ...); see `outcome.reason`."""

    outcome: UploadOutcome


@attrs.frozen
class FileFinished:
    """A file reached its final outcome in this run (uploaded, failed, unknown, dry run)."""

    outcome: UploadOutcome


@attrs.frozen
class JobFinished:
    """The job ended; `summary` is what `Uploader.run` returns."""

    summary: UploadSummary


UploadEvent = FileStarted | BytesSent | FileSkipped | FileFinished | JobFinished
