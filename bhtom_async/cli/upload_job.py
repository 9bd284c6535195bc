"""Running one `bhtom upload` job: plan, upload (and calibrate), report, and stop on a signal.

`bhtom upload` and `bhtom demo` describe the job (`UploadRequest`); `run_job` plans it, drives
the library's `Uploader` (or `upload_and_calibrate` with ``--wait``), feeds the progress report,
and turns SIGINT/SIGTERM into a graceful stop (`signals.Interruption`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import attrs

from ..models.uploads import UploadOptions
from ..poll import PollOptions, PollRound
from ..upload.calibrate import upload_and_calibrate
from ..upload.events import JobFinished, UploadEvent, UploadSummary
from ..upload.options import JobOptions
from ..upload.scheduler import Uploader
from ..upload.settings import SettingsSource
from .plan import Plan, plan_job
from .progress import JobReport
from .signals import DEFAULT_GRACE, Interruption
from .watching import NightWatch

if TYPE_CHECKING:
    from ..client import Client
    from ..models.calibration import CalibrationResult

__all__ = ["JobResult", "ReportFactory", "UploadRequest", "run_job"]


@attrs.frozen
class UploadRequest:
    """What `bhtom upload` (and `bhtom demo`) asks the bulk uploader to do.

    `settings` are per-file settings (`Uploader`'s), e.g. each frame's target from its header.
    With `watch`, the paths are watched for new frames (``--watch``) instead of walked once.
    """

    paths: tuple[Path, ...]
    options: UploadOptions
    job: JobOptions = attrs.field(factory=JobOptions)
    settings: SettingsSource | None = None
    watch: NightWatch | None = None


@attrs.frozen
class JobResult:
    """How a job ended: its summary, calibrations (``--wait``) and the signal that stopped it.

    `unreached` counts files the plan found that an interrupted job never got to (no outcome).
    """

    summary: UploadSummary
    results: tuple[CalibrationResult, ...] = ()
    signum: int | None = None
    unreached: int = 0
    watch_ended: str | None = None


#: Builds the job's report once the plan is known: ``(plan, waiting_for_calibration)``.
ReportFactory = Callable[[Plan, bool], JobReport]


async def run_job(
    bh: Client,
    request: UploadRequest,
    make_report: ReportFactory,
    *,
    poll: PollOptions | None = None,
    grace: float = DEFAULT_GRACE,
    on_round: Callable[[PollRound], None] | None = None,
) -> tuple[JobResult, JobReport]:
    """Plan, then upload (and with `poll`, calibrate while uploading), reporting as it goes.

    `on_round` is told of each calibration poll round (the night page counts them).

    SIGINT and SIGTERM stop the job gracefully (see `signals`); the result says which came.
    """
    job_scope = anyio.CancelScope()
    uploads_done = anyio.Event()
    interruption = Interruption(job_scope, grace=grace, done=uploads_done)
    results: list[CalibrationResult] = []
    report: JobReport | None = None

    def on_event(event: UploadEvent) -> None:
        assert report is not None
        report(event)
        if isinstance(event, JobFinished):
            uploads_done.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(interruption.watch)
        with job_scope:
            plan = await plan_job(
                list(map(str, request.paths)), request.options, request.job, request.settings
            )
            report = make_report(plan, poll is not None)
            interruption.announce = report.interrupted
            paths: list[Path] | AsyncIterator[Path] = list(request.paths)
            if request.watch is not None:
                request.watch.on_end = report.watch_ended
                paths = request.watch.stream()
            report.start()
            tg.start_soon(_tick, report)
            try:
                if poll is None:
                    uploader = Uploader(
                        bh,
                        paths,
                        request.options,
                        request.job,
                        settings=request.settings,
                        on_event=on_event,
                    )
                    interruption.stop = uploader.stop
                    await uploader.run()
                else:
                    async with upload_and_calibrate(
                        bh,
                        paths,
                        request.options,
                        request.job,
                        poll,
                        settings=request.settings,
                        on_event=on_event,
                        on_round=on_round,
                    ) as calibrated:
                        interruption.stop = calibrated.stop
                        async for result in calibrated:
                            results.append(result)
                            report.calibrated(result)
            finally:
                report.close()
        tg.cancel_scope.cancel()
    if report is None:  # interrupted while walking the folders: nothing was sent
        report = JobReport(Plan(0, {}), screen="off")
    summary = report.summary or UploadSummary(outcomes=(), cancelled=True)
    # A cancelled job reports the files it reached; the plan knows how many more there were.
    unreached = max(report.tally.seen - len(summary.outcomes), 0) if summary.cancelled else 0
    ended = request.watch.ended if request.watch is not None else None
    return JobResult(summary, tuple(results), interruption.signum, unreached, ended), report


async def _tick(report: JobReport) -> None:
    while True:
        await anyio.sleep(0.5)
        report.tick()
