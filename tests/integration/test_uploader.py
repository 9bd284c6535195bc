"""The bulk uploader over real loopback sockets: the emulator with faults, big files, SIGKILL."""

from __future__ import annotations

import gc
import hashlib
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import pytest
from blockbuster import blockbuster_ctx

from bhtom_async import Client, JobOptions, PollOptions, UploadOptions, errors, upload_and_calibrate
from bhtom_async.testing import ManualClock
from bhtom_async.upload import FileFinished, Journal, Uploader

from ..conftest import fits_bytes
from .helpers import MB, DiscardServer, sparse_fits, upload_one, upload_peaks

if TYPE_CHECKING:
    from bhtom_async.emulator import DataProductInfo, Emulator

MakeClient = Callable[..., Client]

pytestmark = pytest.mark.anyio


async def test_event_loop_stays_responsive_while_streaming_64_mb(
    discard_server: DiscardServer, tmp_path: Path
) -> None:
    """A 10 ms heartbeat is never 0.2 s late during a 64 MB upload, and nothing blocks the loop."""
    big = sparse_fits(tmp_path / "big.fits", 64 * MB)
    lags: list[float] = []
    done = anyio.Event()

    async def heartbeat() -> None:
        while not done.is_set():
            before = anyio.current_time()
            await anyio.sleep(0.01)
            lags.append(anyio.current_time() - before - 0.01)

    async with anyio.create_task_group() as tg:
        tg.start_soon(heartbeat)
        with blockbuster_ctx():  # and no blocking call (read, stat, sqlite, hashing) ran on the loop
            sent = await upload_one(discard_server, big, tmp_path / "j.sqlite3")
        done.set()
    assert sent > 64 * MB
    assert len(lags) >= 3
    print(f"heartbeat: {len(lags)} ticks, max lag {max(lags) * 1000:.1f} ms")
    assert max(lags) < 0.2


async def test_memory_does_not_grow_with_file_size(discard_server: DiscardServer, tmp_path: Path) -> None:
    """Peak traced memory while uploading 64 MB is within 4 MB of the peak for 8 MB."""
    small = sparse_fits(tmp_path / "small.fits", 8 * MB)
    big = sparse_fits(tmp_path / "big.fits", 64 * MB)
    peaks = await upload_peaks(discard_server, [small, big], tmp_path)
    print(f"peak traced memory: 8 MB file {peaks[0] / MB:.2f} MB, 64 MB file {peaks[1] / MB:.2f} MB")
    assert peaks[1] - peaks[0] < 4 * MB
    assert peaks[1] < 16 * MB


# ---- against the emulator ----------------------------------------------------------------------

TARGET = "Gaia22bpl"
CAMERA = "HarnessObs_HarnessCam"


def night_of(root: Path, n: int, *, size_blocks: int = 3) -> list[Path]:
    """`n` distinct FITS frames in `root`."""
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = root / f"frame_{i:03d}.fits"
        path.write_bytes(fits_bytes(i, size_blocks=size_blocks))
        paths.append(path)
    return paths


def stored_once(emulator: Emulator, paths: list[Path]) -> dict[str, int]:
    """How many non-dry-run data products the emulator holds for each file's content."""
    return {
        p.name: sum(
            not d.dry_run
            for d in emulator.state.dataproducts_by_sha256(hashlib.sha256(p.read_bytes()).hexdigest())
        )
        for p in paths
    }


def real_products(emulator: Emulator) -> list[DataProductInfo]:
    """Stored (non-dry-run) products of this test's frames (the seed holds a few of its own)."""
    return [d for d in emulator.state.dataproducts() if not d.dry_run and d.file_name.startswith("frame_")]


FAULTS = {
    "429": dict(kind="throttle", host="upload", path="/upload/", times=3, retry_after=1),
    "500": dict(kind="error", host="upload", path="/upload/", times=2, status=500),
    "502": dict(kind="error", host="upload", path="/upload/", times=2, status=502),
    "reset_before_body": dict(kind="reset_before_body", host="upload", path="/upload/", times=2),
    "reset_after_store": dict(kind="reset_after_store", host="upload", path="/upload/", times=2),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_each_file_stored_exactly_once_under_fault(
    emulator: Emulator, emulator_client: MakeClient, tmp_path: Path, fault: str
) -> None:
    """Under 429s, 5xx, resets before the body and resets after the store, every file is stored once."""
    from bhtom_async.emulator import FaultRule

    paths = night_of(tmp_path / "night", 5)
    emulator.add_fault(FaultRule(**FAULTS[fault]))
    async with emulator_client("alice", clock=ManualClock()) as bh:
        summary = await Uploader(
            bh,
            tmp_path / "night",
            UploadOptions(target=TARGET, observatory=CAMERA),
            JobOptions(journal=tmp_path / "j.sqlite3", settle_time=0),
        ).run()
    assert summary.counts["uploaded"] == 5, summary
    assert set(stored_once(emulator, paths).values()) == {1}
    assert len(real_products(emulator)) == 5
    if fault == "reset_after_store":
        assert sum(o.reconciled for o in summary.outcomes) == 2
    gc.collect()  # a dropped body's file must already be closed: a leak would warn (and fail) here


async def test_all_faults_together(emulator: Emulator, emulator_client: MakeClient, tmp_path: Path) -> None:
    """Every fault kind at once, concurrency 4: still each file exactly once, ids as the server has them."""
    from bhtom_async.emulator import FaultRule

    paths = night_of(tmp_path / "night", 10)
    # All matching rules count every request, so stagger them with `after` to let each one fire.
    after = 0
    for name in ("429", "500", "502", "reset_before_body", "reset_after_store"):
        spec = FAULTS[name]
        emulator.add_fault(FaultRule(**{**spec, "after": after}))
        after += int(str(spec["times"]))
    async with emulator_client("alice", clock=ManualClock()) as bh:
        summary = await Uploader(
            bh,
            tmp_path / "night",
            UploadOptions(target=TARGET, observatory=CAMERA),
            JobOptions(journal=tmp_path / "j.sqlite3", settle_time=0, max_attempts=8),
        ).run()
    assert summary.counts["uploaded"] == 10, summary
    assert set(stored_once(emulator, paths).values()) == {1}
    assert sorted(summary.ids) == sorted(d.id for d in real_products(emulator))
    assert any(o.reconciled for o in summary.outcomes)
    gc.collect()  # a leaked body would warn (and fail) here


async def test_rerun_after_interrupted_job_uploads_only_the_rest(
    emulator: Emulator, emulator_client: MakeClient, tmp_path: Path
) -> None:
    """A job cancelled after two files finished; the re-run uploads only the remainder."""
    from bhtom_async.emulator import FaultRule

    paths = night_of(tmp_path / "night", 8)
    emulator.add_fault(FaultRule(kind="latency", host="upload", path="/upload/", seconds=0.15))
    finished = 0
    with anyio.CancelScope() as scope:

        def on_event(event: object) -> None:
            nonlocal finished
            if isinstance(event, FileFinished):
                finished += 1
                if finished == 2:
                    scope.cancel()

        async with emulator_client("alice") as bh:
            first = Uploader(
                bh,
                tmp_path / "night",
                UploadOptions(target=TARGET, observatory=CAMERA),
                JobOptions(journal=tmp_path / "j.sqlite3", settle_time=0, concurrency=2),
                on_event=on_event,
            )
            await first.run()
    done_first = len([o for o in first.outcomes if o.status == "uploaded"])
    assert 2 <= done_first < 8
    emulator.clear_faults()
    async with emulator_client("alice") as bh:
        second = await Uploader(
            bh,
            tmp_path / "night",
            UploadOptions(target=TARGET, observatory=CAMERA),
            JobOptions(journal=tmp_path / "j.sqlite3", settle_time=0),
        ).run()
    assert second.counts["skipped"] == done_first
    assert second.counts["uploaded"] == 8 - done_first
    assert set(stored_once(emulator, paths).values()) == {1}


async def test_dry_run_stores_nothing_and_journals_nothing(emulator, alice: Client, tmp_path: Path) -> None:
    """A dry run: the server checks each file, keeps nothing, and the journal stays empty."""
    night_of(tmp_path / "night", 3)
    summary = await Uploader(
        alice,
        tmp_path / "night",
        UploadOptions(target=TARGET, observatory=CAMERA, dry_run=True),
        JobOptions(journal=tmp_path / "j.sqlite3", settle_time=0),
    ).run()
    assert summary.counts["dry_run"] == 3
    assert real_products(emulator) == []
    assert not (tmp_path / "j.sqlite3").exists()
    real = await Uploader(
        alice,
        tmp_path / "night",
        UploadOptions(target=TARGET, observatory=CAMERA),
        JobOptions(journal=tmp_path / "j.sqlite3", settle_time=0),
    ).run()
    assert real.counts["uploaded"] == 3


async def test_bad_inputs_each_give_their_reason(emulator, alice: Client, tmp_path: Path) -> None:
    """Logs are ignored; empty, compressed, fake and missing files fail; a growing one is not ready."""
    night = tmp_path / "night"
    (good,) = night_of(night, 1)
    old = 1_000_000_000
    for name, content in {
        "empty.fits": b"",
        "log.txt": b"clouds",
        "a.fits.fz": fits_bytes(7),
        "b.fits.gz": b"\x1f\x8b",
        "fake.fits": b"x" * 2880,
    }.items():
        (night / name).write_bytes(content)
        os.utime(night / name, (old, old))
    os.utime(good, (old, old))
    (night / "growing.fits").write_bytes(fits_bytes(9))
    summary = await Uploader(
        alice,
        [night, tmp_path / "missing.fits"],
        UploadOptions(target=TARGET, observatory=CAMERA),
        JobOptions(journal=tmp_path / "j.sqlite3", settle_time=30, max_settle_wait=0.3),
    ).run()
    status = {o.path.name: o.status for o in summary.outcomes}
    reasons = {o.path.name: o.reason for o in summary.outcomes}
    assert reasons["empty.fits"] == "empty file (0 bytes)"
    assert status["log.txt"] == "ignored"
    assert "not a FITS file name" in str(reasons["log.txt"])
    assert "holds no tile-compressed image" in str(reasons["a.fits.fz"])
    assert "cannot be read" in str(reasons["b.fits.gz"])
    assert "SIMPLE" in str(reasons["fake.fits"])
    assert (status["growing.fits"], reasons["growing.fits"]) == (
        "not_ready",
        "still being written after 0.3 s; re-run to upload it",
    )
    assert reasons["missing.fits"] == "does not exist"
    assert [o.path.name for o in summary.of("uploaded")] == [good.name]
    failed = {"empty.fits", "a.fits.fz", "b.fits.gz", "fake.fits", "missing.fits"}
    assert {name for name, s in status.items() if s == "failed"} == failed
    assert summary.verdict == "failed"
    assert emulator.state.request_count("POST", "/upload/") == 1


@pytest.mark.parametrize(
    ("case", "error", "checks_see_it"),
    [
        ("bad token", errors.AuthenticationError, True),
        ("unknown target", errors.TargetNotFoundError, True),
        ("camera not in favourites", errors.CameraNotFavouriteError, False),
        ("unknown observer", errors.ObserverUnknownError, False),
    ],
)
async def test_job_wide_refusal_stops_with_one_message(
    emulator: Emulator,
    emulator_client: MakeClient,
    tmp_path: Path,
    case: str,
    error: type[Exception],
    checks_see_it: bool,
) -> None:
    """A bad token, unknown target, non-favourite camera or unknown observer: one clear message, then stop.

    The checks before uploads (two look-ups on the main host) see a bad token and an unknown
    target: no upload is sent. What they cannot see costs at most `concurrency` (4) uploads.
    """
    night_of(tmp_path / "night", 6)
    options: dict[str, Any] = {"target": TARGET, "observatory": CAMERA}
    if case == "unknown target":
        options["target"] = "NoSuchTarget"
    if case == "camera not in favourites":
        options["observatory"] = "ROAD_QHY600M"
    if case == "unknown observer":
        options["observers"] = ("nobody_here",)
    client = (
        Client("0" * 40, base_url=emulator.base_url, upload_url=emulator.upload_url)
        if case == "bad token"
        else emulator_client("alice")
    )
    async with client as bh:
        job = JobOptions(journal=tmp_path / "j.sqlite3", settle_time=0, concurrency=4)
        summary = await Uploader(bh, tmp_path / "night", UploadOptions(**options), job).run()
    assert isinstance(summary.stopped, error)
    assert summary.stopped.hint
    look_ups = emulator.state.request_count("POST", "/targets/getTargetList/") + emulator.state.request_count(
        "POST", "/observatory/getObservatoryList/"
    )
    assert look_ups == 2
    uploads = emulator.state.request_count("POST", "/upload/")
    if checks_see_it:
        assert uploads == 0
    else:
        assert 1 <= uploads <= 4
    # Every file is in the summary: those sent failed, the rest were not attempted (and say why).
    assert [o.status for o in summary.outcomes].count("failed") == uploads
    assert [o.status for o in summary.outcomes].count("not_attempted") == 6 - uploads
    assert all(summary.stopped.headline in str(o.reason) for o in summary.outcomes)
    if case == "camera not in favourites":
        assert "add_favourite" in str(summary.stopped)


async def test_upload_and_calibrate_streams_results(emulator, alice: Client, tmp_path: Path) -> None:
    """Ids feed the calibration poller as uploads finish; every uploaded frame gets a final result."""
    night_of(tmp_path / "night", 3)
    async with upload_and_calibrate(
        alice,
        tmp_path / "night",
        UploadOptions(target=TARGET, observatory=CAMERA),
        JobOptions(journal=tmp_path / "j.sqlite3", settle_time=0),
        PollOptions(interval=0.05, timeout=20),
    ) as job:
        results = [result async for result in job]
    assert job.summary is not None
    assert sorted(r.dataproduct_id for r in results) == sorted(job.summary.ids)
    assert len(results) == 3


KILLED_JOB = """
import sys, anyio
from bhtom_async import Client, JobOptions, UploadOptions
from bhtom_async.upload import FileFinished, FileStarted, Uploader

async def main():
    base, upload, token, folder, journal = sys.argv[1:6]
    def on_event(event):
        if isinstance(event, FileFinished):
            print("finished", event.outcome.path.name, flush=True)
        if isinstance(event, FileStarted):
            print("started", event.path.name, flush=True)
    async with Client(token, base_url=base, upload_url=upload) as bh:
        options = UploadOptions(target="Gaia22bpl", observatory="HarnessObs_HarnessCam")
        job = JobOptions(journal=journal, settle_time=0, concurrency=2)
        summary = await Uploader(bh, folder, options, job, on_event=on_event).run()
    print("done", summary, flush=True)

anyio.run(main)
"""


@pytest.mark.slow
async def test_sigkill_mid_job_then_resume_stores_each_file_once(
    emulator, alice: Client, tmp_path: Path
) -> None:
    """The uploader killed with SIGKILL mid-job, then re-run: every file stored exactly once."""
    from bhtom_async.emulator import FaultRule

    paths = night_of(tmp_path / "night", 8, size_blocks=40)  # ~112 KB each
    emulator.add_fault(
        FaultRule(kind="bandwidth", host="upload", path="/upload/", rate=400_000, direction="up")
    )
    journal = tmp_path / "j.sqlite3"
    argv = [
        emulator.base_url,
        emulator.upload_url,
        emulator.tokens["alice"],
        str(tmp_path / "night"),
        str(journal),
    ]
    proc = await anyio.open_process([sys.executable, "-c", KILLED_JOB, *argv])
    assert proc.stdout is not None
    seen = b""
    with anyio.fail_after(20):
        async for chunk in proc.stdout:
            seen += chunk
            if seen.count(b"started") >= 4:  # the 4th file's row is `sending`; its body is on the way
                break
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    await proc.aclose()
    assert b"done" not in seen
    async with Journal(journal) as j:
        states = [r.state for r in await j.rows()]
    assert "sending" in states  # killed with requests in flight
    emulator.clear_faults()
    summary = await Uploader(
        alice,
        tmp_path / "night",
        UploadOptions(target=TARGET, observatory=CAMERA),
        JobOptions(journal=journal, settle_time=0),
    ).run()
    assert summary.counts["failed"] == summary.counts["unknown"] == 0, summary
    assert set(stored_once(emulator, paths).values()) == {1}
    assert len(real_products(emulator)) == 8
