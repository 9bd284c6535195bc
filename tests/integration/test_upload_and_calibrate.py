"""`bh.upload_and_calibrate`: results name their frame, and a re-run still yields every magnitude."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from bhtom_async import (
    CalibrationStatus,
    Client,
    JobOptions,
    PollOptions,
    UploadOptions,
    upload_and_calibrate,
)

pytestmark = pytest.mark.anyio


async def collect(bh: Client, night: Path, journal: Path) -> tuple[dict[str, CalibrationStatus], str]:
    async with upload_and_calibrate(
        bh,
        night,
        UploadOptions(target="Gaia22bpl", observatory="HarnessObs_HarnessCam"),
        JobOptions(journal=journal),
        PollOptions(interval=0.05, timeout=20),
    ) as job:
        results = {str(r.filename): r.status async for r in job}
    assert job.summary is not None
    return results, str(job.summary)


async def test_results_carry_local_file_names_and_rerun_yields_them_again(
    alice: Client, make_fits_tree: Callable[..., list[Path]], tmp_path: Path
) -> None:
    """Each result names the frame it came from; a re-run skips the uploads but still reports them."""
    frames = make_fits_tree(3)
    for frame in frames:
        os.utime(frame, (1_700_000_000, 1_700_000_000))
    journal = tmp_path / "night.sqlite3"
    first, first_summary = await collect(alice, frames[0].parent, journal)
    again, again_summary = await collect(alice, frames[0].parent, journal)
    names = {frame.name for frame in frames}
    assert first == dict.fromkeys(names, CalibrationStatus.SUCCESS)
    assert again == first
    assert "3 uploaded" in first_summary
    assert "3 skipped" in again_summary
