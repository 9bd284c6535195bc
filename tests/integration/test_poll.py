"""`bh.calibration.wait` against the emulator: streaming while uploads continue, plots, deadlines."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import httpx
import pytest

from bhtom_async import Client, UploadOptions
from bhtom_async._clock import SystemClock
from bhtom_async.models import CalibrationStatus, UploadedFile
from bhtom_async.poll import PollOptions
from bhtom_async.testing import ManualClock

from ..conftest import fits_bytes

if TYPE_CHECKING:
    from bhtom_async.emulator import Emulator

pytestmark = pytest.mark.anyio
CAMERA = "HarnessObs_HarnessCam"
FAST = {"interval": 0.05, "max_interval": 0.2, "timeout": 30.0}


async def test_results_stream_while_uploads_continue(
    alice: Client, make_fits_tree: Callable[..., list[Path]]
) -> None:
    """Ids fed as uploads finish: the first calibrated result arrives before the last upload is sent."""
    frames = make_fits_tree(3, folder="stream")
    first_result = anyio.Event()
    uploaded: list[str] = []

    async def uploads() -> AsyncIterator[UploadedFile]:
        for index, frame in enumerate(frames):
            if index == len(frames) - 1:
                await first_result.wait()  # the last upload starts only once a result is in
            receipt = await alice.uploads.upload_file(
                frame, UploadOptions(target="Gaia22bpl", observatory=CAMERA)
            )
            uploaded.append(frame.name)
            for item in receipt.files:
                yield item

    seen: list[tuple[str | None, int]] = []
    with anyio.fail_after(30):
        async with alice.calibration.wait(uploads(), PollOptions(**FAST)) as results:
            async for result in results:
                seen.append((result.filename, len(uploaded)))
                first_result.set()
                assert result.status is CalibrationStatus.SUCCESS
    assert len(seen) == 3
    assert seen[0][1] < 3
    assert sorted(name for name, _ in seen) == [f.name for f in frames]


async def test_plots_saved_when_asked(
    alice: Client, make_fits_tree: Callable[..., list[Path]], tmp_path: Path
) -> None:
    """plot=True with plots_dir saves each result's PNG as <id>.png."""
    frames = make_fits_tree(2, folder="plots")
    receipt = await alice.uploads.upload_file(frames, UploadOptions(target="Gaia22bpl", observatory=CAMERA))
    results = [
        r
        async for r in alice.calibration.wait(
            receipt.files, PollOptions(plot=True, plots_dir=tmp_path / "p", **FAST)
        )
    ]
    assert sorted(r.dataproduct_id for r in results) == sorted(receipt.ids)
    for result in results:
        assert result.plot_path == tmp_path / "p" / f"{result.dataproduct_id}.png"
        assert result.plot_path.read_bytes().startswith(b"\x89PNG")


async def test_deadline_reports_pending(emulator_client: Callable[..., Client]) -> None:
    """An id that never gets a record is reported PENDING at the deadline, and the wait ends."""
    clock = ManualClock()
    async with emulator_client("alice", clock=clock) as bh:
        with anyio.fail_after(30):
            results = [
                r
                async for r in bh.calibration.wait(
                    [987654], PollOptions(interval=1, timeout=5, missing_grace=60)
                )
            ]
    assert [(r.dataproduct_id, r.status) for r in results] == [(987654, CalibrationStatus.PENDING)]
    assert "no calibration record yet" in (results[0].message or "")
    assert clock.monotonic() == pytest.approx(5.0)


async def test_dry_run_ids_reported_as_dry_run(
    alice: Client, make_fits_tree: Callable[..., list[Path]]
) -> None:
    """A dry-run upload's id is reported as such at once, not waited on."""
    (frame,) = make_fits_tree(1, folder="dry")
    receipt = await alice.uploads.upload_file(
        frame, UploadOptions(target="Gaia22bpl", observatory=CAMERA, dry_run=True)
    )
    with anyio.fail_after(10):
        (result,) = [r async for r in alice.calibration.wait(receipt.files, PollOptions(**FAST))]
    assert result.dry_run is True
    assert "dry run" in (result.message or "")


class CountingClock(SystemClock):
    """The real clock, recording every sleep (one per poll round here)."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await super().sleep(seconds)


@pytest.mark.slow
async def test_thousand_ids_resolve_with_at_most_five_requests_per_round(
    emulator: Emulator, emulator_client: Callable[..., Client], tmp_path: Path
) -> None:
    """1,000 uploaded ids all resolve, with at most ceil(1000/200) = 5 result requests per round."""
    folder = tmp_path / "many"
    folder.mkdir()
    paths = []
    for i in range(1000):
        path = folder / f"f{i:04d}.fits"
        path.write_bytes(fits_bytes(i))
        paths.append(path)
    clock = CountingClock()
    async with emulator_client("alice", clock=clock) as bh:
        ids: list[int] = []
        limiter = anyio.CapacityLimiter(8)

        async def send(chunk: list[Path]) -> None:
            async with limiter:
                receipt = await bh.uploads.upload_file(
                    chunk, UploadOptions(target="Gaia22bpl", observatory=CAMERA)
                )
                ids.extend(receipt.ids)

        async with anyio.create_task_group() as group:
            for start in range(0, 1000, 5):
                group.start_soon(send, paths[start : start + 5])
        before = emulator.state.request_count("POST", "/calibration/get-calibration-res/")
        with anyio.fail_after(60):
            results = [r async for r in bh.calibration.wait(ids, PollOptions(**FAST))]
    requests = emulator.state.request_count("POST", "/calibration/get-calibration-res/") - before
    rounds = len(clock.sleeps) + 1
    assert sorted(r.dataproduct_id for r in results) == sorted(ids)
    assert all(r.is_done for r in results)
    assert requests <= math.ceil(1000 / 200) * rounds


async def test_poisoned_batch_is_bisected(
    emulator: Emulator, emulator_client: Callable[..., Client], make_fits_tree: Callable[..., list[Path]]
) -> None:
    """A frame without its CCDPhotJob yet fails whole batches; it is isolated, the others resolve first."""
    sent: list[list[int]] = []

    async def record(request: httpx.Request) -> None:
        if request.url.path == "/calibration/get-calibration-res/":
            sent.append(json.loads(request.content)["calibid"])

    frames = make_fits_tree(5, folder="poison")
    async with (
        httpx.AsyncClient(event_hooks={"request": [record]}) as pool,
        emulator_client("alice", http_client=pool) as bh,
    ):
        healthy = await bh.uploads.upload_file(
            frames[:4], UploadOptions(target="Gaia22bpl", observatory=CAMERA)
        )
        emulator.calibration.ccdphot_delay = 1.0
        try:
            poisoned = await bh.uploads.upload_file(
                frames[4], UploadOptions(target="Gaia22bpl", observatory=CAMERA)
            )
        finally:
            emulator.calibration.ccdphot_delay = 0.0
        bad = poisoned.ids[0]
        with anyio.fail_after(30):
            results = [r async for r in bh.calibration.wait([*healthy.ids, bad], PollOptions(**FAST))]
    assert [r.status for r in results] == [CalibrationStatus.SUCCESS] * 5
    assert results[-1].dataproduct_id == bad
    assert sent[0] == [*healthy.ids, bad]
    assert [bad] in sent
