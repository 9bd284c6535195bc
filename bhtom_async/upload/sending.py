"""Takes one settled file to its outcome: triage, then its sends, all within the file's deadline.

*Deadline.* Everything done for a file, its look-ups included, runs within
`JobOptions.file_timeout`; past it the file is ``unknown`` and a re-run reconciles it.

*States.* ``sending`` is journaled (and fsynced) before a request starts; ``uploaded(id)``,
``failed(reason)``, ``unknown(reason)`` or ``changed(id)`` after it ends. A request cut off by
the deadline or a cancellation is journaled ``unknown``, shielded from the cancellation.

*Reconcile before retry.* When the body may have reached the server (reset, read timeout, 5xx,
a garbled 2xx), the server is asked (`reconcile`) and the file is sent again only if it is
absent, up to `JobOptions.max_attempts`; if the server cannot tell, the file is ``unknown`` and
is not re-sent. A 429 pauses every worker (`throttle`). A refusal every other file would get
too (`JOB_WIDE_ERRORS`) stops the job.

*Upload slots.* At most `uploads` requests of the job are on the wire at once, but each slot has
a second worker: while a file is sent, the next one is triaged and its request prepared, so a
slot that frees is refilled at once (on a high-latency link the answer of one upload and the
start of the next no longer queue behind each other's bookkeeping). A file's wait for a slot is
not work on it: its deadline is suspended meanwhile.

*Files that change.* The file's identity (size, modification time, inode) is compared before
and after its send; a file rewritten meanwhile goes back to the settle gate (`requeue`).
"""

from __future__ import annotations

import math
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal

import anyio
import anyio.to_thread

from .._multipart import FilePart
from ..errors import (
    APIError,
    AuthenticationError,
    BhtomError,
    CameraNotFavouriteError,
    ConnectError,
    InvalidInputError,
    JournalError,
    MissingDependencyError,
    ObserverUnknownError,
    PermissionDeniedError,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
    TargetNotFoundError,
    TransportError,
    UploadOutcomeUnknown,
)
from ..models.uploads import UploadOptions
from . import frames
from .clocks import CreatedClock
from .discovery import VANISHED, Candidate
from .events import FileStarted, RateLimited
from .journal import JournalRow, UploadJournal, key_of
from .ledger import JobStopped, Ledger
from .options import JobOptions
from .reconcile import NewestId, Sent, Verdict
from .scratch import Scratch
from .throttle import JobThrottle
from .triage import Triage

if TYPE_CHECKING:
    from ..api.uploads import PreparedUpload
    from ..client import Client

__all__ = ["JOB_WIDE_ERRORS", "FileSender"]

#: Refusals that every other file of the job would get too: the job stops after the first.
JOB_WIDE_ERRORS = (
    AuthenticationError,
    PermissionDeniedError,
    TargetNotFoundError,
    CameraNotFavouriteError,
    ObserverUnknownError,
    ConnectError,
    JournalError,
)


class FileSender:
    """Strictly private: one settled file at a time per worker, from triage to its outcome.

    Args:
        client: sends the requests (`Client.uploads`) and knows the server's clock offset.
        journal: the job's journal.
        ledger: where outcomes and progress go.
        throttle: when each request may start, and the waits before re-sends.
        scratch: where an fpack frame is unpacked to be sent.
        triage: whether a file must be sent at all.
        job: the job's settings (`file_timeout`, `max_attempts`, `marker`, `rate_limit_budget`).
        dry_run: the server checks each file and stores nothing; the journal is not written.
        reconcile: asks the server whether a file whose answer was lost arrived.
        stop: stops the job after a refusal every file would get.
        requeue: hands a file that changed while it was sent back to the settle gate, with a note.
        newest: the newest product id the server has shown (journaled with each first send).
        stamps: checks on the job's first receipt that ``created`` stamps and ``Date`` agree.
        uploads: upload requests of the job on the wire at once (the job's concurrency).
    """

    def __init__(
        self,
        client: Client,
        journal: UploadJournal,
        ledger: Ledger,
        throttle: JobThrottle,
        scratch: Scratch,
        triage: Triage,
        job: JobOptions,
        *,
        dry_run: bool,
        reconcile: Callable[[Sent, str | None], Awaitable[Verdict]],
        stop: Callable[[BhtomError], None],
        requeue: Callable[[Candidate, UploadOptions, str], None],
        newest: NewestId | None = None,
        stamps: CreatedClock | None = None,
        uploads: int = 1,
    ) -> None:
        self._stamps = stamps
        self._slots = anyio.Semaphore(uploads)
        self._client = client
        self._journal = journal
        self._ledger = ledger
        self._throttle = throttle
        self._scratch = scratch
        self._triage = triage
        self._job = job
        self._dry_run = dry_run
        self._reconcile = reconcile
        self._stop = stop
        self._requeue = requeue
        self._newest = newest or NewestId()
        self._deadlines: dict[str, anyio.CancelScope] = {}  # each handled file's deadline

    async def handle(
        self, candidate: Candidate, options: UploadOptions, note: str | None, *, unjournaled: bool = False
    ) -> None:
        """Settle the file's outcome within `file_timeout`; `note` goes into an uploaded outcome.

        `unjournaled`: the journal, written by this job alone, was just seen to hold no row for
        this very file (see `Triage.check`).
        """
        before = self._ledger.recorded
        with anyio.move_on_after(self._job.file_timeout) as scope:
            self._deadlines[candidate.fingerprint.path] = scope
            try:
                gap_known = self._stamps is not None and self._stamps.gap is not None
                to_send = await self._triage.check(candidate, options, unjournaled=unjournaled)
                if to_send is not None:
                    await self._send(candidate, options, to_send.row, note, gap_known=gap_known)
            except JobStopped:
                self._ledger.not_attempted(candidate.path, candidate.size)
            except JournalError as exc:
                # The journal can no longer be written (disk full): stop; what is journaled stays.
                self._stop(exc)
                self._ledger.finished(
                    candidate,
                    "unknown",
                    reason=f"could not be journaled ({exc.problem}); a re-run checks it",
                )
        self._deadlines.pop(candidate.fingerprint.path, None)
        if scope.cancelled_caught and self._ledger.recorded == before:
            await self._timed_out(candidate, options)

    async def _send(
        self,
        candidate: Candidate,
        options: UploadOptions,
        row: JournalRow | None,
        note: str | None,
        *,
        gap_known: bool = True,
    ) -> None:
        marker = (row.marker if row is not None else None) or (
            f"bhtom_async:{uuid.uuid4().hex[:16]}" if self._job.marker and not self._dry_run else None
        )
        sent_options = options.replace(dry_run=self._dry_run, comment=_with_marker(options.comment, marker))
        attempts = 0
        while True:
            if self._ledger.stopping:
                raise JobStopped
            attempts += 1
            # No upload before the cheap checks have answered; if they could not tell, requests
            # go one at a time until one has been answered (a job-wide refusal costs one request).
            async with self._throttle.probe():
                if self._ledger.stopping:  # it may have stopped while this waited for the answer
                    raise JobStopped
                # The first receipt showed the server's stamps on another clock while this file
                # waited: its checks compared times, so they are made again.
                recheck = attempts == 1 and not gap_known and self._gap_found()
                if recheck and await self._triage.check(candidate, options) is None:
                    return
                again = await self._attempt(candidate, sent_options, marker, attempts, note)
            if not again:
                return

    def _gap_found(self) -> bool:
        return self._stamps is not None and self._stamps.gap is not None

    async def _attempt(
        self, candidate: Candidate, options: UploadOptions, marker: str | None, attempt: int, note: str | None
    ) -> bool:
        """Send once and record the outcome; True if the file should be sent again."""
        try:
            prepared = await self._prepare(candidate, options)
        except (InvalidInputError, MissingDependencyError) as exc:
            await self._scratch.forget(candidate)
            self._ledger.finished(candidate, "failed", reason=exc.headline, error=exc, attempts=attempt)
            return False
        try:
            slot = await self._take_slot(candidate)
            try:
                return await self._send_prepared(candidate, options, prepared, marker, attempt, note, slot)
            finally:
                slot.release()
        finally:
            with anyio.CancelScope(shield=True):
                await self._scratch.forget(candidate)

    async def _take_slot(self, candidate: Candidate) -> _Slot:
        """Wait for an upload slot; the wait does not count against the file's deadline."""
        deadline = self._deadlines[candidate.fingerprint.path]  # set by `handle` for the file's life
        left = deadline.deadline - anyio.current_time()
        deadline.deadline = math.inf
        try:
            await self._slots.acquire()
        finally:
            deadline.deadline = anyio.current_time() + left
        return _Slot(self._slots)

    async def _send_prepared(
        self,
        candidate: Candidate,
        options: UploadOptions,
        prepared: PreparedUpload,
        marker: str | None,
        attempt: int,
        note: str | None,
        slot: _Slot,
    ) -> bool:
        """Journal, send and record one prepared request in its upload `slot` (released as soon as
        the answer is in); True if the file should be sent again."""
        if self._ledger.stopping:
            raise JobStopped  # it stopped while this file waited for its slot: nothing journaled
        path = candidate.path
        journal = self._journal
        row: JournalRow | None = None
        if not self._dry_run:
            try:
                row = await journal.begin(
                    key_of(options),
                    candidate.fingerprint,
                    candidate.wire_name,
                    server_offset=self._client.server_clock_offset,
                    marker=marker,
                    id_floor=self._newest.value,
                )
            except JournalError as exc:
                self._stop(exc)  # nothing was sent: the file is left for a re-run
                raise JobStopped from None
        sent = Sent(
            key_of(options),
            candidate.wire_name,
            row.id if row else None,
            (row.first_sent_at or row.sent_at or 0.0) if row else time.time(),
            row.server_offset if row else None,
            marker,
            row.id_floor if row else self._newest.value,
        )
        started = await self._throttle.before_request()
        if self._ledger.stopping:
            # The job stopped while this file was journaled: nothing was sent (and no await lies
            # between this check and the request, so a stop is never overtaken by a new send).
            if row is not None:
                with anyio.CancelScope(shield=True):
                    await journal.finish(row.id, "failed", reason="not sent: the job stopped first")
            raise JobStopped
        self._ledger.emit(FileStarted(path, candidate.size, attempt))
        common: dict[str, Any] = {"attempts": attempt, "sent_as": _renamed(candidate)}
        try:
            try:
                receipt = await self._client.uploads.send(prepared)
            finally:
                slot.release()  # the answer is in: the next file's request may start
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                cut = self._cut_reason(candidate)
                if row is not None:
                    await journal.finish(row.id, "unknown", reason=cut)
                self._ledger.finished(candidate, "unknown", reason=cut, **common)
            raise
        except InvalidInputError as exc:
            # The file changed or vanished mid-stream: the body was cut short, nothing is stored.
            return await self._changed_mid_stream(candidate, options, row, exc)
        except (UploadOutcomeUnknown, ServerError, ResponseDecodeError) as exc:
            return await self._unclear(candidate, prepared, sent, exc, attempt, common)
        except RateLimitError as exc:
            return await self._rate_limited(candidate, row, exc, started, common)
        except (APIError, TransportError) as exc:
            if isinstance(exc, JOB_WIDE_ERRORS):
                self._stop(exc)
            await self._fail(row, candidate, exc.headline, exc, common)
            return False
        sha = prepared.body.sha256.get(candidate.wire_name)
        if self._dry_run:
            message = receipt.files[0].message if receipt.files else None
            reason = "dry run: checked by the server, nothing stored" + (f" ({message})" if message else "")
            self._ledger.finished(candidate, "dry_run", reason=reason, sha256=sha, **common)
            return False
        data_product_id = receipt.files[0].id if receipt.files else None
        self._newest.see(data_product_id)
        assert row is not None
        if self._stamps is not None and data_product_id is not None and row.sent_at is not None:
            # Still inside the first request's gate: the other workers wait for this read-back.
            offset = self._client.server_clock_offset
            await self._stamps.check(data_product_id, row.sent_at, time.time(), offset)
        now = await _file_now(candidate)
        if now == "changed":
            await journal.finish(
                row.id, "changed", data_product_id=data_product_id, reason="changed while it was being sent"
            )
            self._requeue(
                candidate,
                options,
                f"it changed while being sent; the copy stored then (id {data_product_id}) "
                "may be inconsistent",
            )
            return False
        if now == "gone":
            # Its open handle still read every byte (the body checks the size): the server holds
            # the file as it was; there is nothing left here to send again.
            note = (
                f"the local file was deleted or renamed while it was sent; the server holds all "
                f"{candidate.send_size} bytes read from it (sha256 {sha})"
            )
        await journal.finish(row.id, "uploaded", data_product_id=data_product_id, sha256=sha)
        self._ledger.finished(
            candidate, "uploaded", data_product_id=data_product_id, sha256=sha, reason=note, **common
        )
        return False

    async def _unclear(
        self,
        candidate: Candidate,
        prepared: PreparedUpload,
        sent: Sent,
        exc: BhtomError,
        attempt: int,
        common: dict[str, Any],
    ) -> bool:
        """The body may have reached the server: look before sending again."""
        sha = prepared.body.sha256.get(candidate.wire_name)
        if self._dry_run:
            # A dry run stores nothing, so sending again cannot make a duplicate.
            if attempt < self._job.max_attempts:
                await self._throttle.back_off(attempt)
                return True
            self._ledger.finished(candidate, "failed", reason=exc.headline, error=exc, **common)
            return False
        verdict = await self._reconcile(sent, sha)
        if verdict.kind == "stored":  # ServerCheck has journaled it
            self._ledger.finished(
                candidate,
                "uploaded",
                data_product_id=verdict.data_product_id,
                sha256=sha,
                reconciled=True,
                **common,
            )
            return False
        journal = self._journal
        assert sent.row_id is not None
        if verdict.kind == "absent" and attempt < self._job.max_attempts:
            await journal.finish(sent.row_id, "failed", reason=f"not stored after: {exc.headline}")
            await self._throttle.back_off(attempt)
            return True
        if verdict.kind == "absent":
            await self._fail(
                sent.row_id,
                candidate,
                f"not stored after {attempt} attempts; last: {exc.headline}",
                exc,
                common,
            )
            return False
        reason = verdict.reason or "could not tell whether the server stored it"
        await journal.finish(sent.row_id, "unknown", reason=reason, candidates=verdict.candidates)
        self._ledger.finished(
            candidate, "unknown", reason=reason, error=exc, candidates=verdict.candidates, **common
        )
        return False

    async def _rate_limited(
        self,
        candidate: Candidate,
        row: JournalRow | None,
        exc: RateLimitError,
        started: float,
        common: dict[str, Any],
    ) -> bool:
        """The server refused before doing anything: pause every worker and try again, within budget."""
        if row is not None:
            await self._journal.finish(row.id, "failed", reason=exc.headline)
        held = self._throttle.paused_seconds
        refused = self._throttle.pause_after(exc, started)
        if refused is not None:
            reason = f"{refused}; the files not yet sent are left for a re-run"
            self._stop(RateLimitError(reason, method=exc.method, path=exc.path, retry_after=exc.retry_after))
            self._ledger.finished(candidate, "not_attempted", reason=f"not tried: {reason}", **common)
            return False
        self._ledger.emit(RateLimited(candidate.path, self._throttle.paused_seconds - held))
        return True

    async def _changed_mid_stream(
        self, candidate: Candidate, options: UploadOptions, row: JournalRow | None, exc: InvalidInputError
    ) -> bool:
        if row is not None:
            await self._journal.finish(row.id, "failed", reason=exc.headline)
        now = await _file_now(candidate)
        if now == "gone":  # gone before it was sent whole: nothing stored, no failure
            self._ledger.finished(candidate, "ignored", reason=f"{VANISHED} ({exc.headline})")
        elif now == "changed":
            self._requeue(
                candidate, options, "it changed while being sent (the request was cut short; nothing stored)"
            )
        else:
            self._ledger.finished(candidate, "failed", reason=exc.headline, error=exc)
        return False

    def _cut_reason(self, candidate: Candidate) -> str:
        """Why a request was cut off: its file's deadline, or the job being cancelled."""
        scope = self._deadlines.get(candidate.fingerprint.path)
        if scope is not None and scope.cancel_called:
            return self._timeout_reason()
        return "cancelled while sending; a re-run reconciles it"

    def _timeout_reason(self) -> str:
        return f"no final answer within {self._job.file_timeout:g} s (file_timeout); a re-run reconciles it"

    async def _timed_out(self, candidate: Candidate, options: UploadOptions) -> None:
        reason = self._timeout_reason()
        row = await self._journal.find(key_of(options), candidate.fingerprint) if not self._dry_run else None
        if row is not None and row.state == "sending":
            await self._journal.finish(row.id, "unknown", reason=reason)
        self._ledger.finished(candidate, "unknown", reason=reason)

    async def _prepare(self, candidate: Candidate, options: UploadOptions) -> PreparedUpload:
        """The request body: the file itself, a gzipped frame's stream, or an unpacked fpack frame."""
        path = candidate.path

        def on_bytes(n: int) -> None:
            self._ledger.sent_bytes(path, n)

        hooks: dict[str, Any] = {
            "on_bytes": on_bytes,
            "throttle": self._throttle.byte_pacer,
        }
        if candidate.compression == "gzip":
            part = FilePart("files", path, candidate.send_size, candidate.wire_name, opener=frames.open_plain)
            return await self._client.uploads.prepare_parts([part], options, **hooks)
        if candidate.compression == "fpack":
            try:
                plain = await self._scratch.unpack(candidate)
            except (OSError, ValueError) as exc:
                raise InvalidInputError(f"{path} could not be decompressed ({exc})") from None
            return await self._client.uploads.prepare(plain, options, send_as=[candidate.wire_name], **hooks)
        # `inspect` checked this very file (a regular file, not empty, a FITS frame when it must be)
        # and its size: the body's own checks catch a change after that.
        part = FilePart("files", path, candidate.send_size, candidate.wire_name)
        return await self._client.uploads.prepare_parts([part], options, **hooks)

    async def _fail(
        self,
        row: JournalRow | int | None,
        candidate: Candidate,
        reason: str,
        error: BhtomError | None,
        common: dict[str, Any],
    ) -> None:
        row_id = row.id if isinstance(row, JournalRow) else row
        if row_id is not None:
            await self._journal.finish(row_id, "failed", reason=reason)
        self._ledger.finished(candidate, "failed", reason=reason, error=error, **common)


class _Slot:
    """Strictly private: one taken upload slot, released once however often `release` is called."""

    def __init__(self, slots: anyio.Semaphore) -> None:
        self._slots: anyio.Semaphore | None = slots

    def release(self) -> None:
        if self._slots is not None:
            slots, self._slots = self._slots, None
            slots.release()


async def _file_now(candidate: Candidate) -> Literal["same", "changed", "gone"]:
    """The file at the candidate's path now, in one worker-thread hop: still what it was when
    found (size, modification time, inode), something else, or no longer there at all."""

    def now() -> Literal["same", "changed", "gone"]:
        try:
            info = os.stat(candidate.path)
        except OSError:
            return "changed" if os.path.lexists(candidate.path) else "gone"
        fp = candidate.fingerprint
        same = (info.st_size, info.st_mtime_ns, info.st_ino) == (fp.size, fp.mtime_ns, fp.inode)
        return "same" if same else "changed"

    return await anyio.to_thread.run_sync(now)


def _with_marker(comment: str | None, marker: str | None) -> str | None:
    if marker is None:
        return comment
    return f"{comment} [{marker}]" if comment else f"[{marker}]"


def _renamed(candidate: Candidate) -> str | None:
    return candidate.wire_name if candidate.wire_name != candidate.path.name else None
