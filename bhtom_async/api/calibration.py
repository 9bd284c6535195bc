"""Calibration: results, waiting for results, restarts, calibrating a single file."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from pathlib import Path

import anyio
import anyio.to_thread

from .._multipart import FilePart, MultipartBody
from .._paginate import parse_envelope
from ..errors import InvalidInputError, ResponseDecodeError
from ..models._converter import DecodeReport
from ..models.calibration import (
    CalibrationRecord,
    CalibrationResult,
    CalibrationStatus,
    FileCalibration,
    RestartResult,
)
from ..models.calibration_page import ResultItem, parse_result_item
from ..poll import PAGE_SIZE, CalibrationWait, IdSource, PollOptions, PollRound
from ._resource import Resource, body_of, target_argument

__all__ = ["CalibrationAPI"]

RESULTS_PATH = "/calibration/get-calibration-res/"
CALIB_FILE_PATH = "/calibFile/"
logger = logging.getLogger("bhtom_async")


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
        report = DecodeReport()
        try:
            while True:
                outcomes, num_pages = await self.fetch_page(
                    id_list, name_list, plot=plot, page=page, report=report
                )
                for outcome in outcomes:
                    yield _outcome_result(outcome)
                if page >= num_pages:
                    return
                page += 1
        finally:
            _warn(report)

    async def fetch_page(
        self,
        ids: Sequence[int],
        filenames: Sequence[str] = (),
        *,
        plot: bool = False,
        page: int = 1,
        report: DecodeReport | None = None,
    ) -> tuple[list[ResultItem], int]:
        """One page of results as per-key items, and the number of pages.

        Values the converter could not read are counted in `report`; without one, this page is
        the call and logs its own warning.
        """
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
        own = report is None
        report = DecodeReport() if report is None else report
        for index, raw in enumerate(envelope.data):
            position = offset + index
            key = keys[position] if position < len(keys) else position
            outcomes.append(
                self._outcome(raw, key, filename=key if isinstance(key, str) else None, report=report)
            )
        if own:
            _warn(report)
        return outcomes, envelope.num_pages

    def _outcome(
        self, raw: object, key: int | str, *, filename: str | None, report: DecodeReport
    ) -> ResultItem:
        item = parse_result_item(
            raw,
            key,
            filename=filename,
            read_record=lambda record: self._convert(
                record, CalibrationRecord, "POST", RESULTS_PATH, report=report
            ),
        )
        if item.unreadable is not None:
            raise ResponseDecodeError(
                "unexpected calibration item",
                method="POST",
                path=RESULTS_PATH,
                status=200,
                snippet=repr(raw)[:80],
            )
        return item

    def wait(
        self,
        ids: IdSource,
        options: PollOptions | None = None,
        *,
        on_round: Callable[[PollRound], None] | None = None,
    ) -> CalibrationWait:
        """Each data product's calibration as soon as it is final (S or E), in completion order.

        `ids` are data-product ids or `UploadedFile`s (which also give the file name and the
        dry-run flag): a plain iterable, or an async iterable whose ids arrive over time (fed by
        uploads as they finish); each id joins the polling set when it arrives, and the results
        end once the source is exhausted and every id is final or timed out.

        Each round sends one request per 200 pending ids. Rounds start `options.interval`
        seconds apart and back off (x1.5) toward `options.max_interval`; new ids reset the pace.
        An id still not final `options.timeout` seconds after it arrived is yielded with status
        `PENDING`. An id the server says does not exist stays pending for
        `options.missing_grace` seconds, then is yielded as `ERROR`; a dry-run id is reported
        at once (no record is expected). A whole-batch 400 is split in halves until the id
        causing it is isolated; that id is polled alone afterwards and ends as `ERROR` after
        `missing_grace`. Requests go through the client's retry policy and 429 pause; times are
        on the client's clock. `on_round` is told of each round (`PollRound`: ids asked,
        finished, still pending). See `bhtom_async.poll` for the engine.

        Example:
            >>> waiting = bh.calibration.wait(receipt.files, PollOptions(timeout=900))  # doctest: +SKIP
            >>> async with waiting as results:                                        # doctest: +SKIP
            ...     async for r in results:
            ...         print(r.dataproduct_id, r.status.name, r.magnitude, r.is_limit)
            >>> async for r in bh.calibration.wait([1454270]):         # a plain list needs no block
            ...     print(r.status.name)
        """
        return CalibrationWait(
            self._fetch_for_wait, self._clock, ids, options or PollOptions(), on_round=on_round
        )

    async def _fetch_for_wait(self, ids: Sequence[int], plot: bool) -> list[ResultItem]:
        items, _ = await self.fetch_page(ids, plot=plot)
        return items

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
        target: str | None = None,
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
        target_name: str | None = None,
    ) -> RestartResult:
        """Restart calibrations of one target, optionally within an MJD range (admin only).

        The target is `target` (its exact name; `target_name` is the older spelling, still
        accepted) or `target_id`.

        Raises:
            InvalidInputError: not exactly one of `target` and `target_id`.
            PermissionDeniedError: the account is not an admin.
        """
        name = target_argument(target, target_name)
        if (name is None) == (target_id is None):
            raise InvalidInputError("give either target or target_id, not both")
        body = body_of(
            target_name=name,
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


def _warn(report: DecodeReport) -> None:
    message = report.message(f"POST {RESULTS_PATH}")
    if message is not None:
        logger.warning("%s", message)


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


def _outcome_result(outcome: ResultItem) -> CalibrationResult:
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
