"""`bh.uploads.upload_file` against the emulator over loopback."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bhtom_async import Client, UploadOptions, errors

from ..conftest import fits_bytes

if TYPE_CHECKING:
    from bhtom_async.emulator import Emulator

pytestmark = pytest.mark.anyio
CAMERA = "HarnessObs_HarnessCam"


async def test_upload_stores_the_file_and_returns_its_id(
    alice: Client, emulator: Emulator, tmp_path: Path
) -> None:
    """An upload is stored once, byte for byte, under the id in the receipt."""
    frame = tmp_path / "frame_a.fits"
    frame.write_bytes(fits_bytes(1))
    receipt = await alice.uploads.upload_file(
        frame, UploadOptions(target="Gaia22bpl", observatory=CAMERA, observers=["alice"])
    )
    (uploaded,) = receipt.files
    assert uploaded.local_name == "frame_a.fits"
    assert uploaded.filename.endswith("frame_a.fits")
    (stored,) = emulator.state.dataproducts_by_sha256(hashlib.sha256(frame.read_bytes()).hexdigest())
    assert stored.id == uploaded.id
    assert stored.target == "Gaia22bpl"
    assert stored.dry_run is False
    assert emulator.state.request_count("POST", "/upload/") == 1


async def test_upload_several_files_in_one_request(
    alice: Client, emulator: Emulator, make_fits_tree: Callable[..., list[Path]]
) -> None:
    """Several paths go in one request and come back as one receipt entry each."""
    paths = make_fits_tree(3)
    receipt = await alice.uploads.upload_file(paths, UploadOptions(target="Gaia22bpl", observatory=CAMERA))
    assert [f.local_name for f in receipt.files] == [p.name for p in paths]
    assert len(set(receipt.ids)) == 3
    assert emulator.state.request_count("POST", "/upload/") == 1


async def test_dry_run_upload_is_marked(alice: Client, emulator: Emulator, tmp_path: Path) -> None:
    """dry_run=True reaches the server as a dry run and the receipt says so."""
    frame = tmp_path / "dry.fits"
    frame.write_bytes(fits_bytes(2))
    receipt = await alice.uploads.upload_file(
        frame, UploadOptions(target="Gaia22bpl", observatory=CAMERA, dry_run=True)
    )
    assert receipt.dry_run is True
    assert receipt.files[0].dry_run is True
    (stored,) = emulator.state.dataproducts_by_sha256(hashlib.sha256(frame.read_bytes()).hexdigest())
    assert stored.dry_run is True


async def test_photometry_catalogue_upload(alice: Client, samples_dir: Path) -> None:
    """A SExtractor catalogue uploads as photometry with its mjd."""
    receipt = await alice.uploads.upload_file(
        samples_dir / "instrumental.cat",
        UploadOptions(target="HarnessStar1", observatory=CAMERA, data_product_type="photometry", mjd=60827.9),
    )
    assert len(receipt.ids) == 1


async def test_unknown_target_is_target_not_found(alice: Client, tmp_path: Path) -> None:
    """An unknown target name is refused as TargetNotFoundError."""
    frame = tmp_path / "x.fits"
    frame.write_bytes(fits_bytes(3))
    with pytest.raises(errors.TargetNotFoundError):
        await alice.uploads.upload_file(frame, UploadOptions(target="NoSuchTarget", observatory=CAMERA))


async def test_camera_not_in_favourites_hints_add_favourite(alice: Client, tmp_path: Path) -> None:
    """A camera outside the caller's favourites is refused with a hint naming add_favourite."""
    frame = tmp_path / "x.fits"
    frame.write_bytes(fits_bytes(4))
    with pytest.raises(errors.ValidationError) as caught:
        await alice.uploads.upload_file(frame, UploadOptions(target="Gaia22bpl", observatory="ROAD_QHY600M"))
    assert "add_favourite(oname='ROAD_QHY600M')" in (caught.value.hint or "")
