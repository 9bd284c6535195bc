"""The bulk uploader: bounded, streaming, journaled, resumable, and never a duplicate.

Design
------
*Pipeline.* One task walks the paths (`discovery.discover`, in a worker thread, a batch at a
time) and looks each file up in the journal: a file already uploaded is reported at once without
being read. A new or changed file goes to the workers if its last write is older than the settle
time, else to the `SettleGate`, which holds it until it has been still that long (then it goes to
the workers in the same run) or reports it as not ready. At most `concurrency` workers each send
one file as one streaming request: about one 512 KiB chunk in memory per upload, chunks read in a
worker thread, the file's sha256 computed in the same pass. Queues are small memory streams, so
a million-entry folder never fills memory.

*States.* ``sending`` is written (and fsynced) before a request starts; ``uploaded(id)``,
``failed(reason)``, ``unknown(reason)`` or ``changed(id)`` after it ends. A row still ``sending``
after a crash or ``kill -9``, and every ``unknown`` row, is reconciled on the next run before
anything is re-sent.

*Reconcile before retry.* Connect errors (nothing sent) and 429s are retried by the client's
policy (a 429 pause holds every worker, within the job's `rate_limit_budget`). When the body may
have reached the server (reset, read timeout, 5xx, a garbled 2xx), the uploader looks the file up
(`reconcile`) and re-sends only if it is absent; if it cannot tell, the file is ``unknown`` and
is not re-sent. Only one upload of a given name to a given place is in flight at a time, so two
same-named frames (``R/img.fits``, ``V/img.fits``) never compete for one stored product.

*Files that change.* The file's identity (size, modification time, inode) is compared before
and after its send. A frame rewritten while it was sent is journaled ``changed`` with the id of
the copy the server got (which may be inconsistent), and the file goes back to the settle gate;
once still, its new content is uploaded.

*Fail fast.* The first upload request goes alone; the others wait for its answer. A bad token,
an unknown target, a camera not in the user's favourites, an unknown observer, an unreachable
service, or a journal that can no longer be written stops the job after that one request with
one error (`UploadSummary.stopped`, with a hint). The files not tried are reported as not
attempted. A problem with one file only fails that file.

*Cancellation.* Cancelling `run` stops discovery and new uploads; an upload cut off mid-request
is journaled ``unknown`` (shielded from the cancellation), and the journal is closed cleanly.

*Dry runs* send with ``dry_run=True``, read the journal to report what would be skipped, and
never write to it.
"""

from __future__ import annotations

import logging
import math
import os
import time
import uuid
import warnings
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from contextlib import aclosing, asynccontextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import attrs
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .._clock import Clock
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
from .discovery import Candidate, Fingerprint, Found, Rejected, discover, inspect
from .events import (
    BytesSent,
    FileHeld,
    FileQueued,
    FileStarted,
    UploadEvent,
    UploadOutcome,
    UploadSummary,
)
from .journal import JournalKey, JournalRow, SqliteJournal, UploadJournal, default_journal_path, key_of
from .ledger import JobStopped, Ledger
from .lookups import listing_for, lookup_for
from .options import JobOptions
from .reconcile import Sent, ServerCheck, Verdict
from .scratch import Scratch
from .server_index import ServerIndex
from .settings import SettingsSource, SkipFile, settings_for
from .settle import NotReady, SettleGate
from .throttle import JobThrottle
from .triage import Triage

if TYPE_CHECKING:
    from ..api.uploads import PreparedUpload
    from ..client import Client

__all__ = ["EVENT_BACKLOG", "JOB_WIDE_ERRORS", "LOOKUP_CONNECTIONS", "Uploader"]

#: `Uploader.events` sheds `BytesSent` events while this many events are waiting.
EVENT_BACKLOG = 64
#: Connections kept free for look-ups while every worker is uploading.
LOOKUP_CONNECTIONS = 2
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

StrPath = str | os.PathLike[str]
logger = logging.getLogger("bhtom_async")


@attrs.frozen
class _Item:
    """Strictly private: a file on its way to a worker, with the options it will be sent with."""

    found: Found
    options: UploadOptions
    note: str | None = None


class Uploader:
    """Upload many files, at most `job.concurrency` at a time, journaled so nothing is sent twice.

    Args:
        client: a `Client` (opened on first use if it is not yet).
        paths: files and directories (walked recursively, lazily), or an async stream of paths
            that arrive over time (`watch.watch_paths` watches a night's folders); the job ends
            when the stream does. A path that comes again is handled again only if it changed.
        options: what the server is told about every file (`UploadOptions`); ``fits_file``
            accepts only FITS files (``.fits/.fit/.fts`` with a ``SIMPLE  =`` card), other types
            any non-empty file. With ``dry_run`` the server checks each file and stores
            nothing, and the journal is only read.
        job: how the job runs (`JobOptions`: concurrency, journal, settle time, rate limits...).
        settings: per-file options, a mapping (key: path as given, absolute path, or file name)
            or a callback ``(path, options) -> UploadOptions | SkipFile | None`` (sync callbacks
            run in a worker thread, so they may read FITS headers; async ones are awaited).
        on_event: called with every `UploadEvent` (keep it quick; it runs on the event loop).
        clock: time source for backoff and rate limits (default: the client's).

    Raises (from `run`):
        JournalBusyError, JournalError: the journal cannot be opened (another job holds it,
            it is damaged, or it cannot be written).

    Example:
        >>> options = UploadOptions(target="Gaia22bpl", observatory="HarnessObs_HarnessCam")
        >>> summary = await Uploader(bh, ["night/"], options,                       # doctest: +SKIP
        ...                          JobOptions(journal="night.sqlite3")).run()
        >>> print(summary, summary.ids)                                            # doctest: +SKIP
    """

    def __init__(
        self,
        client: Client,
        paths: StrPath | Sequence[StrPath] | AsyncIterable[StrPath],
        options: UploadOptions,
        job: JobOptions | None = None,
        *,
        settings: SettingsSource | None = None,
        on_event: Callable[[UploadEvent], None] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._client = client
        self._source: AsyncIterable[StrPath] | None = None
        self._paths: list[StrPath] = []
        if isinstance(paths, AsyncIterable):
            self._source = paths
        elif isinstance(paths, (str, os.PathLike)):
            self._paths = [paths]
        else:
            self._paths = list(paths)
        self._defaults = options
        self._job = job or JobOptions()
        self._dry_run = options.dry_run
        self._journal_path = self._job.journal or str(default_journal_path())
        self._settings = settings
        self._clock: Clock = clock or client.clock
        self._ledger = Ledger(on_event)
        self._throttle = JobThrottle(self._job, self._clock, lambda: client.config.retry)
        self._names: dict[tuple[JournalKey, str], anyio.Lock] = {}
        self._done = False
        self._journal: UploadJournal | None = None
        self._server_check: ServerCheck | None = None
        self._triage: Triage | None = None
        self._settle: SettleGate | None = None
        self._pending: dict[str, _Item] = {}  # queued for a worker or held back, by path
        self._scratch = Scratch()
        self._deadlines: dict[str, anyio.CancelScope] = {}  # each handled file's deadline
        # Files this run finished with, as they were (None: refused by the walk, e.g. a log file).
        self._handled: dict[str, Fingerprint | None] = {}
        self._intake_scope = anyio.CancelScope()
        self._busy = 0  # files a worker is handling now (each may go back to the settle gate)
        self._walked = False

    # ---- public -----------------------------------------------------------------------------

    async def run(self) -> UploadSummary:
        """Upload everything; return the per-file outcomes and the summary.

        Per-file problems are outcomes; refusals every file would get end up in
        `summary.stopped`. Raises only when the journal cannot be opened.
        """
        started = self._clock.monotonic()
        workers = await self._prepare_client()
        journal = SqliteJournal(
            self._journal_path, read_only=self._dry_run, wait=self._job.journal_wait, clock=self._clock
        )
        await journal.open()
        self._journal = journal
        self._server_check = ServerCheck(
            lookup_for(self._client), journal, self._clock, lambda: self._client.server_clock_offset
        )
        check = self._job.check_server
        server_index = None
        if check or (check is None and self._source is not None):
            server_index = ServerIndex(listing_for(self._client), lambda: self._client.server_clock_offset)
        self._triage = Triage(
            journal,
            self._ledger,
            self._scratch,
            dry_run=self._dry_run,
            server_index=server_index,
            reconcile=self._reconcile,
            stop=self._stop,
        )
        cancelled = False
        try:
            await self._pipeline(workers)
        except anyio.get_cancelled_exc_class():
            cancelled = True
            raise
        finally:
            with anyio.CancelScope(shield=True):
                await journal.aclose()
                await self._scratch.remove()
            if cancelled:
                self._finish(started, cancelled=True)
        return self._finish(started, cancelled=False)

    @asynccontextmanager
    async def events(self) -> AsyncIterator[AsyncIterator[UploadEvent]]:
        """Run the job in the background and iterate its events; the last one is `JobFinished`.

        Every file event is delivered; `BytesSent` events are dropped while the consumer is more
        than `EVENT_BACKLOG` events behind (progress stays right: each carries the running total).
        Leaving the block early cancels the job (in-flight uploads are journaled ``unknown``).

        Example:
            >>> async with uploader.events() as events:                    # doctest: +SKIP
            ...     async for event in events:
            ...         if isinstance(event, FileFinished):
            ...             print(event.outcome.path.name, event.outcome.status)
        """
        # Unbounded only in principle: bytes events are shed at EVENT_BACKLOG, and the rest are
        # a handful of small objects per file.
        send, receive = anyio.create_memory_object_stream[UploadEvent](max_buffer_size=math.inf)
        forward = self._ledger.on_event

        def enqueue(event: UploadEvent) -> None:
            if forward is not None:
                forward(event)
            if isinstance(event, BytesSent) and send.statistics().current_buffer_used >= EVENT_BACKLOG:
                return
            with suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):  # the consumer left
                send.send_nowait(event)

        self._ledger.on_event = enqueue

        async def job() -> None:
            async with send:
                await self.run()

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(job)
                with receive:
                    yield receive
                if not self._done:
                    tg.cancel_scope.cancel()  # the consumer left before the end
        finally:
            self._ledger.on_event = forward

    @property
    def outcomes(self) -> tuple[UploadOutcome, ...]:
        """The outcomes so far (also readable after a cancelled `run`)."""
        return self._ledger.outcomes

    # ---- the pipeline -----------------------------------------------------------------------

    async def _prepare_client(self) -> int:
        """Open the client and size its pool for the workers plus the look-ups; the workers to run."""
        await self._client.open()
        wanted = self._job.concurrency + LOOKUP_CONNECTIONS
        granted = self._client.ensure_connections(wanted)
        if granted >= wanted:
            return self._job.concurrency
        workers = max(1, granted - LOOKUP_CONNECTIONS)
        message = (
            f"the client allows {granted} connections, so {workers} uploads run at once instead of "
            f"{self._job.concurrency} (leave max_connections unset, or set it to at least {wanted})"
        )
        self._ledger.warn(message)
        warnings.warn(message, UserWarning, stacklevel=3)
        logger.warning("%s", message)
        return workers

    async def _pipeline(self, workers: int) -> None:
        send, receive = anyio.create_memory_object_stream[Found | _Item](max_buffer_size=workers)
        settled = send.clone()
        self._settle = SettleGate(
            settled.send,
            settle_time=self._job.settle_time,
            max_wait=self._job.max_settle_wait,
            gave_up=self._not_ready,
        )

        async def settle() -> None:
            assert self._settle is not None
            async with settled:
                await self._settle.run()

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._produce, send)
                tg.start_soon(settle)
                for _ in range(workers):
                    tg.start_soon(self._work, receive.clone())
                receive.close()
        finally:
            self._abandon_pending()

    async def _produce(self, send: MemoryObjectSendStream[Found | _Item]) -> None:
        async with send:
            with self._intake_scope:
                if self._source is None:
                    await self._walk(self._paths, send, explicit=True)
                else:
                    async for given in self._source:
                        await self._walk([given], send, explicit=False)
                        if self._ledger.halted is not None:
                            break
        self._walked = True
        self._close_gate_when_done()

    async def _walk(
        self, paths: Sequence[StrPath], send: MemoryObjectSendStream[Found | _Item], *, explicit: bool
    ) -> None:
        found = discover(
            paths,
            data_product_type=self._defaults.data_product_type,
            include=self._job.include,
            exclude=self._job.exclude,
            explicit=explicit,
        )
        async with aclosing(found):
            async for item in found:
                # A watched folder reports a file again each time it changes: one entry per file.
                repeated = not explicit and self._seen_before(
                    item.path, item.fingerprint if isinstance(item, Found) else None
                )
                if repeated:
                    continue
                if isinstance(item, Rejected):
                    self._handled[str(item.path.absolute())] = None
                    self._ledger.rejected(item)
                elif self._ledger.stopping:
                    self._ledger.not_attempted(item.path, item.size)
                else:
                    await self._intake(item, send)

    def _seen_before(self, path: Path, fingerprint: Fingerprint | None) -> bool:
        """The file is queued or held now, or was handled in this run and has not changed since."""
        key = str(path.absolute())
        if key in self._pending:
            held = self._pending[key]
            if fingerprint is not None and self._settle is not None and held.found.fingerprint != fingerprint:
                self._settle.hold(attrs.evolve(held.found, fingerprint=fingerprint))  # still changing
            return True
        if key not in self._handled:
            return False
        done = self._handled[key]
        return fingerprint is None or done is None or done.same_content_as(fingerprint)

    def stop(self, reason: str = "the job was asked to stop") -> None:
        """Stop taking files: the uploads in flight finish; the rest are reported as not attempted.

        `run` then returns its summary with ``cancelled`` set. A second call does nothing more.
        Call it from the event loop (a signal handler task, a watcher's condition).
        """
        if not self._ledger.halt(reason):
            return
        if self._source is not None:
            self._intake_scope.cancel()  # a watch never ends by itself; a walk is finished quickly
        self._throttle.end_probe()
        if self._settle is not None:
            for found in self._settle.drop_all():
                if self._pending.pop(found.fingerprint.path, None) is not None:
                    self._ledger.not_attempted(found.path, found.size)
            self._close_gate_when_done()

    async def _intake(self, found: Found, send: MemoryObjectSendStream[Found | _Item]) -> None:
        """Report a file already uploaded at once; pass the rest on, held back while they change."""
        assert self._settle is not None
        options = await settings_for(self._settings, found.path, found.fingerprint.path, self._defaults)
        if isinstance(options, SkipFile):
            self._ledger.skip(found.path, options.reason, size=found.size)
            return
        try:
            row = await self._require_journal().find(key_of(options), found.fingerprint)
        except JournalError as exc:
            self._stop(exc)
            self._ledger.not_attempted(found.path, found.size)
            return
        if row is not None and row.state == "uploaded":
            self._ledger.already_uploaded(found.path, found.size, row)
            return
        item = _Item(found, options)
        self._pending[found.fingerprint.path] = item
        self._ledger.emit(FileQueued(found.path, found.size))
        if self._settle.is_settled(found):
            try:
                await send.send(item)
            except anyio.get_cancelled_exc_class():
                # Stopped while waiting for a free worker: it never reached the queue.
                if self._pending.pop(found.fingerprint.path, None) is not None:
                    self._ledger.not_attempted(found.path, found.size)
                raise
        else:
            self._ledger.emit(FileHeld(found.path, found.size))
            self._settle.hold(found)

    async def _work(self, receive: MemoryObjectReceiveStream[Found | _Item]) -> None:
        async with receive:
            async for queued in receive:
                # The settle gate hands back the bare Found; its options wait in `_pending`.
                key = queued.fingerprint.path if isinstance(queued, Found) else queued.found.fingerprint.path
                item = self._pending.pop(key, None)
                if item is None:
                    continue
                if isinstance(queued, Found):
                    item = attrs.evolve(item, found=queued)
                if self._ledger.stopping:
                    self._ledger.not_attempted(item.found.path, item.found.size)
                    self._close_gate_when_done()
                    continue
                self._busy += 1
                try:
                    await self._handle(item)
                except anyio.get_cancelled_exc_class():
                    if not self._ledger.has_outcome(item.found.fingerprint.path):
                        self._ledger.not_attempted(item.found.path, item.found.size)
                    raise
                finally:
                    self._busy -= 1
                    self._handled[item.found.fingerprint.path] = item.found.fingerprint
                    self._close_gate_when_done()

    def _close_gate_when_done(self) -> None:
        """The walk is over and no file is queued, held or being handled: nothing can come back."""
        if self._walked and not self._pending and not self._busy and self._settle is not None:
            self._settle.close()

    def _abandon_pending(self) -> None:
        """Every file still queued or held when the job ends is reported as not attempted."""
        for item in list(self._pending.values()):
            self._ledger.not_attempted(item.found.path, item.found.size)
        self._pending.clear()

    # ---- one file ---------------------------------------------------------------------------

    async def _handle(self, item: _Item) -> None:
        inspected = await anyio.to_thread.run_sync(inspect, item.found, item.options.data_product_type)
        if isinstance(inspected, Rejected):
            self._ledger.rejected(inspected)
            return
        options = item.options
        key = key_of(options)
        lock = self._names.setdefault((key, inspected.wire_name), anyio.Lock())
        async with lock:  # one upload of a name to a place at a time
            before = self._ledger.recorded
            with anyio.move_on_after(self._job.file_timeout) as scope:
                self._deadlines[inspected.fingerprint.path] = scope
                try:
                    await self._handle_settled(inspected, options, item.note)
                except JobStopped:
                    self._ledger.not_attempted(inspected.path, inspected.size)
                except JournalError as exc:
                    # The journal can no longer be written (disk full): stop; what is journaled stays.
                    self._stop(exc)
                    self._ledger.finished(
                        inspected,
                        "unknown",
                        reason=f"could not be journaled ({exc.problem}); a re-run checks it",
                    )
            self._deadlines.pop(inspected.fingerprint.path, None)
            if scope.cancelled_caught and self._ledger.recorded == before:
                await self._timed_out(inspected, options)

    async def _handle_settled(self, candidate: Candidate, options: UploadOptions, note: str | None) -> None:
        to_send = await self._require_triage().check(candidate, options)
        if to_send is not None:
            await self._send(candidate, options, to_send.row, note)

    async def _send(
        self, candidate: Candidate, options: UploadOptions, row: JournalRow | None, note: str | None
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
            # Until one request has been answered, requests go one at a time: a refusal that
            # every file would get (bad token, unknown target) then costs exactly one request.
            async with self._throttle.probe():
                if self._ledger.stopping:  # it may have stopped while this waited for the answer
                    raise JobStopped
                again = await self._attempt(candidate, sent_options, marker, attempts, note)
            if not again:
                return

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
            return await self._send_prepared(candidate, options, prepared, marker, attempt, note)
        finally:
            with anyio.CancelScope(shield=True):
                await self._scratch.forget(candidate)

    async def _send_prepared(
        self,
        candidate: Candidate,
        options: UploadOptions,
        prepared: PreparedUpload,
        marker: str | None,
        attempt: int,
        note: str | None,
    ) -> bool:
        """Journal, send and record one prepared request; True if the file should be sent again."""
        path = candidate.path
        journal = self._require_journal()
        row: JournalRow | None = None
        if not self._dry_run:
            try:
                row = await journal.begin(
                    key_of(options),
                    candidate.fingerprint,
                    candidate.wire_name,
                    server_offset=self._client.server_clock_offset,
                    marker=marker,
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
        )
        await self._throttle.before_request()
        self._ledger.emit(FileStarted(path, candidate.size, attempt))
        common: dict[str, Any] = {"attempts": attempt, "sent_as": _renamed(candidate)}
        try:
            receipt = await self._client.uploads.send(prepared)
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
            return await self._rate_limited(candidate, row, exc, common)
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
        assert row is not None
        if not await self._unchanged(candidate):
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
        journal = self._require_journal()
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
        self, candidate: Candidate, row: JournalRow | None, exc: RateLimitError, common: dict[str, Any]
    ) -> bool:
        """The server refused before doing anything: pause every worker and try again, within budget."""
        if row is not None:
            await self._require_journal().finish(row.id, "failed", reason=exc.headline)
        if not self._throttle.pause_after(exc):
            reason = (
                f"the server kept answering 429 (slow down) for more than {self._job.rate_limit_budget:g} s "
                "(rate_limit_budget); the files not yet sent are left for a re-run"
            )
            self._stop(RateLimitError(reason, method=exc.method, path=exc.path, retry_after=exc.retry_after))
            self._ledger.finished(candidate, "not_attempted", reason=f"not tried: {reason}", **common)
            return False
        return True

    async def _changed_mid_stream(
        self, candidate: Candidate, options: UploadOptions, row: JournalRow | None, exc: InvalidInputError
    ) -> bool:
        if row is not None:
            await self._require_journal().finish(row.id, "failed", reason=exc.headline)
        if await anyio.to_thread.run_sync(os.path.exists, candidate.path) and not await self._unchanged(
            candidate
        ):
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
        row = (
            await self._require_journal().find(key_of(options), candidate.fingerprint)
            if not self._dry_run
            else None
        )
        if row is not None and row.state == "sending":
            await self._require_journal().finish(row.id, "unknown", reason=reason)
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
        return await self._client.uploads.prepare(path, options, send_as=[candidate.wire_name], **hooks)

    async def _reconcile(self, sent: Sent, sha256: str | None) -> Verdict:
        """Ask the server whether the file arrived (see `reconcile`)."""
        assert self._server_check is not None
        try:
            return await self._server_check.check(sent, sha256=sha256)
        except (AuthenticationError, PermissionDeniedError) as exc:
            self._stop(exc)
            return Verdict("unknown", reason=f"could not look the file up on the server ({exc.headline})")

    async def _unchanged(self, candidate: Candidate) -> bool:
        def now() -> bool:
            try:
                info = os.stat(candidate.path)
            except OSError:
                return False
            fp = candidate.fingerprint
            return (info.st_size, info.st_mtime_ns, info.st_ino) == (fp.size, fp.mtime_ns, fp.inode)

        return await anyio.to_thread.run_sync(now)

    def _requeue(self, candidate: Candidate, options: UploadOptions, note: str) -> None:
        """Send the file again once it has settled (its new content is a new upload)."""
        assert self._settle is not None
        found = Found(candidate.path, candidate.fingerprint, candidate.wire_name)
        self._pending[candidate.fingerprint.path] = _Item(found, options, note)
        self._ledger.emit(FileHeld(candidate.path, candidate.size))
        self._settle.hold(found)

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
            await self._require_journal().finish(row_id, "failed", reason=reason)
        self._ledger.finished(candidate, "failed", reason=reason, error=error, **common)

    # ---- stopping and finishing -------------------------------------------------------------

    def _stop(self, exc: BhtomError) -> None:
        self._ledger.stop(exc)
        self._throttle.end_probe()
        if self._settle is not None:
            for found in self._settle.drop_all():
                if self._pending.pop(found.fingerprint.path, None) is not None:
                    self._ledger.not_attempted(found.path, found.size)
            self._close_gate_when_done()

    def _finish(self, started: float, *, cancelled: bool) -> UploadSummary:
        self._done = True
        return self._ledger.summary(elapsed=self._clock.monotonic() - started, cancelled=cancelled)

    def _not_ready(self, gave_up: NotReady) -> None:
        item = self._pending.pop(gave_up.found.fingerprint.path, None)
        note = f" ({item.note})" if item is not None and item.note else ""
        self._ledger.not_ready(gave_up.found, gave_up.reason + note)
        self._close_gate_when_done()

    def _require_journal(self) -> UploadJournal:
        if self._journal is None:
            raise RuntimeError("the journal is not open")
        return self._journal

    def _require_triage(self) -> Triage:
        if self._triage is None:
            raise RuntimeError("the job has not started")
        return self._triage


def _with_marker(comment: str | None, marker: str | None) -> str | None:
    if marker is None:
        return comment
    return f"{comment} [{marker}]" if comment else f"[{marker}]"


def _renamed(candidate: Candidate) -> str | None:
    return candidate.wire_name if candidate.wire_name != candidate.path.name else None
