"""The uploader's record of a job: every file's outcome, announced as an event, and the summary.

The `Ledger` holds what `UploadSummary` reports (the outcomes in completion order, the error that
stopped the job, the reason it was asked to stop, the bytes sent, the warnings) and emits the
events that go with them. It decides nothing: the scheduler and the sender tell it what happened.
A worker that finds the job stopping unwinds with `JobStopped`; its file is then not attempted.

Each file has one outcome. A watched file that changes after it was handled reaches a second
outcome: it replaces the first, which goes into its `versions`. A change that brought nothing new
(a touched file whose content is the copy already stored) leaves the outcome as it was, and that
unchanged outcome is announced again (so a listener knows the file is no longer held).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from ..errors import BhtomError
from .discovery import Candidate, Found, Rejected
from .events import (
    BytesSent,
    FileFinished,
    FileSkipped,
    JobFinished,
    OutcomeStatus,
    UploadEvent,
    UploadOutcome,
    UploadSummary,
)
from .journal import JournalRow

__all__ = ["JobStopped", "Ledger"]


class JobStopped(Exception):
    """Strictly private: raised inside a worker once the job has been stopped."""


class Ledger:
    """Strictly private: one job's outcomes, stop reasons, byte count and warnings.

    Args:
        on_event: called with every event; `Uploader.events` swaps in its queue for a while.
    """

    def __init__(self, on_event: Callable[[UploadEvent], None] | None) -> None:
        self.on_event = on_event
        self._outcomes: dict[str, UploadOutcome] = {}  # by absolute path, in completion order
        self._recorded = 0
        self._warnings: list[str] = []
        self._bytes_sent = 0
        self._stopped: BhtomError | None = None
        self._halted: str | None = None  # why `Uploader.stop()` was called

    @property
    def outcomes(self) -> tuple[UploadOutcome, ...]:
        """The outcomes so far, one per file, in completion order (of each file's latest version)."""
        return tuple(self._outcomes.values())

    @property
    def recorded(self) -> int:
        """How many outcomes have been recorded (a file's versions each count)."""
        return self._recorded

    @property
    def stopped(self) -> BhtomError | None:
        """The refusal that stopped the job (the first one), or None."""
        return self._stopped

    @property
    def halted(self) -> str | None:
        """Why the job was asked to stop, or None."""
        return self._halted

    @property
    def stopping(self) -> bool:
        """The job was stopped or asked to stop: no new file is tried."""
        return self._stopped is not None or self._halted is not None

    def stop(self, exc: BhtomError) -> None:
        """Record a refusal every file would get (only the first is kept)."""
        if self._stopped is None:
            self._stopped = exc

    def halt(self, reason: str) -> bool:
        """Record why the job was asked to stop; False if it already was."""
        if self._halted is not None:
            return False
        self._halted = reason
        return True

    def has_outcome(self, path: str) -> bool:
        """Whether the file at this absolute path has an outcome in this run."""
        return path in self._outcomes

    def warn(self, message: str) -> None:
        """Keep a line for `UploadSummary.warnings`."""
        self._warnings.append(message)

    def sent_bytes(self, path: Path, n: int) -> None:
        """Count `n` body bytes of `path` handed to the network, and announce the running total."""
        self._bytes_sent += n
        self.emit(BytesSent(path, n, self._bytes_sent))

    def summary(self, *, elapsed: float, cancelled: bool) -> UploadSummary:
        """The job's summary, announced as `JobFinished`."""
        summary = UploadSummary(
            outcomes=self.outcomes,
            stopped=self._stopped,
            cancelled=cancelled or self._halted is not None,
            bytes_sent=self._bytes_sent,
            elapsed=elapsed,
            warnings=tuple(self._warnings),
        )
        self.emit(JobFinished(summary))
        return summary

    # ---- outcomes ---------------------------------------------------------------------------

    def rejected(self, item: Rejected) -> None:
        """The walk or the inspection refused the file (not a FITS file, unreadable, excluded)."""
        status: OutcomeStatus = "failed" if item.kind == "failed" else item.kind
        self.record(UploadOutcome(item.path, status, reason=item.reason, size=item.size), finished=False)

    def not_ready(self, found: Found, reason: str) -> None:
        """The file kept changing longer than the job would wait."""
        self.record(UploadOutcome(found.path, "not_ready", reason=reason, size=found.size), finished=False)

    def vanished(self, found: Found, reason: str) -> None:
        """The file was renamed or deleted before it was ready (a camera's temporary file)."""
        self.record(UploadOutcome(found.path, "ignored", reason=reason, size=found.size), finished=False)

    def not_attempted(self, path: Path, size: int) -> None:
        """The job stopped, or was stopped or cancelled, before trying the file."""
        why = self._stopped.headline if self._stopped is not None else self._halted or "the job was cancelled"
        self.record(
            UploadOutcome(path, "not_attempted", reason=f"not tried: {why}", size=size), finished=False
        )

    def already_uploaded(self, path: Path, size: int, row: JournalRow) -> None:
        """The journal holds the file as uploaded."""
        self.skip(
            path,
            f"already uploaded (id {row.data_product_id})",
            size=size,
            data_product_id=row.data_product_id,
            sha256=row.sha256,
        )

    def skip(
        self,
        path: Path,
        reason: str,
        *,
        size: int = 0,
        data_product_id: int | None = None,
        sha256: str | None = None,
    ) -> None:
        """The file is deliberately not sent."""
        outcome = UploadOutcome(
            path, "skipped", reason=reason, size=size, data_product_id=data_product_id, sha256=sha256
        )
        self.record(outcome, finished=False)

    def finished(self, candidate: Candidate, status: OutcomeStatus, **fields: Any) -> None:
        """The file was handled by a worker; `fields` are `UploadOutcome`'s."""
        self.record(UploadOutcome(candidate.path, status, size=candidate.size, **fields), finished=True)

    def record(self, outcome: UploadOutcome, *, finished: bool) -> None:
        """Keep the outcome and announce it (`FileFinished` after a worker, else `FileSkipped`).

        A file that already has an outcome in this run keeps one: see the module docstring.
        """
        key = str(outcome.path.absolute())
        self._recorded += 1
        earlier = self._outcomes.get(key)
        if earlier is not None:
            if _nothing_new(earlier, outcome):
                self.emit(FileSkipped(earlier))
                return
            del self._outcomes[key]  # re-inserted last: completion order
            outcome = attrs.evolve(outcome, versions=(*earlier.versions, attrs.evolve(earlier, versions=())))
        self._outcomes[key] = outcome
        self.emit(FileFinished(outcome) if finished else FileSkipped(outcome))

    def emit(self, event: UploadEvent) -> None:
        """Pass `event` on to the listener, if any."""
        if self.on_event is not None:
            self.on_event(event)


def _nothing_new(earlier: UploadOutcome, later: UploadOutcome) -> bool:
    """`later` only finds stored again what `earlier` stored (the file was touched, not rewritten),
    or ignores again a path ignored before (a temporary name the camera reuses)."""
    if earlier.status == later.status == "ignored":
        return True
    return (
        later.status == "skipped"
        and earlier.status in ("uploaded", "skipped")
        and earlier.data_product_id is not None
        and later.data_product_id == earlier.data_product_id
    )
