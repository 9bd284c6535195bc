"""Exactly once against the emulator, as an adversary would try it (issue cases, deterministic).

Each test checks the emulator's own state file by file: every "uploaded" outcome names a
product whose content is that file's, and no file is stored twice.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from bhtom_async import Client, JobOptions, UploadOptions, UploadSummary, errors
from bhtom_async.emulator import Emulator, FaultRule
from bhtom_async.testing import ManualClock
from bhtom_async.upload import Uploader

from ..conftest import fits_bytes

pytestmark = pytest.mark.anyio
TARGET = "Gaia22bpl"
CAMERA = "HarnessObs_HarnessCam"


def write(path: Path, seed: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(fits_bytes(seed))
    return path


def check_truthful(emulator: Emulator, summary: UploadSummary) -> None:
    """Every uploaded outcome's id is a stored product with that file's content; none stored twice."""
    for outcome in summary.of("uploaded"):
        assert outcome.data_product_id is not None
        product = emulator.state.dataproduct(outcome.data_product_id)
        assert product is not None, outcome
        assert product.sha256 == hashlib.sha256(outcome.path.read_bytes()).hexdigest(), outcome
        stored = [p for p in emulator.state.dataproducts_by_sha256(product.sha256) if not p.dry_run]
        assert len(stored) == 1, (outcome.path, [p.id for p in stored])


async def upload(bh: Client, paths: Path | list[Path], journal: Path, **job: object) -> UploadSummary:
    options = UploadOptions(target=str(job.pop("target", TARGET)), observatory=CAMERA)
    settings = JobOptions(journal=journal, settle_time=0, **job)  # type: ignore[arg-type]
    return await Uploader(bh, paths, options, settings).run()


async def test_a_skewed_server_clock_stores_nothing_twice(tmp_path: Path) -> None:
    """The server's clock 11 minutes behind ours, half the answers lost after the store: 20 frames once."""
    night = [write(tmp_path / "night" / f"f{i:02d}.fits", i) for i in range(20)]
    with Emulator(seed=3, calibration_delays=(30, 30), clock=lambda: time.time() - 660) as emulator:
        emulator.add_fault(
            FaultRule(kind="reset_after_store", host="upload", path="/upload/", probability=0.5)
        )
        async with Client(
            emulator.tokens["alice"],
            base_url=emulator.base_url,
            upload_url=emulator.upload_url,
            clock=ManualClock(),
        ) as bh:
            summary = await upload(
                bh, tmp_path / "night", tmp_path / "j.sqlite3", concurrency=4, max_attempts=6
            )
        assert summary.counts["uploaded"] == 20, summary
        assert sum(o.reconciled for o in summary.outcomes) >= 3
        check_truthful(emulator, summary)
        assert len({p.sha256 for p in emulator.state.dataproducts() if p.file_name.startswith("f")}) == len(
            night
        )


async def test_a_colleague_s_earlier_frame_of_the_same_name_is_not_taken_for_ours(tmp_path: Path) -> None:
    """bob's `img.fits` stored an hour earlier; alice's answer is lost: hers is found, not his."""
    theirs = write(tmp_path / "bob" / "img.fits", 1)
    mine = write(tmp_path / "alice" / "img.fits", 2)
    skew = [-3600.0]  # the emulator's clock: an hour ago while bob uploads, then now
    with Emulator(seed=4, calibration_delays=(30, 30), clock=lambda: time.time() + skew[0]) as emulator:
        urls = {"base_url": emulator.base_url, "upload_url": emulator.upload_url}
        async with Client(emulator.tokens["bob"], **urls) as bob:
            await bob.uploads.upload_file(theirs, UploadOptions(target=TARGET, observatory=CAMERA))
        skew[0] = 0.0
        emulator.add_fault(FaultRule(kind="reset_after_store", host="upload", path="/upload/", times=1))
        async with Client(emulator.tokens["alice"], clock=ManualClock(), **urls) as alice:
            summary = await upload(alice, mine, tmp_path / "j.sqlite3")
        (outcome,) = summary.outcomes
        assert (outcome.status, outcome.reconciled) == ("uploaded", True)
        check_truthful(emulator, summary)


async def test_a_target_differing_only_in_case_is_never_adopted(
    emulator: Emulator, emulator_client: Callable[..., Client], tmp_path: Path
) -> None:
    """`gaia22BPL` does not exist (Gaia22bpl does, with a same-named frame): after a 503, the lookup
    must not adopt Gaia22bpl's product; the re-send is refused and the job stops, nothing uploaded."""
    frame = write(tmp_path / "night" / "img.fits", 1)
    async with emulator_client("alice") as alice:
        await alice.uploads.upload_file(frame, UploadOptions(target=TARGET, observatory=CAMERA))
        emulator.add_fault(FaultRule(kind="error", host="upload", path="/upload/", status=503, times=1))
        summary = await upload(alice, frame, tmp_path / "j.sqlite3", target="gaia22BPL")
    assert summary.of("uploaded") == ()
    assert isinstance(summary.stopped, errors.TargetNotFoundError)


async def test_two_processes_on_one_journal_never_send_a_file_twice(
    emulator: Emulator, tmp_path: Path
) -> None:
    """An overlapping second run is refused at once naming the first, or waits for it and sends nothing."""
    for i in range(8):
        write(tmp_path / "night" / f"f{i}.fits", i)
    # Long enough for two more processes to start while the first job runs (its 8 uploads go in
    # 4 rounds of 2 at once).
    emulator.add_fault(FaultRule(kind="latency", host="upload", path="/upload/", seconds=0.8))
    script = """
import anyio, sys
from bhtom_async import Client, JobOptions, UploadOptions, Uploader
async def main():
    base, upload, token, night, journal, wait = sys.argv[1:7]
    async with Client(token, base_url=base, upload_url=upload) as bh:
        job = JobOptions(journal=journal, settle_time=0, concurrency=2, journal_wait=float(wait))
        try:
            options = UploadOptions(target="Gaia22bpl", observatory="HarnessObs_HarnessCam")
            summary = await Uploader(bh, night, options, job).run()
        except Exception as exc:
            print("refused", type(exc).__name__, exc.headline, flush=True)
            return
    print("done", summary.counts["uploaded"], summary.counts["skipped"], flush=True)
anyio.run(main)
"""
    args = [emulator.base_url, emulator.upload_url, emulator.tokens["alice"], str(tmp_path / "night")]
    journal = str(tmp_path / "j.sqlite3")

    def start(wait: float) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-c", script, *args, journal, str(wait)], stdout=subprocess.PIPE, text=True
        )

    first = start(0)
    with anyio.fail_after(20):
        while emulator.state.request_count("POST", "/upload/") == 0:
            await anyio.sleep(0.05)
    refused = start(0)
    waiting = start(60)
    outputs = [p.communicate(timeout=60)[0].strip() for p in (first, refused, waiting)]
    assert outputs[0] == "done 8 0"
    assert outputs[1].startswith("refused JournalBusyError")
    assert f"process {first.pid}" in outputs[1]
    assert outputs[2] == "done 0 8"
    frames = [p for p in emulator.state.dataproducts() if p.file_name.startswith("f") and not p.dry_run]
    assert len(frames) == 8
    assert len({p.sha256 for p in frames}) == 8
