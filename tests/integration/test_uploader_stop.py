"""`Uploader.stop()`: the graceful half of an interruption (in-flight uploads finish, no new ones)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import pytest

from bhtom_async import Client, JobOptions, PollOptions, UploadOptions, upload_and_calibrate
from bhtom_async.upload import FileFinished, FileStarted, Uploader, UploadEvent

from ..conftest import fits_bytes

if TYPE_CHECKING:
    from bhtom_async.emulator import Emulator

pytestmark = pytest.mark.anyio
CAMERA = "HarnessObs_HarnessCam"


def _night(tmp_path: Path, n: int) -> Path:
    folder = tmp_path / "night"
    folder.mkdir()
    for i in range(n):
        (folder / f"frame_{i:02d}.fits").write_bytes(fits_bytes(i, mjd=60827.9 + i * 0.01))
    return folder


async def test_stop_lets_in_flight_uploads_finish_and_sends_nothing_new(
    alice: Client, emulator: Emulator, tmp_path: Path
) -> None:
    """After `stop()` the uploads in flight end uploaded; the rest are not attempted; cancelled."""
    emulator.add_fault("upload:/upload/:latency=0.3")
    folder = _night(tmp_path, 8)
    started: list[Path] = []
    uploader: Uploader

    def on_event(event: UploadEvent) -> None:
        if isinstance(event, FileStarted):
            started.append(event.path)
            if len(started) == 3:
                uploader.stop()

    options = UploadOptions(target="Gaia22bpl", observatory=CAMERA)
    job = JobOptions(concurrency=2, journal=str(tmp_path / "j.sqlite3"), settle_time=0.0)
    uploader = Uploader(alice, folder, options, job, on_event=on_event)
    summary = await uploader.run()
    counts = summary.counts
    assert summary.cancelled is True
    assert summary.stopped is None
    assert summary.verdict == "cancelled"
    assert counts["uploaded"] == len(started) == 3
    assert counts["not_attempted"] == 5
    assert len(emulator.state.dataproducts()) == 1 + 3  # the seeded product and the three sent


async def test_calibrated_upload_stop_reaches_the_uploader(
    alice: Client, emulator: Emulator, tmp_path: Path
) -> None:
    """`CalibratedUpload.stop()` stops the pipelined job's uploads the same way."""
    emulator.add_fault("upload:/upload/:latency=0.2")
    folder = _night(tmp_path, 6)
    finished = anyio.Event()

    def on_event(event: UploadEvent) -> None:
        if isinstance(event, FileFinished):
            finished.set()

    options = UploadOptions(target="Gaia22bpl", observatory=CAMERA)
    job = JobOptions(concurrency=1, journal=":memory:", settle_time=0.0)
    poll = PollOptions(interval=0.05, max_interval=0.1, timeout=10)
    async with upload_and_calibrate(alice, folder, options, job, poll, on_event=on_event) as calibrated:
        await finished.wait()
        calibrated.stop()
        results = [r async for r in calibrated]
    assert calibrated.summary is not None
    assert calibrated.summary.cancelled is True
    uploaded = calibrated.summary.counts["uploaded"]
    assert 1 <= uploaded < 6
    assert calibrated.summary.counts["not_attempted"] == 6 - uploaded
    assert len(results) == uploaded
