"""Public-API usage that mypy --strict checks and pytest never runs (stamina's pattern).

An unintended change to a public signature or return type fails the type check.
"""

from __future__ import annotations

from pathlib import Path

import bhtom_async
from bhtom_async import (
    CalibrationResult,
    Client,
    JobOptions,
    PollOptions,
    Timeouts,
    Uploader,
    UploadOptions,
    UploadReceipt,
    UploadSummary,
    errors,
    upload_and_calibrate,
)
from bhtom_async.testing import ManualClock


async def foundation() -> None:
    token: str = await bhtom_async.login("alice", "secret", base_url="https://bh-tom2.astrolabs.pl")
    async with Client(token, timeout=Timeouts(connect=5), max_retries=2, clock=ManualClock()) as bh:
        faster: Client = bh.with_options(timeout=30.0, max_retries=0)
        assert faster.config.retry.max_retries >= 0
    try:
        pass
    except errors.RateLimitError as exc:
        wait: float | None = exc.retry_after
        assert wait is None or wait >= 0
    except errors.CameraNotFavouriteError as exc:
        oname: str | None = exc.oname
        assert oname is None or oname
    except errors.APIError as exc:
        status: int = exc.status
        hint: str | None = exc.hint
        cli_hint: str | None = exc.cli_hint
        headline: str = exc.headline
        assert status
        assert hint is not None or cli_hint is None
        assert headline


async def uploads(bh: Client, night: Path) -> None:
    options = UploadOptions(target="Gaia22bpl", observatory="HarnessObs_HarnessCam", observers=["alice"])
    receipt: UploadReceipt = await bh.uploads.upload_file(night / "f1.fits", options)
    summary: UploadSummary = await Uploader(bh, night, options, JobOptions(concurrency=8)).run()
    ids: tuple[int, ...] = summary.ids + receipt.ids
    async with bh.calibration.wait(ids, PollOptions(timeout=900)) as results:
        async for result in results:
            magnitude: float | None = result.magnitude
            assert magnitude is None or magnitude > 0
    async for plain in bh.calibration.wait(ids):
        done: CalibrationResult = plain
        finished: bool = done.is_done
        print(finished)
    async with upload_and_calibrate(bh, night, options, JobOptions(journal=night / "j.sqlite3")) as job:
        async for calibrated in job:
            print(calibrated.dataproduct_id)
    final: UploadSummary | None = job.summary
    print(final)
