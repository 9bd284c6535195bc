"""The bulk uploader: bounded, streaming, journaled, resumable, and never a duplicate.

Design
------
*Pipeline.* One task walks the paths (`discovery.discover`, in a worker thread, a batch at a time)
and feeds candidates into an anyio memory object stream whose buffer holds `concurrency` items, so
a million-entry folder never fills memory: discovery waits while the workers are busy. At most
`concurrency` workers (never more than the client's connection pool) take candidates and upload
each file as one streaming request (`_multipart.MultipartBody` via `bh.uploads.prepare/send`):
about one chunk (512 KiB) in memory per in-flight upload, chunks read in a worker thread, and the
file's sha256 computed in that same single pass.

*Skipping without reading.* The journal stores each file's stat fingerprint (absolute path, size,
mtime_ns) next to its content hash. A re-run finds the row by fingerprint and skips an uploaded
file without opening it. Only when a file has no row but an uploaded row has the same name and
size (the frame was copied elsewhere or touched) is it hashed first (a second read, only in that
rare case) and skipped if the content matches. Content hash, target, observatory and data product
type identify what is on the server; the fingerprint is the cheap way to find it again.

*States.* ``sending`` is written (and fsynced) before a request starts; ``uploaded(id)``,
``failed(reason)`` or ``unknown(reason)`` after it ends. A row still ``sending`` after a crash or
``kill -9``, and every ``unknown`` row, is reconciled on the next run before anything is re-sent.

*Reconcile before retry.* Connect errors (nothing sent) and 429s are retried by the client's
policy (the 429 pause holds every worker). When the body may have reached the server (reset, read
timeout, 5xx), the uploader looks the file up (`reconcile.reconcile`) and re-sends only if it is
absent; if it cannot decide, the file is ``unknown`` and is not re-sent.

*Fail fast.* The first upload request goes alone; the others wait for its answer. A bad token,
an unknown target, a camera not in the user's favourites, or a refusal to serve the account stops
the job after that one request with one error (`UploadSummary.stopped`, with a hint). A problem
with one file (corrupt frame, vanished file) only fails that file.

*Cancellation.* Cancelling `run` stops discovery and new uploads; an upload cut off mid-request
is journaled ``unknown`` (shielded from the cancellation), and the journal is closed cleanly.

*Dry runs* send with ``dry_run=True``, read the journal to report what would be skipped, and
never write to it.
"""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import aclosing, asynccontextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .._clock import Clock
from .._retry import backoff
from ..errors import (
    APIError,
    AuthenticationError,
    BhtomError,
    CameraNotFavouriteError,
    InvalidInputError,
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
from .discovery import Candidate, Rejected, discover, sha256_of
from .events import (
    BytesSent,
    FileFinished,
    FileSkipped,
    FileStarted,
    JobFinished,
    OutcomeStatus,
    UploadEvent,
    UploadOutcome,
    UploadSummary,
)
from .journal import Journal, default_journal_path, key_of
from .options import JobOptions
from .ratelimit import TokenBucket
from .reconcile import ServerCheck, Verdict
from .settings import SettingsSource, SkipFile, settings_for

if TYPE_CHECKING:
    from ..api.uploads import PreparedUpload
    from ..client import Client

__all__ = ["Uploader"]

#: `Uploader.events` sheds `BytesSent` events while this many events are waiting.
EVENT_BACKLOG = 64

StrPath = str | os.PathLike[str]


class _Stop(Exception):
    """Strictly private: raised inside a worker once the job has been stopped."""


class Uploader:
    """Upload many files, at most `job.concurrency` at a time, journaled so nothing is sent twice.

    Args:
        client: a `Client` (opened on first use if it is not yet).
        paths: files and directories (walked recursively, lazily).
        options: what the server is told about every file (`UploadOptions`); ``fits_file``
            accepts only FITS files (``.fits/.fit/.fts`` with a ``SIMPLE  =`` card), other types
            any non-empty file. With ``dry_run`` the server checks each file and stores
            nothing, and the journal is only read.
        job: how the job runs (`JobOptions`: concurrency, journal, rate limits, ...).
        settings: per-file options, a mapping (key: path as given, absolute path, or file name)
            or a callback ``(path, options) -> UploadOptions | SkipFile | None`` (sync callbacks
            run in a worker thread, so they may read FITS headers; async ones are awaited).
        on_event: called with every `UploadEvent` (keep it quick; it runs on the event loop).
        clock: time source for backoff and rate limits (default: the client's).

    Example:
        >>> options = UploadOptions(target="Gaia22bpl", observatory="HarnessObs_HarnessCam")
        >>> summary = await Uploader(bh, ["night/"], options,                       # doctest: +SKIP
        ...                          JobOptions(journal="night.sqlite3")).run()
        >>> print(summary, summary.ids)                                            # doctest: +SKIP
    """

    def __init__(
        self,
        client: Client,
        paths: StrPath | Sequence[StrPath],
        options: UploadOptions,
        job: JobOptions | None = None,
        *,
        settings: SettingsSource | None = None,
        on_event: Callable[[UploadEvent], None] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._client = client
        self._paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
        self._defaults = options
        self._job = job or JobOptions()
        self._dry_run = options.dry_run
        self._journal_path = self._job.journal or str(default_journal_path())
        self._settings = settings
        self._on_event = on_event
        self._clock: Clock = clock or client.clock
        rps, bps = self._job.max_requests_per_second, self._job.max_bytes_per_second
        self._requests = TokenBucket(rps, burst=1, clock=self._clock) if rps else None
        self._bytes = TokenBucket(bps, clock=self._clock) if bps else None
        self._outcomes: list[UploadOutcome] = []
        self._bytes_sent = 0
        self._stopped: BhtomError | None = None
        self._gate = anyio.Event()
        self._probe_lock = anyio.Lock()
        self._journal: Journal | None = None
        self._done = False
        self._in_flight: dict[str, anyio.Event] = {}
        self._rng = random.Random()

    # ---- public -----------------------------------------------------------------------------

    async def run(self) -> UploadSummary:
        """Upload everything; return the per-file outcomes and the summary.

        Raises only for problems of the job itself (a journal that cannot be opened, a closed
        client). Per-file problems are outcomes; job-wide refusals end up in `summary.stopped`.
        """
        started = self._clock.monotonic()
        await self._client.open()
        # Keep one pooled connection free for reconciliation lookups during long uploads.
        pool = self._client.config.max_connections
        workers = max(1, min(self._job.concurrency, pool - 1 if pool > 1 else 1))
        cancelled = False
        async with Journal(self._journal_path, read_only=self._dry_run) as journal:
            self._journal = journal
            self._server_check = ServerCheck(self._client, journal, self._clock)
            send, receive = anyio.create_memory_object_stream[Candidate](max_buffer_size=workers)
            try:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self._produce, send)
                    for _ in range(workers):
                        tg.start_soon(self._work, receive.clone())
                    receive.close()
            except anyio.get_cancelled_exc_class():
                cancelled = True
                raise
            finally:
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
        forward = self._on_event

        def enqueue(event: UploadEvent) -> None:
            if forward is not None:
                forward(event)
            if isinstance(event, BytesSent) and send.statistics().current_buffer_used >= EVENT_BACKLOG:
                return
            with suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):  # the consumer left
                send.send_nowait(event)

        self._on_event = enqueue

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
            self._on_event = forward

    @property
    def outcomes(self) -> tuple[UploadOutcome, ...]:
        """The outcomes so far (also readable after a cancelled `run`)."""
        return tuple(self._outcomes)

    # ---- pipeline ---------------------------------------------------------------------------

    def _finish(self, started: float, *, cancelled: bool) -> UploadSummary:
        self._done = True
        summary = UploadSummary(
            outcomes=tuple(self._outcomes),
            stopped=self._stopped,
            cancelled=cancelled,
            bytes_sent=self._bytes_sent,
            elapsed=self._clock.monotonic() - started,
        )
        self._emit(JobFinished(summary))
        return summary

    async def _produce(self, send: MemoryObjectSendStream[Candidate]) -> None:
        async with send:
            found = discover(
                self._paths,
                data_product_type=self._defaults.data_product_type,
                include=self._job.include,
                exclude=self._job.exclude,
                min_age=self._job.min_age,
            )
            async with aclosing(found):
                async for item in found:
                    if self._stopped is not None:
                        return
                    if isinstance(item, Rejected):
                        self._skip(item.path, item.reason, size=item.size)
                        continue
                    try:
                        await send.send(item)
                    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                        return  # every worker has left (the job was stopped)

    async def _work(self, receive: MemoryObjectReceiveStream[Candidate]) -> None:
        async with receive:
            async for candidate in receive:
                if self._stopped is not None:
                    return
                try:
                    await self._handle(candidate)
                except _Stop:
                    return

    # ---- one file ---------------------------------------------------------------------------

    async def _handle(self, candidate: Candidate) -> None:
        # The same file reached twice in one run (listed twice, or inside a listed folder): only
        # one worker may handle it at a time; the later one then finds its journal row.
        key = candidate.fingerprint.path
        while key in self._in_flight:
            await self._in_flight[key].wait()
        self._in_flight[key] = anyio.Event()
        try:
            await self._handle_one(candidate)
        finally:
            self._in_flight.pop(key).set()

    async def _handle_one(self, candidate: Candidate) -> None:
        path, fp = candidate.path, candidate.fingerprint
        job = await settings_for(self._settings, path, fp.path, self._defaults)
        if isinstance(job, SkipFile):
            self._skip(path, job.reason, size=fp.size)
            return
        journal = self._require_journal()
        row = await journal.find(key_of(job), fp.path, fp.size, fp.mtime_ns)
        if row is not None and row.state == "uploaded":
            self._skip(
                path,
                f"already uploaded (id {row.data_product_id})",
                size=fp.size,
                data_product_id=row.data_product_id,
                sha256=row.sha256,
            )
            return
        if row is not None and row.state in ("sending", "unknown"):
            if self._dry_run:
                self._skip(
                    path, "an earlier upload's outcome is unknown; a real run reconciles it", size=fp.size
                )
                return
            verdict = await self._reconcile(job, row.name, row.sent_at, row.id, row.sha256)
            if verdict.kind == "stored":
                self._finished(
                    UploadOutcome(
                        path,
                        "uploaded",
                        data_product_id=verdict.data_product_id,
                        size=fp.size,
                        sha256=row.sha256,
                        reconciled=True,
                    )
                )
                return
            if verdict.kind == "undecided":
                await journal.mark(row.id, "unknown", reason=verdict.reason)
                self._finished(UploadOutcome(path, "unknown", reason=verdict.reason, size=fp.size))
                return
        if row is None and await self._is_copy(candidate, job):
            return
        await self._send(candidate, job)

    async def _is_copy(self, candidate: Candidate, job: UploadOptions) -> bool:
        """A file new to the journal whose name and size match an uploaded row: compare content."""
        journal = self._require_journal()
        fp = candidate.fingerprint
        similar = await journal.find_similar(key_of(job), candidate.path.name, fp.size)
        if not similar:
            return False
        try:
            digest = await anyio.to_thread.run_sync(sha256_of, candidate.path)
        except OSError:
            return False  # the upload itself will report the problem
        original = next((r for r in similar if r.sha256 == digest), None)
        if original is None:
            return False
        if not self._dry_run:
            await journal.record_skip_copy(
                key_of(job), fp.path, candidate.path.name, fp.size, fp.mtime_ns, original
            )
        self._skip(
            candidate.path,
            f"same content as {original.path}, already uploaded (id {original.data_product_id})",
            size=fp.size,
            data_product_id=original.data_product_id,
            sha256=digest,
        )
        return True

    async def _send(self, candidate: Candidate, job: UploadOptions) -> None:
        attempts = 0
        while True:
            if self._stopped is not None:
                raise _Stop
            outcome: str | None = None
            if not self._gate.is_set():
                # Until one request has been answered, requests go one at a time: a refusal that
                # every file would get (bad token, unknown target) then costs exactly one request.
                async with self._probe_lock:
                    if self._stopped is not None:
                        raise _Stop
                    # Workers queued here while the probe ran go in parallel once it opened the gate.
                    if not self._gate.is_set():
                        outcome = await self._send_once(candidate, job, attempts + 1)
                        if outcome != "not sent":
                            self._gate.set()
            if outcome is None:
                outcome = await self._send_once(candidate, job, attempts + 1)
            if outcome != "retry":
                return
            attempts += 1
            policy = self._client.config.retry
            await self._clock.sleep(
                backoff(attempts, initial=policy.wait_initial, maximum=policy.wait_max, rng=self._rng)
            )

    async def _send_once(self, candidate: Candidate, job: UploadOptions, attempt: int) -> str:
        """One request for `candidate`: ``done``, ``retry`` (send again) or ``not sent``."""
        path, fp = candidate.path, candidate.fingerprint
        journal = self._require_journal()
        try:
            prepared = await self._prepare(path, job)
        except InvalidInputError as exc:
            self._skip(path, exc.message, size=fp.size)
            return "not sent"
        row_id = None
        if not self._dry_run:
            row_id = await journal.begin_send(key_of(job), fp.path, path.name, fp.size, fp.mtime_ns)
        sent_at = time.time()
        if self._requests is not None:
            await self._requests.acquire(1)
        self._emit(FileStarted(path, fp.size, attempt))
        retry = await self._attempt(prepared, job, candidate, row_id, attempt, sent_at)
        return "retry" if retry else "done"

    async def _attempt(
        self,
        prepared: PreparedUpload,
        job: UploadOptions,
        candidate: Candidate,
        row_id: int | None,
        attempts: int,
        sent_at: float,
    ) -> bool:
        """Send once and record the outcome; True if the file should be sent again."""
        path, size = candidate.path, candidate.size
        journal = self._require_journal()

        async def mark(state: str, **fields: object) -> None:
            if row_id is not None:
                await journal.mark(row_id, state, **fields)  # type: ignore[arg-type]

        def finish(status: OutcomeStatus, **fields: Any) -> bool:
            self._finished(UploadOutcome(path, status, size=size, attempts=attempts, **fields))
            return False  # not to be sent again

        async def fail(status: OutcomeStatus, reason: str, error: BhtomError | None) -> bool:
            await mark(status, reason=reason)
            return finish(status, reason=reason, error=error)

        try:
            receipt = await self._client.uploads.send(prepared)
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                await fail("unknown", "cancelled while sending; a re-run reconciles it", None)
            raise
        except InvalidInputError as exc:
            # The file changed or vanished mid-stream: the body was cut short, nothing is stored.
            return await fail("failed", exc.message, exc)
        except (UploadOutcomeUnknown, ServerError, ResponseDecodeError) as exc:
            # The body may have reached the server: look before sending again.
            sha = prepared.body.sha256.get(path.name)
            if self._dry_run:
                return finish("unknown", reason=_short(exc), error=exc)
            verdict = await self._reconcile(job, path.name, sent_at, row_id, sha)
            if verdict.kind == "stored":  # ServerCheck has journaled it
                return finish(
                    "uploaded", data_product_id=verdict.data_product_id, sha256=sha, reconciled=True
                )
            if verdict.kind == "absent" and attempts < self._job.max_attempts:
                await mark("failed", reason=f"not stored after: {_short(exc)}")
                return True
            if verdict.kind == "absent":
                return await fail("failed", f"not stored after {attempts} attempts; last: {_short(exc)}", exc)
            return await fail("unknown", verdict.reason or "could not tell whether the server stored it", exc)
        except RateLimitError as exc:
            # Refused before anything was done; the client already honoured its retries and pauses.
            if attempts < self._job.max_attempts and exc.retry_after is None:
                await mark("failed", reason=_short(exc))
                return True
            self._stop(exc)
            return await fail("failed", _short(exc), exc)
        except (APIError, TransportError) as exc:
            if _is_job_wide(exc):
                self._stop(exc)
            return await fail("failed", _short(exc), exc)
        files = receipt.files
        sha = prepared.body.sha256.get(path.name)
        if self._dry_run:
            note = f" ({files[0].message})" if files and files[0].message else ""
            return finish(
                "dry_run", reason="dry run: checked by the server, nothing stored" + note, sha256=sha
            )
        data_product_id = files[0].id if files else None
        await mark("uploaded", data_product_id=data_product_id, sha256=sha)
        return finish("uploaded", data_product_id=data_product_id, sha256=sha)

    async def _prepare(self, path: Path, job: UploadOptions) -> PreparedUpload:
        def on_bytes(n: int) -> None:
            self._bytes_sent += n
            self._emit(BytesSent(path, n, self._bytes_sent))

        return await self._client.uploads.prepare(
            path,
            job.replace(dry_run=self._dry_run),
            on_bytes=on_bytes,
            throttle=self._bytes.acquire if self._bytes is not None else None,
        )

    async def _reconcile(
        self, job: UploadOptions, name: str, sent_at: float | None, row_id: int | None, sha256: str | None
    ) -> Verdict:
        """Ask the server whether the file arrived (see `reconcile.ServerCheck`)."""
        try:
            return await self._server_check.check(key_of(job), name, sent_at, row_id, sha256)
        except (AuthenticationError, PermissionDeniedError) as exc:
            self._stop(exc)
            return Verdict("undecided", reason=f"could not look the file up on the server ({exc})")

    # ---- helpers ----------------------------------------------------------------------------

    def _stop(self, exc: BhtomError) -> None:
        if self._stopped is None:
            self._stopped = exc
        self._gate.set()

    def _skip(
        self,
        path: Path,
        reason: str,
        *,
        size: int = 0,
        data_product_id: int | None = None,
        sha256: str | None = None,
    ) -> None:
        outcome = UploadOutcome(
            path, "skipped", reason=reason, size=size, data_product_id=data_product_id, sha256=sha256
        )
        self._outcomes.append(outcome)
        self._emit(FileSkipped(outcome))

    def _finished(self, outcome: UploadOutcome) -> None:
        self._outcomes.append(outcome)
        self._emit(FileFinished(outcome))

    def _emit(self, event: UploadEvent) -> None:
        if self._on_event is not None:
            self._on_event(event)

    def _require_journal(self) -> Journal:
        if self._journal is None:
            raise RuntimeError("the journal is not open")
        return self._journal


#: Refusals that every other file of the job would get too: the job stops after the first.
JOB_WIDE_ERRORS = (
    AuthenticationError,
    PermissionDeniedError,
    TargetNotFoundError,
    CameraNotFavouriteError,
    ObserverUnknownError,
)


def _is_job_wide(exc: BaseException) -> bool:
    return isinstance(exc, JOB_WIDE_ERRORS)


def _short(exc: BaseException) -> str:
    text = exc.headline if isinstance(exc, BhtomError) else str(exc)
    return text if len(text) <= 300 else text[:299] + "…"
