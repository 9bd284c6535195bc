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


async def the_night(night: Path) -> None:
    from bhtom_async.night import Night, Point, report_html
    from bhtom_async.web import night_registry, serve_night

    tonight = Night("tonight")
    options = UploadOptions(target="Gaia22bpl", observatory="HarnessObs_HarnessCam")
    async with Client(on_request=tonight.feed) as bh, serve_night(tonight, "127.0.0.1", 0) as server:
        url: str = server.url
        job = upload_and_calibrate(bh, night, options, on_event=tonight.feed, on_round=tonight.feed)
        async with job as results:
            async for result in results:
                tonight.feed(result)
        print(url)
    points: list[Point] = tonight.points
    counts: dict[str, int] = tonight.counts()
    page: str = report_html(tonight)
    print(points, counts, page, night_registry(tonight))


def blocking(night: Path) -> None:
    """The sync client: same resources and arguments, plain values, lists and iterators."""
    from bhtom_async import LightCurve, ResultSet, Target, sync

    token: str = sync.login("alice", "secret", base_url="http://127.0.0.1:8000")
    with sync.Client(token, timeout=30) as bh:
        curve: LightCurve = bh.targets.photometry("Gaia22bpl")
        print(curve.to_table(), curve.to_pandas(), curve.plot(save=night / "c.png"))
        for target in bh.targets.list(name="Gaia", ra_min=10.0):
            name: str | None = target.name
            print(name)
        everything: ResultSet[Target] = bh.targets.list().to_list()
        print(everything.to_table())
        products = bh.dataproducts.list(target="Gaia22bpl").to_list()
        print(products.to_pandas())
        options = UploadOptions(target="Gaia22bpl", observatory="HarnessObs_HarnessCam")
        receipt: UploadReceipt = bh.uploads.upload_file(night / "f1.fits", options)
        with bh.calibration.wait(receipt.ids, PollOptions(timeout=60)) as results:
            for result in results:
                magnitude: float | None = result.magnitude
                print(magnitude)
        listed: ResultSet[CalibrationResult] = bh.calibration.wait(receipt.ids).to_list()
        for plain in bh.calibration.results([1, 2]):
            done: bool = plain.is_done
            print(done, listed)
        summary: UploadSummary = sync.Uploader(bh, night, options, JobOptions(concurrency=2)).run()
        with sync.upload_and_calibrate(bh, night, options) as job:
            for calibrated in job:
                print(calibrated.dataproduct_id)
        final: UploadSummary | None = job.summary
        faster: sync.Client = bh.with_options(timeout=300)
        print(summary, final, faster.config.base_url)


async def before_a_night(bh: Client, night: Path) -> None:
    from bhtom_async.doctor import Check, DoctorOptions, diagnose

    status: int = await bh.uploads.check_access()
    near: str | None = await bh.targets.near_miss("gaia22BPL")
    options = DoctorOptions(target="Gaia22bpl", observatory="HarnessObs_HarnessCam", watch_folder=night)
    checks: list[Check] = await diagnose(bh, options)
    failed: bool = any(check.status == "fail" for check in checks)
    fixes: list[str | None] = [check.fix for check in checks]
    assert status >= 100
    assert near is None or near
    assert failed in (True, False)
    assert len(fixes) == len(checks)
