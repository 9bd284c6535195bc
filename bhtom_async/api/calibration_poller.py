"""The engine behind `bh.calibration.wait`: polls results for ids that may keep arriving.

One request per round for up to 200 ids; rounds back off from a short interval toward a cap; a
batch the server fails as a whole is split until the id that breaks it is alone; each id has its
own deadline. Time comes from the client's injected clock.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread
import attrs
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ..errors import InvalidInputError, ServerError, TransportError, ValidationError
from ..models.calibration import CalibrationResult, CalibrationStatus
from ..models.uploads import UploadedFile
from .calibration import PAGE_SIZE, ItemOutcome

if TYPE_CHECKING:
    from .calibration import CalibrationAPI

__all__ = ["BACKOFF_FACTOR", "MAX_FAILED_ROUNDS", "CalibrationPoller", "IdSource"]


#: Each round's wait is the previous one times this, up to `max_interval`.
BACKOFF_FACTOR = 1.5
#: Rounds in a row that may fail on transport errors or 502-504 before the wait gives up.
MAX_FAILED_ROUNDS = 5
IdSource = Iterable[int | UploadedFile] | AsyncIterable[int | UploadedFile]


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
    last: CalibrationResult | None = None


@attrs.frozen
class _Broken:
    """Strictly private: the id alone still fails the whole request."""

    message: str


class CalibrationPoller:
    """Polls calibration results for ids that may keep arriving; see `CalibrationAPI.wait`.

    Args:
        api: the client's calibration endpoints (its transport gives the clock and retries).
        ids: ids or `UploadedFile`s, as an iterable or an async iterable (arriving over time).
        interval: seconds before the second round (the first is sent at once).
        max_interval: the cap the waits back off toward.
        timeout: seconds an id may stay unfinished after it arrived before it is reported
            as `PENDING`.
        missing_grace: seconds an id may be unknown to the server (or break its batch) before
            it is reported as `ERROR`.
        plot: ask for plots; `plots_dir`: also save them there as ``<id>.png``.
        batch_size: ids per request (the server's page size, 200).
    """

    def __init__(
        self,
        api: CalibrationAPI,
        ids: IdSource,
        *,
        interval: float = 3.0,
        max_interval: float = 30.0,
        timeout: float = 600.0,
        missing_grace: float = 300.0,
        plot: bool = False,
        plots_dir: Path | None = None,
        batch_size: int = PAGE_SIZE,
        backoff: float = BACKOFF_FACTOR,
    ) -> None:
        if interval <= 0 or max_interval < interval:
            raise InvalidInputError("need 0 < interval <= max_interval (seconds)")
        if timeout <= 0 or missing_grace < 0:
            raise InvalidInputError("timeout must be positive and missing_grace not negative (seconds)")
        if not 1 <= batch_size <= PAGE_SIZE:
            raise InvalidInputError(f"batch_size must be between 1 and {PAGE_SIZE}")
        self._api = api
        self._source = ids
        self._clock = api._transport.clock
        self._interval = interval
        self._max_interval = max_interval
        self._timeout = timeout
        self._grace = missing_grace
        self._plot = plot or plots_dir is not None
        self._plots_dir = plots_dir
        self._batch = batch_size
        self._backoff = max(1.0, backoff)
        self._pending: dict[int, _Tracked] = {}

    async def results(self) -> AsyncIterator[CalibrationResult]:
        """Each id's final result (or its `PENDING` report at its deadline), in completion order."""
        if not isinstance(self._source, AsyncIterable):
            for item in self._source:
                self._add(item)
            async with contextlib.aclosing(self._loop(None, [])) as loop:
                async for result in loop:
                    yield result
            return
        send, receive = anyio.create_memory_object_stream[int | UploadedFile](max_buffer_size=256)
        failure: list[Exception] = []
        # The source is read by one task for its whole life (an uploader's generator may hold a
        # task group across its yields). It is a plain task, not a task group, because this
        # generator yields: a cancel scope held across our yields would break a consumer that
        # stops early without `aclosing`. It is cancelled and awaited in `finally`.
        feeder = asyncio.get_running_loop().create_task(_feed(self._source, send, failure))
        try:
            async with contextlib.aclosing(self._loop(receive, failure)) as loop:
                async for result in loop:
                    yield result
        finally:
            feeder.cancel()
            await asyncio.wait({feeder})
            receive.close()

    async def _loop(
        self, receive: MemoryObjectReceiveStream[int | UploadedFile] | None, failure: list[Exception]
    ) -> AsyncGenerator[CalibrationResult, None]:
        source_open = receive is not None
        delay = self._interval
        failed_rounds = 0
        while True:
            if receive is not None and source_open:
                idle = not self._pending
                if idle:
                    try:
                        self._add(await receive.receive())
                    except anyio.EndOfStream:
                        source_open = False
                arrived, source_open = self._drain(receive, source_open)
                if failure:
                    raise failure[0]
                if arrived or idle:
                    delay = self._interval  # fresh ids: start again from the short interval
            if not self._pending:
                if source_open:
                    continue
                return
            try:
                finished = await self._round()
                failed_rounds = 0
            except (TransportError, ServerError) as exc:
                if isinstance(exc, ServerError) and exc.status not in (502, 503, 504):
                    raise
                failed_rounds += 1
                if failed_rounds >= MAX_FAILED_ROUNDS:
                    raise
                finished = []
            for result in finished:
                yield result
            now = self._clock.monotonic()
            for tracked in [t for t in self._pending.values() if now >= t.deadline]:
                del self._pending[tracked.id]
                yield self._timed_out(tracked)
            if not self._pending:
                continue
            earliest = min(t.deadline for t in self._pending.values())
            await self._clock.sleep(max(0.0, min(delay, earliest - now)))
            delay = min(delay * self._backoff, self._max_interval)

    def _drain(
        self, receive: MemoryObjectReceiveStream[int | UploadedFile], source_open: bool
    ) -> tuple[bool, bool]:
        arrived = False
        while source_open:
            try:
                self._add(receive.receive_nowait())
                arrived = True
            except anyio.WouldBlock:
                break
            except anyio.EndOfStream:
                source_open = False
        return arrived, source_open

    def _add(self, item: int | UploadedFile) -> None:
        if isinstance(item, UploadedFile):
            key, filename, dry_run = item.id, item.local_name or item.filename, item.dry_run
        elif isinstance(item, int) and not isinstance(item, bool):
            key, filename, dry_run = item, None, False
        else:
            raise InvalidInputError(f"wait() takes data-product ids or UploadedFile, got {item!r}")
        if key not in self._pending:
            deadline = self._clock.monotonic() + self._timeout
            self._pending[key] = _Tracked(key, filename, dry_run, deadline)

    async def _round(self) -> list[CalibrationResult]:
        """One round: every pending id asked once; returns the results that became final."""
        healthy = [i for i, t in self._pending.items() if t.broken is None]
        isolated = [i for i, t in self._pending.items() if t.broken is not None]
        answers: list[tuple[int, ItemOutcome | _Broken]] = []
        # Ids known to break a batch are asked apart from the rest, so they cost the healthy ones
        # nothing; among themselves they are bisected again (some may have healed meanwhile).
        for group in (healthy, isolated):
            for start in range(0, len(group), self._batch):
                answers += await self._query(group[start : start + self._batch])
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

    async def _query(self, ids: Sequence[int]) -> list[tuple[int, ItemOutcome | _Broken]]:
        """Ask for `ids` in one request; on a whole-batch 400, bisect to find the culprit."""
        try:
            outcomes, _ = await self._api.fetch_page(ids, plot=self._plot)
        except ValidationError as exc:
            if len(ids) == 1:
                return [(ids[0], _Broken(exc.message))]
            middle = len(ids) // 2
            return await self._query(ids[:middle]) + await self._query(ids[middle:])
        answers: list[tuple[int, ItemOutcome | _Broken]] = []
        for position, outcome in enumerate(outcomes):
            key = outcome.key
            if not isinstance(key, int) or key not in ids:
                key = ids[position] if position < len(ids) else -1
            answers.append((key, outcome))
        return answers

    def _judge(self, t: _Tracked, answer: ItemOutcome | _Broken, now: float) -> CalibrationResult | None:
        """The final result for `t`, or None while it should stay pending."""
        if isinstance(answer, _Broken):
            t.broken = answer.message
            t.broken_since = t.broken_since if t.broken_since is not None else now
            if now - t.broken_since >= self._grace:
                return self._base(
                    t, CalibrationStatus.ERROR, message=f"the server fails on this id: {answer.message}"
                )
            return None
        t.broken = t.broken_since = None
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
            return self._base(t, CalibrationStatus.ERROR, message=answer.refused)
        message = answer.missing or "no calibration record"
        if t.dry_run:
            return self._base(
                t,
                CalibrationStatus.ERROR,
                message=f"dry run: nothing was stored, so no calibration ({message})",
            )
        t.missing_since = t.missing_since if t.missing_since is not None else now
        if now - t.missing_since >= self._grace:
            return self._base(
                t,
                CalibrationStatus.ERROR,
                message=f"{message} (still, {self._grace:g} s after it was first asked)",
            )
        return None

    def _timed_out(self, t: _Tracked) -> CalibrationResult:
        last = f"; last status {t.last.status.name}" if t.last is not None else ""
        why = t.broken or ("no calibration record yet" if t.missing_since is not None else "")
        note = f"not final {self._timeout:g} s after it was queued{last}" + (f" ({why})" if why else "")
        if t.last is not None and t.last.status is CalibrationStatus.UNKNOWN:
            # Not a plain timeout: the server reported a state this version cannot interpret.
            letter = t.last.status_letter
            since = f"{self._timeout:g} s after it was queued"
            note = f"status {letter!r} unknown to this version (still so {since})"
            return attrs.evolve(t.last, message=note)
        if t.last is not None:
            return attrs.evolve(t.last, status=CalibrationStatus.PENDING, message=note)
        return self._base(t, CalibrationStatus.PENDING, message=note)

    @staticmethod
    def _base(t: _Tracked, status: CalibrationStatus, *, message: str) -> CalibrationResult:
        return CalibrationResult(t.id, status, filename=t.filename, message=message, dry_run=t.dry_run)

    async def _save_plot(self, result: CalibrationResult) -> CalibrationResult:
        if self._plots_dir is None or result.plot is None or result.dataproduct_id is None:
            return result
        target = self._plots_dir / f"{result.dataproduct_id}.png"
        await anyio.to_thread.run_sync(_write, target, result.plot)
        return attrs.evolve(result, plot_path=target)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


async def _feed(
    source: AsyncIterable[int | UploadedFile],
    send: MemoryObjectSendStream[int | UploadedFile],
    failure: list[Exception],
) -> None:
    async with send:
        try:
            async for item in source:
                await send.send(item)
        except anyio.BrokenResourceError:
            pass  # the wait ended first
        except Exception as exc:
            # Raised to the consumer by the poll loop once the stream ends.
            failure.append(exc)
