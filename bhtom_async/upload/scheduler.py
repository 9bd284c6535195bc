"""The bulk uploader: bounded, streaming, journaled, resumable, and never a duplicate.

`Uploader` runs the job: it walks the paths, holds back files still being written and feeds a
bounded pool of workers. A worker takes each file to its outcome with these pieces:

- `triage`: is the file stored already (journal, an earlier unclear send, a copy, the server)?
- `sending`: its sends within its deadline (journal states, reconcile before retry, changes);
- `preflight`: cheap checks of the token, target and camera before any upload;
- `throttle`: when uploads may start, the job-wide 429 pause and its budget, the rate caps;
- `ledger`: every outcome and event, and the summary;
- `claims`: with a shared journal, each file's claim, and the files other workers hold;
- `lookups` (the server look-ups) and `scratch` (where fpack frames are unpacked).

Design
------
*Pipeline.* One task walks the paths (`discovery.discover`, in a worker thread, a batch at a
time) and looks each file up in the journal: a file already uploaded is reported at once without
being read. A new or changed file goes to the workers if its last write is older than the settle
time, else to the `SettleGate`, which holds it until it has been still that long (then it goes to
the workers in the same run) or reports it as not ready. At most `concurrency` uploads are on
the wire at once, each one file as one streaming request (two workers share each upload slot:
one sends while the other readies the next file): about 2 MB in memory per upload (a 1 MiB
read, a 512 KiB write), chunks read in a worker thread, the file's sha256 computed in the same
pass. Queues are small memory streams, so a million-entry folder never fills memory.

*States.* ``sending`` is written (and fsynced) before a request starts; ``uploaded(id)``,
``failed(reason)``, ``unknown(reason)`` or ``changed(id)`` after it ends. A row still ``sending``
after a crash or ``kill -9``, and every ``unknown`` row, is reconciled on the next run before
anything is re-sent.

*Reconcile before retry.* Connect errors (nothing sent) are retried by the client's policy; a
429's ``Retry-After`` is the job's to wait (a pause that holds every worker, counted against the
job's `rate_limit_budget`), not the client's. When the body may
have reached the server (reset, read timeout, 5xx, a garbled 2xx), the uploader looks the file up
(`reconcile`) and re-sends only if it is absent; if it cannot tell, the file is ``unknown`` and
is not re-sent. Only one upload of a given name to a given place is in flight at a time, so two
same-named frames (``R/img.fits``, ``V/img.fits``) never compete for one stored product.

*Files that change.* The file's identity (size, modification time, inode) is compared before
and after its send. A frame rewritten while it was sent is journaled ``changed`` with the id of
the copy the server got (which may be inconsistent), and the file goes back to the settle gate;
once still, its new content is uploaded.

*Fail fast.* While the folder is walked, two cheap look-ups on the main host check the token,
the target and the camera's ONAME (`preflight`); a bad token, an unknown target or an unknown
camera stops the job there, before any upload. When they pass, `concurrency` uploads start at
once, and a refusal they cannot see (a camera not in the user's favourites, an unknown
observer, an unreachable upload service, a journal that can no longer be written) stops the job
at its first answer, with at most `concurrency` upload requests spent. When the checks cannot
tell, the first upload goes alone and the others wait for its answer. Either way the job ends
with one error (`UploadSummary.stopped`, with a hint), and the files not tried are reported as
not attempted. A problem with one file only fails that file.

*Cancellation.* Cancelling `run` stops discovery and new uploads; an upload cut off mid-request
is journaled ``unknown`` (shielded from the cancellation), and the journal is closed cleanly.

*Many workers.* With a shared journal (`UploadJournal.shared`: PostgreSQL), several jobs on
several hosts split the files: each file is claimed before it is handled (one worker at a time
holds it), and a file another worker holds is asked for again later, until it is this job's or
stored, so each job's report covers every file it was given (`claims`).

*Dry runs* send with ``dry_run=True``, read the journal to report what would be skipped, and
never write to it.
"""

from __future__ import annotations

import logging
import math
import os
import warnings
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from contextlib import aclosing, asynccontextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread
import attrs
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .._clock import Clock
from ..errors import AuthenticationError, BhtomError, JournalError, PermissionDeniedError
from ..models.uploads import UploadOptions
from .claims import CLAIM_POLL, HeldFiles
from .clocks import CreatedClock
from .discovery import Candidate, Fingerprint, Found, Rejected, discover, inspect
from .events import (
    BytesSent,
    FileHeld,
    FileQueued,
    UploadEvent,
    UploadOutcome,
    UploadSummary,
)
from .journal import JournalKey, UploadJournal, default_journal_path, key_of
from .journal_backend import open_journal
from .ledger import Ledger
from .lookups import created_for, listing_for, lookup_for, probe_newest_id
from .options import JobOptions
from .preflight import Checked, check_before_uploads
from .reconcile import NewestId, Sent, ServerCheck, Verdict
from .scratch import Scratch
from .sending import JOB_WIDE_ERRORS as JOB_WIDE_ERRORS
from .sending import FileSender
from .server_index import ServerIndex
from .settings import SettingsSource, SkipFile, settings_for
from .settle import NotReady, SettleGate
from .throttle import JobThrottle
from .triage import Triage

if TYPE_CHECKING:
    from ..client import Client

__all__ = ["CONCURRENT_RUNS", "EVENT_BACKLOG", "JOB_WIDE_ERRORS", "LOOKUP_CONNECTIONS", "Uploader"]

#: `Uploader.events` sheds `BytesSent` events while this many events are waiting.
EVENT_BACKLOG = 64
#: Connections kept free for look-ups while every worker is uploading.
LOOKUP_CONNECTIONS = 2
#: Workers per upload slot: while one sends, the next triages and prepares its file (`sending`).
WORKERS_PER_UPLOAD = 2

#: Said when the server check is a new journal's only protection (see docs/uploads.md).
CONCURRENT_RUNS = (
    "this journal is new, so only the server check (check_server, --check-server) stands between "
    "these files and a second copy: it sees what was stored before this job began, not another run "
    "sending the same files at the same time under another journal (both would store them); give "
    "such runs one journal, which lets one job at a time send"
)
StrPath = str | os.PathLike[str]
logger = logging.getLogger("bhtom_async")


@attrs.frozen
class _Item:
    """Strictly private: a file on its way to a worker, with the options it will be sent with."""

    found: Found
    options: UploadOptions
    note: str | None = None
    #: The fingerprint the journal had no row for when the file was queued (None: not looked up).
    unjournaled: Fingerprint | None = None


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
        self._sender: FileSender | None = None
        self._settle: SettleGate | None = None
        self._pending: dict[str, _Item] = {}  # queued for a worker or held back, by path
        self._scratch = Scratch()
        # Files this run finished with, as they were (None: refused by the walk, e.g. a log file).
        self._handled: dict[str, Fingerprint | None] = {}
        self._intake_scope = anyio.CancelScope()
        self._busy = 0  # files a worker is handling now (each may go back to the settle gate)
        self._first_alone = False  # the server check is on: its stamps wait for the first receipt
        self._newest = NewestId()
        self._walked = False
        # Shared journals: the claims, and the files another worker holds (asked for again).
        self._held = HeldFiles[_Item](self._clock, self._ledger, self._scratch, self._stop)

    # ---- public -----------------------------------------------------------------------------

    async def run(self) -> UploadSummary:
        """Upload everything; return the per-file outcomes and the summary.

        Per-file problems are outcomes; refusals every file would get end up in
        `summary.stopped`. Raises only when the journal cannot be opened.
        """
        started = self._clock.monotonic()
        workers = await self._prepare_client()
        journal = open_journal(
            self._journal_path, read_only=self._dry_run, wait=self._job.journal_wait, clock=self._clock
        )
        journal.on_write = self._ledger.emit  # writes become events (the night page's metrics)
        await journal.open()
        self._journal = journal
        # Ids are assigned in order: none at or below the newest one seen can be a later upload. The
        # job-start listing runs beside the checks before uploads (`_check_first`), not before them.
        newest = self._newest = NewestId()
        stamps = CreatedClock(created_for(self._client))  # do `created` and `Date` share a clock?
        self._server_check = ServerCheck(
            lookup_for(self._client, newest),
            journal,
            self._clock,
            lambda: self._client.server_clock_offset,
            lambda: stamps.gap,
        )
        check = self._job.check_server
        server_index = None
        if check or (check is None and self._source is not None):
            server_index = ServerIndex(
                listing_for(self._client, newest),
                lambda: self._client.server_clock_offset,
                lambda: stamps.gap,
            )
            # It reads `created` stamps: the first upload goes alone, so its receipt tells whether
            # they run on the `Date` header's clock before other files are judged by them.
            self._first_alone = not self._dry_run
        if server_index is not None and journal.fresh and not self._dry_run:
            self._ledger.warn(CONCURRENT_RUNS)  # in the summary (the CLI prints it) and the log
            logger.warning("%s", CONCURRENT_RUNS)
        triage = Triage(
            journal,
            self._ledger,
            self._scratch,
            dry_run=self._dry_run,
            server_index=server_index,
            reconcile=self._reconcile,
            stop=self._stop,
            resend_unknown=self._job.resend_unknown,
        )
        self._sender = FileSender(
            self._client.with_options(retry_after_cap=0.0),  # a 429's pause is the job's, within budget
            journal,
            self._ledger,
            self._throttle,
            self._scratch,
            triage,
            self._job,
            dry_run=self._dry_run,
            reconcile=self._reconcile,
            stop=self._stop,
            requeue=self._requeue,
            newest=newest,
            stamps=stamps,
            uploads=workers,
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

        checks = anyio.CancelScope()

        async def work() -> None:
            async with anyio.create_task_group() as pool:
                for _ in range(workers * WORKERS_PER_UPLOAD):
                    pool.start_soon(self._work, receive.clone())
                receive.close()
            checks.cancel()  # every file was handled (a re-run may send none): no need to wait

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._check_first, checks)
                tg.start_soon(self._produce, send)
                tg.start_soon(settle)
                if self._require_journal().shared:
                    tg.start_soon(self._ask_again, send.clone())
                tg.start_soon(work)
        finally:
            self._abandon_pending()

    async def _check_first(self, scope: anyio.CancelScope) -> None:
        """The cheap checks before any upload, with the job-start id listing beside them: stop the
        job, or say how uploads may start."""
        answers: list[Checked] = []

        async def check() -> None:
            answers.append(
                await check_before_uploads(self._client, self._defaults, per_file=self._settings is not None)
            )

        with scope:
            async with anyio.create_task_group() as both:
                both.start_soon(check)
                if not self._dry_run:  # every send journals the newest id seen before it: learn it first
                    both.start_soon(probe_newest_id, self._client, self._newest)
        if scope.cancelled_caught:
            return
        (checked,) = answers
        if checked.refusal is not None:
            self._stop(checked.refusal)
        elif checked.reason is not None:
            logger.info("uploads start one at a time: %s", checked.reason)
        elif self._first_alone:
            logger.info("the first upload goes alone: the server check waits for its receipt")
        alone = checked.kind != "passed" or self._first_alone
        self._throttle.checks_answered(one_at_a_time=alone)

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
                if repeated or (isinstance(item, Rejected) and self._taken(item.path)):
                    continue  # a path listed twice: the file is handled (and reported) once
                if isinstance(item, Rejected):
                    self._handled[str(item.path.absolute())] = None
                    self._ledger.rejected(item)
                elif self._ledger.stopping:
                    self._ledger.not_attempted(item.path, item.size)
                else:
                    await self._intake(item, send)

    def _taken(self, path: Path) -> bool:
        """This very path is queued, held, being handled or done in this run."""
        key = str(path.absolute())
        return key in self._pending or key in self._handled or self._ledger.has_outcome(key)

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
        self._drop_held()

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
        item = _Item(found, options, unjournaled=found.fingerprint if row is None else None)
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
        idle = not self._pending and not self._busy and not self._held
        if self._walked and idle and self._settle is not None:
            self._settle.close()

    def _abandon_pending(self) -> None:
        """Every file still queued or held when the job ends is reported as not attempted."""
        for item in [*self._pending.values(), *self._held.abandon()]:
            self._ledger.not_attempted(item.found.path, item.found.size)
        self._pending.clear()

    async def _ask_again(self, send: MemoryObjectSendStream[Found | _Item]) -> None:
        """Shared journals: queue the files other workers held again, until none is left."""
        async with send:
            while not (self._walked and not self._pending and not self._busy and not self._held):
                await self._clock.sleep(CLAIM_POLL)
                for item in self._held.due():
                    if self._ledger.stopping:
                        self._ledger.not_attempted(item.found.path, item.found.size)
                        continue
                    self._pending[item.found.fingerprint.path] = item
                    await send.send(item)
            self._close_gate_when_done()

    # ---- one file ---------------------------------------------------------------------------

    async def _handle(self, item: _Item) -> None:
        inspected = await anyio.to_thread.run_sync(inspect, item.found, item.options.data_product_type)
        if isinstance(inspected, Rejected):
            self._ledger.rejected(inspected)
            return
        lock = self._names.setdefault((key_of(item.options), inspected.wire_name), anyio.Lock())
        async with lock:  # one upload of a name to a place at a time
            journal = self._require_journal()
            if not journal.shared:
                # This job alone writes the journal: a file it found no row for, unchanged since,
                # still has none (one look-up per new file, not two).
                unjournaled = item.unjournaled == inspected.fingerprint
                await self._require_sender().handle(
                    inspected, item.options, item.note, unjournaled=unjournaled
                )
                return
            if not await self._held.claim(journal, key_of(item.options), inspected, item):
                return
            try:
                await self._require_sender().handle(inspected, item.options, item.note)
            finally:
                with anyio.CancelScope(shield=True), suppress(JournalError):
                    await journal.release(key_of(item.options), inspected.fingerprint)

    async def _reconcile(self, sent: Sent, sha256: str | None) -> Verdict:
        """Ask the server whether the file arrived (see `reconcile`)."""
        assert self._server_check is not None
        try:
            return await self._server_check.check(sent, sha256=sha256)
        except (AuthenticationError, PermissionDeniedError) as exc:
            self._stop(exc)
            return Verdict("unknown", reason=f"could not look the file up on the server ({exc.headline})")

    def _requeue(self, candidate: Candidate, options: UploadOptions, note: str) -> None:
        """Send the file again once it has settled (its new content is a new upload)."""
        assert self._settle is not None
        found = Found(candidate.path, candidate.fingerprint, candidate.wire_name)
        self._pending[candidate.fingerprint.path] = _Item(found, options, note)
        self._ledger.emit(FileHeld(candidate.path, candidate.size))
        self._settle.hold(found)

    # ---- stopping and finishing -------------------------------------------------------------

    def _stop(self, exc: BhtomError) -> None:
        self._ledger.stop(exc)
        self._drop_held()

    def _drop_held(self) -> None:
        """Start nothing more: the files held back to settle are reported as not attempted."""
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
        if gave_up.vanished:  # never ready, so no failure: a temporary file renamed or deleted
            self._ledger.vanished(gave_up.found, gave_up.reason + note)
        else:
            self._ledger.not_ready(gave_up.found, gave_up.reason + note)
        self._close_gate_when_done()

    def _require_journal(self) -> UploadJournal:
        if self._journal is None:
            raise RuntimeError("the journal is not open")
        return self._journal

    def _require_sender(self) -> FileSender:
        if self._sender is None:
            raise RuntimeError("the job has not started")
        return self._sender
