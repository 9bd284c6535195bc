"""`bh.dataproducts` and `bh.reduced_data` against the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from bhtom_async import Client, UploadOptions, errors

from ..conftest import fits_bytes

pytestmark = pytest.mark.anyio
POINT = {"mjd": 60001.2, "mag": 15.35, "magerr": 0.03, "filter": "GaiaSP/V", "observer": "alice"}


async def test_list_by_id_returns_seeded_product(alice: Client) -> None:
    """list(id=1) returns the seeded photometry_csv product."""
    (dp,) = await alice.dataproducts.list(id=1).to_list()
    assert (dp.id, dp.target_name, dp.data_product_type) == (1, "HarnessStar1", "photometry_csv")
    assert dp.calibration_data is not None
    assert dp.calibration_data.magnitude == pytest.approx(15.2)


async def test_list_includes_a_new_upload(alice: Client, tmp_path: Path) -> None:
    """A fresh upload appears in list(target=...) under its receipt id (used for reconciliation)."""
    frame = tmp_path / "new.fits"
    frame.write_bytes(fits_bytes(21))
    receipt = await alice.uploads.upload_file(
        frame, UploadOptions(target="Gaia22bpl", observatory="HarnessObs_HarnessCam")
    )
    ids = [dp.id async for dp in alice.dataproducts.list(target="Gaia22bpl")]
    assert receipt.ids[0] in ids


async def test_change_observers(alice: Client) -> None:
    """change_observers returns the product with the new observers (stored as user ids)."""
    dp = await alice.dataproducts.change_observers(1, ["alice", "bob"])
    assert len(dp.observers) == 2
    assert dp.id == 1


async def test_change_observers_unknown_user(alice: Client) -> None:
    """An unknown username is refused as ValidationError."""
    with pytest.raises(errors.ValidationError):
        await alice.dataproducts.change_observers(1, ["nobody-here"])


async def test_photometry_file_of_seeded_product(alice: Client, tmp_path: Path) -> None:
    """photometry_file returns the parsed rows and saves the original bytes."""
    phot = await alice.dataproducts.photometry_file(1)
    assert [r.mag for r in phot.rows] == [15.2, 15.35, 15.1]
    saved = await phot.save(tmp_path / "copy.csv")
    assert saved.read_bytes() == phot.content


async def test_delete_as_admin_and_refused_for_user(alice: Client, admin: Client) -> None:
    """A user's delete is refused; an admin's removes the product; a second delete is NotFound."""
    with pytest.raises(errors.PermissionDeniedError):
        await alice.dataproducts.delete(1)
    await admin.dataproducts.delete(1)
    assert await admin.dataproducts.list(id=1).to_list() == []
    with pytest.raises(errors.NotFoundError):
        await admin.dataproducts.delete(1)


async def test_reduced_data_list(alice: Client) -> None:
    """The seeded light curve lists its three points."""
    points = await alice.reduced_data.list(target="HarnessStar1").to_list()
    assert sorted(p.value for p in points if p.value is not None) == [15.1, 15.2, 15.35]


async def test_reduced_data_unknown_target(alice: Client) -> None:
    """An unknown target name is NotFoundError."""
    with pytest.raises(errors.NotFoundError):
        await alice.reduced_data.list(target="NoSuchTarget").to_list()


async def test_reduced_data_deactivate_then_delete(admin: Client, alice: Client) -> None:
    """An admin deactivates a point (it stays listed, inactive), then deletes it; a user is refused."""
    with pytest.raises(errors.PermissionDeniedError):
        await alice.reduced_data.deactivate(**POINT)  # type: ignore[arg-type]
    await admin.reduced_data.deactivate(**POINT, target="HarnessStar1")  # type: ignore[arg-type]
    points = await admin.reduced_data.list(target="HarnessStar1").to_list()
    assert [p.active for p in points if p.mjd == pytest.approx(60001.2)] == [False]
    await admin.reduced_data.delete(**POINT, target="HarnessStar1")  # type: ignore[arg-type]
    points = await admin.reduced_data.list(target="HarnessStar1").to_list()
    assert len(points) == 2
    with pytest.raises(errors.NotFoundError):
        await admin.reduced_data.delete(**POINT, target="HarnessStar1")  # type: ignore[arg-type]
