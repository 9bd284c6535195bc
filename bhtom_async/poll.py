"""The calibration poller: data-product ids in, final calibration results out, as they are ready.

`bh.calibration.wait(ids)` is its front door. One request per round for up to 200 ids (the
server's page size), never one per id. Rounds back off from a short interval toward a cap (the
one `backoff` of `bhtom_async._retry`), and new ids bring the pace back to the short interval. The
server fails a whole batch with a 400 when one id in it is broken (``CCDPhotJob matching query
does not exist.``, several records for one product, ...), so a failing batch is split in halves
until the culprit is alone; such ids are then polled apart from the rest. Each id has its own
deadline. Records carry no ``id``: they are matched by their ``dataproduct`` field.

Ids may arrive over time from an async source (an uploader finishing files). Reading such a
source needs a task of its own, and that task belongs to a task group owned by
``async with bh.calibration.wait(source) as results:``; a plain list of ids needs no task and can
be iterated directly.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Sequence,
)
from pathlib import Path
from types import TracebackType

import anyio
import anyio.abc
import anyio.to_thread
import attrs
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._clock import Clock
from ._ratelimit import TokenBucket
from ._retry import backoff
from .errors import InvalidInputError, ServerError, TransportError, ValidationError
from .models.calibration import CalibrationResult, CalibrationStatus
from .models.calibration_page import ResultItem
from .models.uploads import UploadedFile

__all__ = [
    "CalibrationWait",
    "FetchResults",
    "IdSource",
    "MAX_FAILED_ROUNDS",
    "PAGE_SIZE",
    "PollOptions",
    "PollRound",
]

#: The server's page size for calibration results, and so the most ids one round asks at once.
PAGE_SIZE = 200
#: Rounds in a row that may fail on transport errors or 502-504 before the wait gives up.
MAX_FAILED_ROUNDS = 5
IdSource = Iterable[int | UploadedFile] | AsyncIterable[int | UploadedFile]
#: ``fetch(ids, plot)``: one results request for `ids`, one `ResultItem` per id asked.
FetchResults = Callable[[Sequence[int], bool], Awaitable[list[ResultItem]]]


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise InvalidInputError(f"{attribute.name} must be a positive number of seconds, not {value!r}")


def _not_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (math.isfinite(value) and value >= 0):
        raise InvalidInputError(f"{attribute.name} must be zero or more seconds, not {value!r}")


def _optional_path(value: str | Path | None) -> Path | None:
    return None if value is None else Path(value)


@attrs.frozen
class PollOptions:
    """How `bh.calibration.wait` polls. Times are seconds on the client's clock.

    Attributes:
        interval: wait before the second round (the first is sent at once).
        max_interval: the cap the waits grow toward (x`growth` per round).
        timeout: how long an id may stay unfinished after it arrived; then it is yielded as
            `PENDING` with a note saying what was last seen.
        missing_grace: how long an id may be unknown to the server (or break its batch) before
            it is yielded as `ERROR`.
        plot: ask for calibration plots (`result.plot`, PNG bytes).
        plots_dir: also save each plot there as ``<id>.png`` (implies `plot`).
        batch_size: ids per request (at most the server's page size, 200).
        growth: factor by which the wait between rounds grows.
        max_requests_per_second: the most results requests the wait sends per second, bisection
            of failing batches included (a burst of one round's worth is allowed), so a server
            failing every batch is never flooded.
    """

    interval: float = attrs.field(default=3.0, validator=_positive)
    max_interval: float = attrs.field(default=30.0, validator=_positive)
    timeout: float = attrs.field(default=600.0, validator=_positive)
    missing_grace: float = attrs.field(default=300.0, validator=_not_negative)
    plot: bool = False
    plots_dir: Path | None = attrs.field(default=None, converter=_optional_path)
    batch_size: int = PAGE_SIZE
    growth: float = 1.5
    max_requests_per_second: float = attrs.field(default=10.0, validator=_positive)

    def __attrs_post_init__(self) -> None:
        if self.max_interval < self.interval:
            raise InvalidInputError("need interval <= max_interval (seconds)")
        if not 1 <= self.batch_size <= PAGE_SIZE:
            raise InvalidInputError(f"batch_size must be between 1 and {PAGE_SIZE}")
        if not (math.isfinite(self.growth) and self.growth >= 1.0):
            raise InvalidInputError(f"growth must be a number of at least 1, not {self.growth!r}")


@attrs.frozen
class PollRound:
    """One round of the poller (for a `bh.calibration.wait(..., on_round=...)` observer).

    Attributes:
        asked: ids pending when the round started.
        finished: results that became final in it.
        pending: ids still pending after it (timed-out ids are no longer pending).
        failed: the round's requests failed (a transport error or 502-504; the next round retries).
    """

    asked: int
    finished: int
    pending: int
    failed: bool = False


@attrs.define
class _Tracked:
    """Strictly private: what the poller knows about one pending id."""

    id: int
    filename: str | None
    dry_run: bool
    deadline: float
    missing_since: float | None = None
    broken_since: float | None = None
    broken: str | None = None
    broken_rounds: int = 0
    next_check: float = 0.0
    last: CalibrationResult | None = None


@attrs.frozen
class _Broken:
    """Strictly private: the id alone still fails the whole request."""

    message: str


class CalibrationWait:
    """Final calibration results for ids that may keep arriving, in completion order.

    Use ``async with bh.calibration.wait(ids) as results: async for result in results: ...``;
    with a plain iterable of ids, ``async for result in bh.calibration.wait(ids)`` works too.
    An async source of ids needs the ``async with`` form: its reader runs in a task that the
    block owns, so no task outlives it.
    """

    def __init__(
        self,
        fetch: FetchResults,
        clock: Clock,
        ids: IdSource,
        options: PollOptions,
        on_round: Callable[[PollRound], None] | None = None,
    ) -> None:
        self._fetch = fetch
        self._on_round = on_round
        self._clock = clock
        self._source = ids
        self._options = options
        self._pending: dict[int, _Tracked] = {}
        self._stack: contextlib.AsyncExitStack | None = None
        rate = options.max_requests_per_second
        self._requests = TokenBucket(rate, burst=max(1.0, rate), clock=clock)

    # ---- the two ways in --------------------------------------------------------------------

    def __aiter__(self) -> AsyncGenerator[CalibrationResult, None]:
        if isinstance(self._source, AsyncIterable):
            raise InvalidInputError(
                "ids that arrive over time need a block that owns their reader",
                hint="write `async with bh.calibration.wait(source) as results: async for r in results: ...`",
            )
        for item in self._source:
            self._add(item)
        return self._loop(None)

    async def __aenter__(self) -> AsyncIterator[CalibrationResult]:
        stack = contextlib.AsyncExitStack()
        if isinstance(self._source, AsyncIterable):
            send, receive = anyio.create_memory_object_stream[int | UploadedFile | BaseException](
                max_buffer_size=256
            )
            task_group = await stack.enter_async_context(anyio.create_task_group())
            stack.callback(task_group.cancel_scope.cancel)  # runs before the group is awaited
            stack.callback(receive.close)
            task_group.start_soon(_feed, self._source, send)
            results = self._loop(receive)
        else:
            results = self.__aiter__()
        stack.push_async_callback(results.aclose)
        self._stack = stack
        return results

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            # The block's own exception is not handed to the task group (which would wrap it in
            # an ExceptionGroup): the reader is cancelled and awaited, then it propagates as is.
            await stack.aclose()

    # ---- the engine -------------------------------------------------------------------------

    async def _loop(
        self, receive: MemoryObjectReceiveStream[int | UploadedFile | BaseException] | None
    ) -> AsyncGenerator[CalibrationResult, None]:
        source_open = receive is not None
        rounds = 0  # rounds since ids last arrived (sets the wait)
        failed_rounds = 0
        while True:
            if receive is not None and source_open:
                idle = not self._pending
                if idle:
                    source_open = self._take(await _receive(receive))
                arrived, source_open = self._drain(receive, source_open)
                if arrived or idle:
                    rounds = 0  # fresh ids: start again from the short interval
            if not self._pending:
                if source_open:
                    continue
                return
            asked = len(self._pending)
            try:
                finished = await self._round()
                failed_rounds = 0
            except (TransportError, ServerError) as exc:
                if isinstance(exc, ServerError) and exc.status not in (502, 503, 504):
                    raise
                failed_rounds += 1
                self._tell(PollRound(asked, 0, len(self._pending), failed=True))
                if failed_rounds >= MAX_FAILED_ROUNDS:
                    raise
                finished = []
            for result in finished:
                yield result
            now = self._clock.monotonic()
            expired = [t for t in self._pending.values() if now >= t.deadline]
            for tracked in expired:
                del self._pending[tracked.id]
            if not failed_rounds:
                self._tell(PollRound(asked, len(finished), len(self._pending)))
            for tracked in expired:
                yield self._timed_out(tracked)
            if not self._pending:
                continue
            rounds += 1
            options = self._options
            delay = backoff(
                rounds, initial=options.interval, maximum=options.max_interval, factor=options.growth
            )
            earliest = min(t.deadline for t in self._pending.values())
            await self._clock.sleep(max(0.0, min(delay, earliest - now)))

    def _tell(self, event: PollRound) -> None:
        if self._on_round is not None:
            self._on_round(event)

    def _take(self, item: int | UploadedFile | BaseException | None) -> bool:
        """Add a received item; False once the source has ended. A failed source's error is raised."""
        if item is None:
            return False
        if isinstance(item, BaseException):
            raise item
        self._add(item)
        return True

    def _drain(
        self, receive: MemoryObjectReceiveStream[int | UploadedFile | BaseException], source_open: bool
    ) -> tuple[bool, bool]:
        arrived = False
        while source_open:
            try:
                item = receive.receive_nowait()
            except anyio.WouldBlock:
                break
            except anyio.EndOfStream:
                return arrived, False
            source_open = self._take(item)
            arrived = arrived or source_open
        return arrived, source_open

    def _add(self, item: int | UploadedFile) -> None:
        if isinstance(item, UploadedFile):
            key, filename, dry_run = item.id, item.local_name or item.filename, item.dry_run
        elif isinstance(item, int) and not isinstance(item, bool):
            key, filename, dry_run = item, None, False
        else:
            raise InvalidInputError(f"wait() takes data-product ids or UploadedFile, got {item!r}")
        if key not in self._pending:
            deadline = self._clock.monotonic() + self._options.timeout
            self._pending[key] = _Tracked(key, filename, dry_run, deadline)

    async def _round(self) -> list[CalibrationResult]:
        """One round: every pending id asked once; returns the results that became final."""
        now = self._clock.monotonic()
        healthy = [i for i, t in self._pending.items() if t.broken is None]
        # Ids known to break a batch are asked alone, each on its own backoff: a server that
        # fails every batch costs a bounded, shrinking number of requests, not one per id per round.
        isolated = [i for i, t in self._pending.items() if t.broken is not None and now >= t.next_check]
        answers: list[tuple[int, ResultItem | _Broken]] = []
        size = self._options.batch_size
        for start in range(0, len(healthy), size):
            answers += await self._query(healthy[start : start + size])
        for key in isolated:
            answers += await self._query([key])
        finished = []
        now = self._clock.monotonic()
        for key, answer in answers:
            tracked = self._pending.get(key)
            if tracked is None:
                continue
            result = self._judge(tracked, answer, now)
            if result is not None:
                del self._pending[key]
                finished.append(await self._save_plot(result))
        return finished

    async def _query(self, ids: Sequence[int]) -> list[tuple[int, ResultItem | _Broken]]:
        """Ask for `ids` in one request; on a whole-batch 400, bisect to find the culprit.

        Ids whose deadline has passed are not asked (also after the wait for the request rate):
        a round of failing batches, bisected, could otherwise outlast `timeout` many times over.
        """
        ids = self._before_deadline(ids)
        if ids:
            await self._requests.acquire()
            ids = self._before_deadline(ids)
        if not ids:
            return []
        try:
            items = await self._fetch(ids, self._options.plot or self._options.plots_dir is not None)
        except ValidationError as exc:
            if len(ids) == 1:
                return [(ids[0], _Broken(exc.message))]
            middle = len(ids) // 2
            return await self._query(ids[:middle]) + await self._query(ids[middle:])
        answers: list[tuple[int, ResultItem | _Broken]] = []
        for position, item in enumerate(items):
            key = item.key
            if not isinstance(key, int) or key not in ids:
                key = ids[position] if position < len(ids) else -1
            answers.append((key, item))
        return answers

    def _before_deadline(self, ids: Sequence[int]) -> list[int]:
        now = self._clock.monotonic()
        return [i for i in ids if (t := self._pending.get(i)) is not None and now < t.deadline]

    def _judge(self, t: _Tracked, answer: ResultItem | _Broken, now: float) -> CalibrationResult | None:
        """The final result for `t`, or None while it should stay pending."""
        grace = self._options.missing_grace
        if isinstance(answer, _Broken):
            t.broken = answer.message
            t.broken_since = t.broken_since if t.broken_since is not None else now
            t.broken_rounds += 1
            options = self._options
            t.next_check = now + backoff(
                t.broken_rounds, initial=options.interval, maximum=options.max_interval, factor=options.growth
            )
            if now - t.broken_since >= grace:
                return _result(t, CalibrationStatus.ERROR, f"the server fails on this id: {answer.message}")
            return None
        t.broken = t.broken_since = None
        t.broken_rounds = 0
        if answer.result is not None:
            result = attrs.evolve(
                answer.result, filename=answer.result.filename or t.filename, dry_run=t.dry_run
            )
            t.missing_since = None
            if result.status.is_terminal:
                return result
            t.last = result
            return None
        if answer.refused is not None:
            return _result(t, CalibrationStatus.ERROR, answer.refused)
        message = answer.missing or "no calibration record"
        if t.dry_run:
            return _result(
                t, CalibrationStatus.ERROR, f"dry run: nothing was stored, so no calibration ({message})"
            )
        t.missing_since = t.missing_since if t.missing_since is not None else now
        if now - t.missing_since >= grace:
            return _result(
                t, CalibrationStatus.ERROR, f"{message} (still, {grace:g} s after it was first asked)"
            )
        return None

    def _timed_out(self, t: _Tracked) -> CalibrationResult:
        last = f"; last status {t.last.status.name}" if t.last is not None else ""
        why = t.broken or ("no calibration record yet" if t.missing_since is not None else "")
        note = f"not final {self._options.timeout:g} s after it was queued{last}" + (
            f" ({why})" if why else ""
        )
        if t.last is not None and t.last.status is CalibrationStatus.UNKNOWN:
            # Not a plain timeout: the server reported a state this version cannot interpret.
            since = f"{self._options.timeout:g} s after it was queued"
            note = f"status {t.last.status_letter!r} unknown to this version (still so {since})"
            return attrs.evolve(t.last, message=note)
        if t.last is not None:
            return attrs.evolve(t.last, status=CalibrationStatus.PENDING, message=note)
        return _result(t, CalibrationStatus.PENDING, note)

    async def _save_plot(self, result: CalibrationResult) -> CalibrationResult:
        folder = self._options.plots_dir
        if folder is None or result.plot is None or result.dataproduct_id is None:
            return result
        target = folder / f"{result.dataproduct_id}.png"
        await anyio.to_thread.run_sync(_write, target, result.plot)
        return attrs.evolve(result, plot_path=target)


def _result(t: _Tracked, status: CalibrationStatus, message: str) -> CalibrationResult:
    return CalibrationResult(t.id, status, filename=t.filename, message=message, dry_run=t.dry_run)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


async def _receive(
    receive: MemoryObjectReceiveStream[int | UploadedFile | BaseException],
) -> int | UploadedFile | BaseException | None:
    """The next item from the feeder, or None once the source has ended."""
    try:
        return await receive.receive()
    except anyio.EndOfStream:
        return None


async def _feed(
    source: AsyncIterable[int | UploadedFile],
    send: MemoryObjectSendStream[int | UploadedFile | BaseException],
) -> None:
    """Copy the source into the stream; an error of the source travels as the last item.

    A source that is an async generator is closed here, in the task that iterated it, when the
    wait ends first (its ``finally`` blocks run before the ``async with`` block is left).
    """
    iterator = aiter(source)
    async with send:
        try:
            async for item in iterator:
                await send.send(item)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass  # the wait ended first
        except Exception as exc:
            # Raised to the consumer by the poll loop when it reaches this item.
            with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                await send.send(exc)
        finally:
            close = getattr(iterator, "aclose", None)
            if close is not None:
                with anyio.CancelScope(shield=True):
                    await close()
