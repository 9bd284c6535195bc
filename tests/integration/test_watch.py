"""Live night ingest: frames uploaded as the camera writes them, calibrations while observing."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from bhtom_async import (
    Client,
    JobOptions,
    PollOptions,
    UploadOptions,
    WatchOptions,
    upload_and_calibrate,
    watch_paths,
)
from bhtom_async.emulator import Emulator, FaultRule
from bhtom_async.upload import Uploader

from ..conftest import fits_bytes

pytestmark = pytest.mark.anyio
OPTIONS = UploadOptions(target="Gaia22bpl", observatory="HarnessObs_HarnessCam")


async def write_slowly(path: Path, content: bytes, *, pieces: int = 3, pause: float = 0.05) -> None:
    """Write a frame the way a camera does: in pieces, with pauses between them."""
    step = -(-len(content) // pieces)
    for start in range(0, len(content), step):
        await anyio.to_thread.run_sync(_append, path, content[start : start + step])
        await anyio.sleep(pause)


def _append(path: Path, data: bytes) -> None:
    with path.open("ab") as handle:
        handle.write(data)


@pytest.mark.parametrize(
    ("force_polling", "frames"), [(False, 20), (True, 8)], ids=["notifications", "polling"]
)
async def test_frames_written_during_the_night_are_each_stored_once_complete(
    emulator: Emulator,
    emulator_client: Callable[..., Client],
    tmp_path: Path,
    force_polling: bool,
    frames: int,
) -> None:
    """Frames written in pieces while watching: each stored once, complete, and calibrations
    arrive while later frames are still being written."""
    night = tmp_path / "night"
    night.mkdir()
    contents = {f"f{i:02d}.fits": fits_bytes(i, size_blocks=6) for i in range(frames)}
    written: list[str] = []
    calibrated_while_writing: list[int] = []

    async def camera() -> None:
        for name, content in contents.items():
            await write_slowly(night / name, content)
            written.append(name)
            await anyio.sleep(0.02)

    source = watch_paths([night], WatchOptions(idle_exit=1.0, force_polling=force_polling, poll_interval=0.2))
    job = JobOptions(journal=tmp_path / "j.sqlite3", settle_time=0.3, concurrency=4)
    async with emulator_client("alice") as bh, anyio.create_task_group() as tg:
        tg.start_soon(camera)
        with anyio.fail_after(60):
            async with upload_and_calibrate(bh, source, OPTIONS, job, PollOptions(interval=0.2)) as results:
                async for _ in results:
                    calibrated_while_writing.append(len(written))
        summary = results.summary
    assert summary is not None
    assert sorted(o.path.name for o in summary.of("uploaded")) == sorted(contents)
    assert min(calibrated_while_writing) < len(contents)  # a magnitude before the last frame was written
    stored = [p for p in emulator.state.dataproducts() if p.file_name.startswith("f") and not p.dry_run]
    assert sorted(p.file_name for p in stored) == sorted(contents)
    for product in stored:
        final = contents[product.file_name]
        assert (product.size, product.sha256) == (len(final), hashlib.sha256(final).hexdigest())


@pytest.mark.parametrize("force_polling", [False, True], ids=["notifications", "polling"])
async def test_a_camera_that_writes_then_renames_has_a_clean_night(
    emulator: Emulator, emulator_client: Callable[..., Client], tmp_path: Path, force_polling: bool
) -> None:
    """Each frame written as `f.fits.tmp`, then renamed to `f.fits` (at once, or after a slow
    write): every frame stored once, complete; the temporary files, gone before the watcher's
    event for them is handled, are no failure, so the night is ok."""
    night = tmp_path / "night"
    night.mkdir()
    contents = {f"f{i:02d}.fits": fits_bytes(i, size_blocks=4) for i in (1, 2, 3, 4, 10, 11)}

    async def camera() -> None:
        for name, content in contents.items():
            temporary = night / f"{name}.tmp"
            if name.startswith("f0"):
                temporary.write_bytes(content)  # gone before the notification is handled
            else:
                await write_slowly(temporary, content)
            temporary.rename(night / name)
            await anyio.sleep(0.05)

    source = watch_paths([night], WatchOptions(idle_exit=1.0, force_polling=force_polling, poll_interval=0.1))
    job = JobOptions(journal=tmp_path / "j.sqlite3", settle_time=0.3, concurrency=2)
    async with emulator_client("alice") as bh, anyio.create_task_group() as tg:
        tg.start_soon(camera)
        with anyio.fail_after(60):
            summary = await Uploader(bh, source, OPTIONS, job).run()
    assert sorted(o.path.name for o in summary.of("uploaded")) == sorted(contents)
    assert {o.status for o in summary.outcomes} <= {"uploaded", "ignored"}
    assert summary.verdict == "ok"
    stored = [p for p in emulator.state.dataproducts() if p.file_name.startswith("f") and not p.dry_run]
    assert sorted(p.file_name for p in stored) == sorted(contents)
    assert all(p.sha256 == hashlib.sha256(contents[p.file_name]).hexdigest() for p in stored)


async def test_watch_stops_at_until_and_a_rerun_sends_nothing_again(
    emulator: Emulator, emulator_client: Callable[..., Client], tmp_path: Path
) -> None:
    """`until` ends the watch with a summary; a one-shot re-run with the journal sends nothing."""
    night = tmp_path / "night"
    night.mkdir()
    (night / "a.fits").write_bytes(fits_bytes(1))
    journal = tmp_path / "j.sqlite3"
    async with emulator_client("alice") as bh:
        started = time.time()
        with anyio.fail_after(20):
            summary = await Uploader(
                bh,
                watch_paths([night], WatchOptions(until=started + 1.0)),
                OPTIONS,
                JobOptions(journal=journal, settle_time=0),
            ).run()
        assert time.time() - started >= 1.0
        again = await Uploader(bh, night, OPTIONS, JobOptions(journal=journal, settle_time=0)).run()
    assert [o.status for o in summary.outcomes] == ["uploaded"]
    assert [o.status for o in again.outcomes] == ["skipped"]


async def test_a_night_uploaded_under_another_journal_is_found_on_the_server(
    emulator: Emulator, emulator_client: Callable[..., Client], tmp_path: Path
) -> None:
    """With check_server, a fresh journal sends nothing and says so per file, in one listing."""
    night = tmp_path / "night"
    night.mkdir()
    for i in range(6):
        (night / f"f{i}.fits").write_bytes(fits_bytes(i))
    async with emulator_client("alice") as bh:
        first = await Uploader(
            bh, night, OPTIONS, JobOptions(journal=tmp_path / "one.sqlite3", settle_time=0)
        ).run()
        before = emulator.state.request_count("POST", "/common/api/data/")
        uploads = emulator.state.request_count("POST", "/upload/")
        again = await Uploader(
            bh, night, OPTIONS, JobOptions(journal=tmp_path / "two.sqlite3", settle_time=0, check_server=True)
        ).run()
    assert first.counts["uploaded"] == 6
    assert [o.status for o in again.outcomes] == ["skipped"] * 6
    assert all(o.reason == f"already on the server (id {o.data_product_id})" for o in again.outcomes)
    assert sorted(o.data_product_id for o in again.outcomes) == sorted(first.ids)
    assert emulator.state.request_count("POST", "/upload/") == uploads
    assert emulator.state.request_count("POST", "/common/api/data/") - before <= 2


async def test_a_frame_rewritten_after_an_earlier_upload_is_not_mistaken_for_it(tmp_path: Path) -> None:
    """check_server counts only products made after the file's last change: tonight's `f0.fits`
    is sent even though last night's `f0.fits` is stored."""
    night = tmp_path / "night"
    night.mkdir()
    (night / "f0.fits").write_bytes(fits_bytes(1))
    skew = [-86400.0]  # the emulator's clock: last night, then now
    with Emulator(seed=5, calibration_delays=(30, 30), clock=lambda: time.time() + skew[0]) as emulator:
        urls = {"base_url": emulator.base_url, "upload_url": emulator.upload_url}
        async with Client(emulator.tokens["alice"], **urls) as bh:
            await Uploader(
                bh, night, OPTIONS, JobOptions(journal=tmp_path / "one.sqlite3", settle_time=0)
            ).run()
        skew[0] = 0.0
        (night / "f0.fits").write_bytes(fits_bytes(2))  # tonight's frame, same name
        async with Client(emulator.tokens["alice"], **urls) as bh:
            again = await Uploader(
                bh,
                night,
                OPTIONS,
                JobOptions(journal=tmp_path / "two.sqlite3", settle_time=0, check_server=True),
            ).run()
    assert [o.status for o in again.outcomes] == ["uploaded"]


WATCHER = """
import anyio, sys
from bhtom_async import Client, JobOptions, UploadOptions, Uploader, WatchOptions, watch_paths
async def main():
    base, upload, token, night, journal = sys.argv[1:6]
    async with Client(token, base_url=base, upload_url=upload) as bh:
        source = watch_paths([night], WatchOptions(idle_exit=60))
        job = JobOptions(journal=journal, settle_time=0.2, concurrency=2)
        print("watching", flush=True)
        options = UploadOptions(target="Gaia22bpl", observatory="HarnessObs_HarnessCam")
        await Uploader(bh, source, options, job).run()
anyio.run(main)
"""


async def test_kill_9_in_watch_mode_then_a_rerun_stores_nothing_twice(
    emulator: Emulator, tmp_path: Path
) -> None:
    """A watcher killed with SIGKILL while frames upload; a re-run (watch or one-shot) finishes the
    night and no frame is stored twice."""
    night = tmp_path / "night"
    night.mkdir()
    journal = tmp_path / "j.sqlite3"
    emulator.add_fault(FaultRule(kind="latency", host="upload", path="/upload/", seconds=0.3))
    args = [emulator.base_url, emulator.upload_url, emulator.tokens["alice"], str(night), str(journal)]
    watcher = subprocess.Popen([sys.executable, "-c", WATCHER, *args], stdout=subprocess.PIPE, text=True)
    assert watcher.stdout is not None
    assert watcher.stdout.readline().strip() == "watching"
    for i in range(8):
        (night / f"f{i}.fits").write_bytes(fits_bytes(i))
    with anyio.fail_after(20):
        while emulator.state.request_count("POST", "/upload/") < 3:
            await anyio.sleep(0.05)
    watcher.send_signal(signal.SIGKILL)
    watcher.wait()
    watcher.stdout.close()
    emulator.clear_faults()
    async with Client(
        emulator.tokens["alice"], base_url=emulator.base_url, upload_url=emulator.upload_url
    ) as bh:
        summary = await Uploader(bh, night, OPTIONS, JobOptions(journal=journal, settle_time=0)).run()
    assert (
        sorted(o.status for o in summary.outcomes)
        == ["skipped"] * (8 - summary.counts["uploaded"]) + ["uploaded"] * summary.counts["uploaded"]
    )
    frames = [p for p in emulator.state.dataproducts() if p.file_name.startswith("f") and not p.dry_run]
    assert sorted(p.file_name for p in frames) == [f"f{i}.fits" for i in range(8)]
