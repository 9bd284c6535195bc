"""`bh.calibration` against the emulator: results, restarts, calibrate_file."""

from __future__ import annotations

from pathlib import Path

import pytest

from bhtom_async import Client, UploadOptions, errors
from bhtom_async.models import CalibrationStatus
from bhtom_async.poll import PollOptions

from ..conftest import fits_bytes

pytestmark = pytest.mark.anyio


async def test_results_of_seeded_product(alice: Client) -> None:
    """The seeded calibrated product reads back as SUCCESS with its magnitude."""
    (result,) = [r async for r in alice.calibration.results([1])]
    assert result.status is CalibrationStatus.SUCCESS
    assert result.magnitude == pytest.approx(15.2)
    assert result.dataproduct_id == 1


async def test_results_by_filename(alice: Client) -> None:
    """A file-name lookup finds the seeded product."""
    (result,) = [r async for r in alice.calibration.results(filenames=["harness_phot_1"])]
    assert result.dataproduct_id == 1
    assert result.filename == "harness_phot_1"


async def test_results_unknown_id_is_pending(alice: Client) -> None:
    """An id with no calibration record reads as PENDING with the server's message."""
    (result,) = [r async for r in alice.calibration.results([999999])]
    assert result.status is CalibrationStatus.PENDING
    assert "does not exist" in (result.message or "")


async def test_results_of_an_upload_reach_success(alice: Client, tmp_path: Path) -> None:
    """A fresh upload's calibration becomes SUCCESS with a magnitude, read through wait and results."""
    frame = tmp_path / "f.fits"
    frame.write_bytes(fits_bytes(11))
    receipt = await alice.uploads.upload_file(
        frame, UploadOptions(target="Gaia22bpl", observatory="HarnessObs_HarnessCam")
    )
    (done,) = [
        r
        async for r in alice.calibration.wait(
            receipt.files, PollOptions(interval=0.05, max_interval=0.2, timeout=20)
        )
    ]
    assert done.status is CalibrationStatus.SUCCESS
    (again,) = [r async for r in alice.calibration.results(receipt.ids, plot=True)]
    assert again.magnitude == done.magnitude
    assert again.plot is not None
    assert again.plot.startswith(b"\x89PNG")


async def test_restarts_as_admin(admin: Client) -> None:
    """Each restart selects the seeded calibration (id 1) and returns the calibration service's answer."""
    by_id = await admin.calibration.restart_by_id(id_from=1, id_to=1)
    by_target = await admin.calibration.restart_by_target(target="HarnessStar1")
    by_product = await admin.calibration.restart_by_dataproduct(1)
    restarted = {"status": "restarted", "count": 1, "calibration_ids": [1]}
    assert [r.cpcs for r in (by_id, by_target, by_product)] == [restarted] * 3


async def test_restart_as_user_is_permission_denied(alice: Client) -> None:
    """A non-admin restart is refused as PermissionDeniedError."""
    with pytest.raises(errors.PermissionDeniedError):
        await alice.calibration.restart_by_dataproduct(1)


async def test_calibrate_file(alice: Client, samples_dir: Path) -> None:
    """calibFile calibrates a catalogue at once: status S, a magnitude, and every row counted."""
    catalogue = samples_dir / "instrumental.cat"
    rows = sum(1 for line in catalogue.read_text().splitlines() if line.strip() and not line.startswith("#"))
    result = await alice.calibration.calibrate_file(catalogue, ra=318.737, dec=-55.872)
    assert result.status == "S"
    assert result.mag is not None
    assert result.mag_error is not None
    assert result.mag_error > 0
    assert result.zeropoint is not None
    assert result.npoints == rows == 3
    assert result.survey == "GaiaSP"
