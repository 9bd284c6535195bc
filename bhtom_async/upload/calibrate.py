"""Upload and calibrate in one pipeline: ids go to the calibration poller as each upload finishes."""

from __future__ import annotations

import math
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from ..models.calibration import CalibrationResult
from ..models.uploads import UploadedFile, UploadOptions
from ..poll import PollOptions, PollRound
from .events import FileFinished, FileSkipped, UploadEvent, UploadSummary
from .options import JobOptions
from .scheduler import StrPath, Uploader
from .settings import SettingsSource

if TYPE_CHECKING:
    from ..client import Client

__all__ = ["CalibratedUpload", "upload_and_calibrate"]


class CalibratedUpload:
    """Calibration results of a running bulk upload: ``async for result in job``.

    `summary` is the upload's `UploadSummary` once every file has been handled (None before).
    """

    def __init__(
        self, results: AsyncIterator[CalibrationResult], stop: Callable[[], None] | None = None
    ) -> None:
        self._results = results
        self._stop = stop
        self.summary: UploadSummary | None = None

    def __aiter__(self) -> AsyncIterator[CalibrationResult]:
        return self._results

    def stop(self) -> None:
        """Start no more uploads (`Uploader.stop`); files already uploaded are still polled."""
        if self._stop is not None:
            self._stop()


@asynccontextmanager
async def upload_and_calibrate(
    client: Client,
    paths: StrPath | Sequence[StrPath] | AsyncIterable[StrPath],
    options: UploadOptions,
    job: JobOptions | None = None,
    poll: PollOptions | None = None,
    *,
    settings: SettingsSource | None = None,
    on_event: Callable[[UploadEvent], None] | None = None,
    on_round: Callable[[PollRound], None] | None = None,
) -> AsyncIterator[CalibratedUpload]:
    """Upload files and yield their calibrations as they finish, while later files still upload.

    Each uploaded id is handed to `bh.calibration.wait` the moment its upload succeeds, so the
    first magnitudes arrive long before the last frame is sent. Files a re-run skips as already
    uploaded are polled too (the journal knows their ids). Leaving the block waits for the
    uploads to finish; the upload summary is then in `job.summary`. Arguments are `Uploader`'s,
    plus the poller's `PollOptions`.

    Example:
        >>> options = UploadOptions(target="Gaia22bpl", observatory="HarnessObs_HarnessCam")
        >>> async with upload_and_calibrate(bh, "night/", options) as job:        # doctest: +SKIP
        ...     async for result in job:
        ...         print(result.filename, result.magnitude)
        >>> print(job.summary)                                                     # doctest: +SKIP
    """
    # One small record per file; an unbounded buffer keeps a slow poller from stalling uploads.
    send, receive = anyio.create_memory_object_stream[UploadedFile](max_buffer_size=math.inf)

    forwarded: set[tuple[Path, int]] = set()  # a watched file's unchanged outcome may come again

    def forward(event: UploadEvent) -> None:
        outcome = event.outcome if isinstance(event, (FileFinished, FileSkipped)) else None
        if (
            outcome is not None
            and outcome.status in ("uploaded", "skipped")
            and outcome.data_product_id
            and (outcome.path, outcome.data_product_id) not in forwarded
        ):
            forwarded.add((outcome.path, outcome.data_product_id))
            # The local name travels with the id, so each result says which frame it belongs to.
            name = outcome.path.name
            with suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):  # the caller left
                send.send_nowait(UploadedFile(filename=name, id=outcome.data_product_id, local_name=name))
        if on_event is not None:
            on_event(event)

    uploader = Uploader(client, paths, options, job, settings=settings, on_event=forward)

    async def upload() -> None:
        async with send:
            calibrated.summary = await uploader.run()

    with receive:
        async with (
            anyio.create_task_group() as tg,
            client.calibration.wait(receive, poll, on_round=on_round) as results,
        ):
            calibrated = CalibratedUpload(results, uploader.stop)
            tg.start_soon(upload)
            yield calibrated
