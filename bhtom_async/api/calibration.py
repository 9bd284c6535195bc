"""Calibration: results, waiting for results, restarts, calibrating a single file."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Iterable, Mapping, Sequence
from pathlib import Path

import anyio
import anyio.to_thread
import attrs
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .._multipart import FilePart, MultipartBody
from .._paginate import parse_envelope
from ..errors import InvalidInputError, ResponseDecodeError, ServerError, TransportError, ValidationError
from ..models.calibration import (
    CalibrationRecord,
    CalibrationResult,
    CalibrationStatus,
    FileCalibration,
    RestartResult,
)
from ..models.uploads import UploadedFile
from ._resource import Resource, body_of

__all__ = [
    "BACKOFF_FACTOR",
    "MAX_FAILED_ROUNDS",
    "PAGE_SIZE",
    "CalibrationAPI",
    "CalibrationPoller",
    "ItemOutcome",
]

RESULTS_PATH = "/calibration/get-calibration-res/"
CALIB_FILE_PATH = "/calibFile/"
#: The server's page size for calibration results (and so the poller's batch size).
PAGE_SIZE = 200
_MISSING = re.compile(r"File with (id|name) (.+?) does not exist", re.IGNORECASE)


@attrs.frozen
class ItemOutcome:
    """Strictly private: one item of a results page, tied to the key that was asked for.

    `result` is set for a calibration record; otherwise `missing` (no record yet: ``File with
    id N does not exist``) or `refused` (``It's not your data``) explains why not.
    """

    key: int | str
    result: CalibrationResult | None = None
    missing: str | None = None
    refused: str | None = None


class CalibrationAPI(Resource):
    """Calibration: results, waiting for results, restarts, calibrating a single file."""

    async def results(
        self,
        ids: Iterable[int] = (),
        filenames: Iterable[str] = (),
        *,
        plot: bool = False,
    ) -> AsyncIterator[CalibrationResult]:
        """Calibration results for data-product ids and/or file names (200 per page).

        Sends ``calibid`` and ``filename`` lists (the fields the server reads; the official
        script's ``files`` is ignored by it) and ``getPlot`` when `plot` is set. Results come in
        request order: all ids, then all names. An id with no calibration record yet comes back
        as `CalibrationStatus.PENDING` with the server's ``message``; a product owned by
        someone else as `ERROR` with ``message="It's not your data"``.

        A file name matches any stored path containing it (``dataproduct__data__contains``).

        Raises:
            InvalidInputError: neither ids nor file names were given.
            ValidationError: the server failed the whole page (``Something went wrong: ...``);
                `wait` isolates the bad id instead.

        Example:
            >>> async for r in bh.calibration.results([1454270]):      # doctest: +SKIP
            ...     print(r.dataproduct_id, r.status, r.magnitude)
        """
        id_list = _ids(ids)
        name_list = [str(n) for n in filenames]
        if not id_list and not name_list:
            raise InvalidInputError("give at least one data-product id or file name")
        page = 1
        while True:
            outcomes, num_pages = await self.fetch_page(id_list, name_list, plot=plot, page=page)
            for outcome in outcomes:
                yield _outcome_result(outcome)
            if page >= num_pages:
                return
            page += 1

    async def fetch_page(
        self,
        ids: Sequence[int],
        filenames: Sequence[str] = (),
        *,
        plot: bool = False,
        page: int = 1,
    ) -> tuple[list[ItemOutcome], int]:
        """One page of results as per-key outcomes, and the number of pages (used by `wait`)."""
        body: dict[str, object] = {}
        if ids:
            body["calibid"] = list(ids)
        if filenames:
            body["filename"] = list(filenames)
        if plot:
            body["getPlot"] = True
        body["page"] = page
        response = await self._call_raw("POST", RESULTS_PATH, body=body)
        envelope = parse_envelope(response.json(), method="POST", path=RESULTS_PATH, requested=page)
        keys: list[int | str] = [*ids, *filenames]
        offset = (envelope.number - 1) * PAGE_SIZE
        outcomes = []
        for index, raw in enumerate(envelope.data):
            position = offset + index
            key = keys[position] if position < len(keys) else position
            outcomes.append(self._outcome(raw, key, filename=key if isinstance(key, str) else None))
        return outcomes, envelope.num_pages

    def _outcome(self, raw: object, key: int | str, *, filename: str | None) -> ItemOutcome:
        if isinstance(raw, Mapping) and "dataproduct" in raw:
            record = self._convert(raw, CalibrationRecord, "POST", RESULTS_PATH)
            return ItemOutcome(record.dataproduct, CalibrationResult.from_record(record, filename=filename))
        if isinstance(raw, Mapping):
            error = raw.get("Error") or raw.get("error")
            if isinstance(error, str):
                found = _MISSING.search(error)
                if found and found.group(1).lower() == "id" and found.group(2).strip().isdigit():
                    key = int(found.group(2))
                return ItemOutcome(key, missing=error)
            refusal = raw.get("calib-res")
            if isinstance(refusal, str):
                return ItemOutcome(key, refused=refusal)
        raise ResponseDecodeError(
            "unexpected calibration item",
            method="POST",
            path=RESULTS_PATH,
            status=200,
            snippet=repr(raw)[:80],
        )

    def wait(
        self,
        ids: Iterable[int | UploadedFile] | AsyncIterable[int | UploadedFile],
        *,
        interval: float = 3.0,
        max_interval: float = 30.0,
        timeout: float = 600.0,
        missing_grace: float = 300.0,
        plot: bool = False,
        plots_dir: str | os.PathLike[str] | None = None,
    ) -> AsyncIterator[CalibrationResult]:
        """Yield each data product's calibration as soon as it is final (S or E), in completion order.

        `ids` may be data-product ids or `UploadedFile`s (which also give the file name and the
        dry-run flag), as a plain iterable or an async iterable whose ids arrive over time
        (e.g. fed by uploads as they finish): each id joins the polling set when it arrives,
        and the iterator ends once the source is exhausted and every id is final or timed out.

        Each round sends one request per 200 pending ids. Rounds start `interval` seconds apart
        and back off (x1.5) toward `max_interval`; new ids reset the pace. An id still not final
        `timeout` seconds after it arrived is yielded with status `PENDING`. An id the server
        says does not exist stays pending for `missing_grace` seconds, then is yielded as
        `ERROR`; a dry-run id is reported at once (``dry_run=True``: no record is expected). A
        whole-batch 400 is split in halves until the id causing it is isolated; that id is
        polled alone afterwards and ends as `ERROR` after `missing_grace`.

        `plot` asks for the calibration plot (`result.plot`, PNG bytes); with `plots_dir` each
        plot is also saved there as ``<id>.png`` (`result.plot_path`). Times are in seconds on
        the client's clock. Requests go through the client's retry policy and 429 pause.

        With an async source, iterate to the end or close the iterator in the task that
        iterates it (``contextlib.aclosing``): it runs a task that reads the source.

        Example:
            >>> async for r in bh.calibration.wait(receipt.files, timeout=900):   # doctest: +SKIP
            ...     print(r.dataproduct_id, r.status.name, r.magnitude, r.is_limit)
        """
        poller = CalibrationPoller(
            self,
            ids,
            interval=interval,
            max_interval=max_interval,
            timeout=timeout,
            missing_grace=missing_grace,
            plot=plot,
            plots_dir=Path(plots_dir) if plots_dir is not None else None,
        )
        return poller.results()

    async def restart_by_id(
        self,
        *,
        id_from: int | None = None,
        id_to: int | None = None,
        filter: str | None = None,
        old_filter: str | None = None,
        match_dist: float | None = None,
        oname: str | None = None,
        comment: str | None = None,
        status: str | None = None,
        status_message: str | None = None,
    ) -> RestartResult:
        """Restart calibrations for a range of calibration ids (admin only).

        The server forwards the fields to the calibration service unchecked.

        Raises:
            PermissionDeniedError: the account is not an admin (the server answers 302).
        """
        body = body_of(
            id_from=id_from,
            id_to=id_to,
            filter=filter,
            old_filter=old_filter,
            match_dist=match_dist,
            oname=oname,
            comment=comment,
            status=status,
            status_message=status_message,
        )
        return await self._restart("/calibration/restart-calib-by-id/", body)

    async def restart_by_target(
        self,
        *,
        target_name: str | None = None,
        target_id: int | None = None,
        mjd_min: float | None = None,
        mjd_max: float | None = None,
        filter: str | None = None,
        old_filter: str | None = None,
        match_dist: float | None = None,
        oname: str | None = None,
        comment: str | None = None,
        status: str | None = None,
        status_message: str | None = None,
    ) -> RestartResult:
        """Restart calibrations of one target, optionally within an MJD range (admin only).

        Raises:
            InvalidInputError: not exactly one of `target_name` and `target_id`.
            PermissionDeniedError: the account is not an admin.
        """
        if (target_name is None) == (target_id is None):
            raise InvalidInputError("give either target_name or target_id, not both")
        body = body_of(
            target_name=target_name,
            target_id=target_id,
            mjd_min=mjd_min,
            mjd_max=mjd_max,
            filter=filter,
            old_filter=old_filter,
            match_dist=match_dist,
            oname=oname,
            comment=comment,
            status=status,
            status_message=status_message,
        )
        return await self._restart("/calibration/restart-calib-by-target/", body)

    async def restart_by_dataproduct(
        self,
        data_product_id: int,
        *,
        filter: str | None = None,
        old_filter: str | None = None,
        match_dist: float | None = None,
        oname: str | None = None,
        comment: str | None = None,
        status: str | None = None,
        status_message: str | None = None,
    ) -> RestartResult:
        """Restart the calibration of one data product (admin only).

        Raises:
            PermissionDeniedError: the account is not an admin.
        """
        body = body_of(
            data_product_id=data_product_id,
            filter=filter,
            old_filter=old_filter,
            match_dist=match_dist,
            oname=oname,
            comment=comment,
            status=status,
            status_message=status_message,
        )
        return await self._restart("/calibration/restart-calib-by-dataproduct/", body)

    async def _restart(self, path: str, body: dict[str, object]) -> RestartResult:
        # A restart queues work: never re-sent once it may have reached the server.
        response = await self._call_raw("POST", path, body=body, idempotent=False)
        payload = response.json()
        if not isinstance(payload, Mapping) or "Success" not in payload:
            raise ResponseDecodeError(
                "expected {'Success': ...}",
                method="POST",
                path=path,
                status=response.status,
                snippet=response.text[:80],
            )
        return RestartResult(cpcs=payload["Success"])

    async def calibrate_file(
        self,
        path: str | os.PathLike[str],
        *,
        ra: float,
        dec: float,
        match_dist: float | None = None,
        survey: str | None = None,
        filter: str | None = None,
        plot: bool = False,
        image_format: str = "png",
    ) -> FileCalibration:
        """Calibrate one photometry file without storing it (upload service ``calibFile/``).

        The file goes as the multipart part ``photometry_file`` (the docs say JSON, which cannot
        carry a file); `plot` is sent as the documented ``no_plot`` flag, inverted. This
        endpoint's answer is undocumented: known keys are typed, the rest are in `extra`.

        Raises:
            InvalidInputError: the file is missing or empty.
        """
        file = Path(path)
        size = await _size(file)
        fields: list[tuple[str, str]] = [("ra", repr(float(ra))), ("dec", repr(float(dec)))]
        if match_dist is not None:
            fields.append(("match_dist", repr(float(match_dist))))
        if survey is not None:
            fields.append(("survey", survey))
        if filter is not None:
            fields.append(("filter", filter))
        fields.append(("no_plot", "False" if plot else "True"))
        fields.append(("image_format", image_format))
        body = MultipartBody(fields, [FilePart(field="photometry_file", path=file, size=size)])
        response = await self._call_raw("POST", CALIB_FILE_PATH, host="upload", stream=body)
        return self._convert(response.json(), FileCalibration, "POST", CALIB_FILE_PATH)


def _ids(ids: Iterable[int]) -> list[int]:
    out = []
    for value in ids:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise InvalidInputError(f"data-product ids are integers, got {value!r}")
        try:
            out.append(int(value))
        except ValueError:
            raise InvalidInputError(f"data-product ids are integers, got {value!r}") from None
    return out


def _outcome_result(outcome: ItemOutcome) -> CalibrationResult:
    if outcome.result is not None:
        return outcome.result
    key = outcome.key
    dp_id = key if isinstance(key, int) else None
    name = key if isinstance(key, str) else None
    if outcome.refused is not None:
        return CalibrationResult(dp_id, CalibrationStatus.ERROR, filename=name, message=outcome.refused)
    return CalibrationResult(dp_id, CalibrationStatus.PENDING, filename=name, message=outcome.missing)


async def _size(path: Path) -> int:
    def check() -> int:
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise InvalidInputError(f"{path} does not exist") from None
        if size == 0:
            raise InvalidInputError(f"{path} is empty")
        return size

    return await anyio.to_thread.run_sync(check)


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
