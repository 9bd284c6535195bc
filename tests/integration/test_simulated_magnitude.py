"""The emulator calibrates a synthetic frame to the magnitude its SIMMAG card states (the demo uses it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bhtom_async import CalibrationStatus, Client, UploadOptions
from bhtom_async.cli.fits_synth import FrameSpec, night_of_frames, write_frame
from bhtom_async.poll import PollOptions

pytestmark = pytest.mark.anyio


async def calibrate(bh: Client, path: Path) -> float:
    receipt = await bh.uploads.upload_file(
        path, UploadOptions(target="Gaia22bpl", observatory="HarnessObs_HarnessCam")
    )
    (result,) = [r async for r in bh.calibration.wait(receipt.ids, PollOptions(interval=0.05, timeout=20))]
    assert result.status is CalibrationStatus.SUCCESS
    assert result.magnitude is not None
    return result.magnitude


async def test_frames_calibrate_to_their_stated_magnitude(alice: Client, tmp_path: Path) -> None:
    """A night of demo frames gives back its ±0.3 mag light curve, each point within 0.011 mag."""
    specs = night_of_frames("Gaia22bpl", count=4)
    for index, spec in enumerate(specs):
        measured = await calibrate(alice, write_frame(spec, tmp_path / f"f{index}.fits", use_astropy=False))
        assert measured == pytest.approx(spec.magnitude, abs=0.011)
    assert max(s.magnitude for s in specs) - min(s.magnitude for s in specs) > 0.5


async def test_frame_without_simmag_gets_a_hash_derived_magnitude(alice: Client, tmp_path: Path) -> None:
    """Real frames (no SIMMAG card) still calibrate, to a deterministic magnitude in 11-19."""
    spec = FrameSpec(target="Gaia22bpl", mjd=60827.9)
    path = write_frame(spec, tmp_path / "real.fits", use_astropy=False)
    data = path.read_bytes()
    card = data.find(b"SIMMAG  =")
    path.write_bytes(data[:card] + b"COMMENT" + b" " * 73 + data[card + 80 :])
    measured = await calibrate(alice, path)
    assert 11.0 <= measured <= 19.0
    assert measured != pytest.approx(spec.magnitude, abs=0.011)
