"""Upload and calibrate in one pipeline: ids go to the calibration poller as each upload finishes."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import anyio

from ..models.calibration import CalibrationResult
from ..models.uploads import UploadedFile
from .events import FileFinished, FileSkipped, UploadEvent, UploadSummary
from .scheduler import StrPath, Uploader

if TYPE_CHECKING:
    from ..client import Client

__all__ = ["CalibratedUpload", "upload_and_calibrate"]


class CalibratedUpload:
    """Calibration results of a running bulk upload: ``async for result in job``.

    `summary` is the upload's `UploadSummary` once every file has been handled (None before).
    """

    def __init__(self, results: AsyncIterator[CalibrationResult]) -> None:
        self._results = results
        self.summary: UploadSummary | None = None

    def __aiter__(self) -> AsyncIterator[CalibrationResult]:
        return self._results


@asynccontextmanager
async def upload_and_calibrate(
    client: Client,
    paths: StrPath | Sequence[StrPath],
    *,
    target: str,
    observatory: str,
    timeout: float = 600.0,
    interval: float = 3.0,
    on_event: Callable[[UploadEvent], None] | None = None,
    **options: object,
) -> AsyncIterator[CalibratedUpload]:
    """Run `Uploader` and `bh.calibration.wait` together (see `Client.upload_and_calibrate`)."""
    # One small record per file; an unbounded buffer keeps a slow poller from stalling uploads.
    send, receive = anyio.create_memory_object_stream[UploadedFile](max_buffer_size=math.inf)

    def forward(event: UploadEvent) -> None:
        # Files skipped as already uploaded (a re-run after a crash) are polled too: the journal
        # knows their ids, and the caller wants every frame's magnitude, not only this run's.
        outcome = event.outcome if isinstance(event, (FileFinished, FileSkipped)) else None
        if outcome is not None and outcome.status in ("uploaded", "skipped") and outcome.data_product_id:
            # The local name travels with the id, so each result says which frame it belongs to.
            name = outcome.path.name
            send.send_nowait(UploadedFile(filename=name, id=outcome.data_product_id, local_name=name))
        if on_event is not None:
            on_event(event)

    uploader = Uploader(
        client,
        paths,
        target=target,
        observatory=observatory,
        on_event=forward,
        **options,  # type: ignore[arg-type]
    )

    async def ids() -> AsyncIterator[UploadedFile]:
        async with receive:
            async for uploaded in receive:
                yield uploaded

    job = CalibratedUpload(client.calibration.wait(ids(), interval=interval, timeout=timeout))

    async def upload() -> None:
        async with send:
            job.summary = await uploader.run()

    async with anyio.create_task_group() as tg:
        tg.start_soon(upload)
        try:
            yield job
        finally:
            # The poller runs a task reading `ids()`; close it here, in the task that iterated it.
            close = getattr(job._results, "aclose", None)
            if close is not None:
                await close()
