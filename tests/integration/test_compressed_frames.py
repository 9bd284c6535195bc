"""Compressed frames (.fits.gz, .fits.fz) of a night reach the server as plain FITS, with bounded memory."""

from __future__ import annotations

import gzip
import hashlib
import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from bhtom_async import Client, JobOptions, UploadOptions
from bhtom_async.emulator import Emulator
from bhtom_async.upload import Uploader

from ..conftest import fits_bytes
from .helpers import MB, DiscardServer, upload_peaks

pytestmark = pytest.mark.anyio
OPTIONS = UploadOptions(target="Gaia22bpl", observatory="HarnessObs_HarnessCam")


def plain_fits(data: np.ndarray, **cards: object) -> bytes:
    hdu = fits.PrimaryHDU(data=data)
    for key, value in cards.items():
        hdu.header[key] = value
    buffer = io.BytesIO()
    hdu.writeto(buffer)
    return buffer.getvalue()


def write_fpack(path: Path, data: np.ndarray) -> Path:
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(data=data, compression_type="RICE_1")]).writeto(path)
    return path


async def test_a_night_of_plain_gzipped_and_fpacked_frames_arrives_as_plain_fits(
    emulator: Emulator, emulator_client: Callable[..., Client], tmp_path: Path
) -> None:
    """Each frame is stored once, as valid plain FITS under its plain name; a re-run skips them all."""
    night = tmp_path / "night"
    night.mkdir()
    rng = np.random.default_rng(1)
    images = {name: rng.integers(0, 5000, size=(64, 48), dtype=np.int16) for name in ("a", "b", "c")}
    (night / "a.fits").write_bytes(plain_fits(images["a"]))
    (night / "b.fits.gz").write_bytes(gzip.compress(plain_fits(images["b"])))
    write_fpack(night / "c.fits.fz", images["c"])
    async with emulator_client("alice") as bh:
        first = await Uploader(
            bh, night, OPTIONS, JobOptions(journal=tmp_path / "j.sqlite3", settle_time=0)
        ).run()
        again = await Uploader(
            bh, night, OPTIONS, JobOptions(journal=tmp_path / "j.sqlite3", settle_time=0)
        ).run()
    assert sorted(o.status for o in first.outcomes) == ["uploaded"] * 3
    assert {o.path.name: o.sent_as for o in first.outcomes} == {
        "a.fits": None,
        "b.fits.gz": "b.fits",
        "c.fits.fz": "c.fits",
    }
    assert [o.status for o in again.outcomes] == ["skipped"] * 3
    for outcome in first.outcomes:
        assert outcome.data_product_id is not None
        product = emulator.state.dataproduct(outcome.data_product_id)
        assert product is not None
        assert product.stored_name.endswith("_" + outcome.path.name.removesuffix(".gz").removesuffix(".fz"))
        stored = Path(product.disk_path).read_bytes()
        assert hashlib.sha256(stored).hexdigest() == product.sha256 == outcome.sha256
        with fits.open(io.BytesIO(stored)) as hdus:
            assert len(hdus) == 1
            assert np.array_equal(hdus[0].data, images[outcome.path.name[0]])


def gzipped_sparse(path: Path, size: int) -> Path:
    """A gzipped FITS frame whose plain form is `size` bytes (mostly zeros: quick to make)."""
    with gzip.open(path, "wb", compresslevel=1) as handle:
        handle.write(fits_bytes(0))
        handle.write(b"\0" * (size - 2880 * 2))
    return path


@pytest.mark.parametrize("kind", ["gzip", "fpack"])
async def test_memory_does_not_grow_with_a_compressed_frame_s_size(
    discard_server: DiscardServer, tmp_path: Path, kind: str
) -> None:
    """Peak traced memory sending a 4x larger compressed frame stays within a few MB of the small one."""
    if kind == "gzip":
        small, big = (
            gzipped_sparse(tmp_path / "s.fits.gz", 8 * MB),
            gzipped_sparse(tmp_path / "b.fits.gz", 32 * MB),
        )
    else:
        small = write_fpack(tmp_path / "s.fits.fz", np.zeros((2048, 2048), dtype=np.int16))
        big = write_fpack(tmp_path / "b.fits.fz", np.zeros((4096, 4096), dtype=np.int16))
    peaks = await upload_peaks(discard_server, [small, big], tmp_path)
    print(f"{kind}: peak traced memory {peaks[0] / MB:.2f} MB (small), {peaks[1] / MB:.2f} MB (4x larger)")
    assert peaks[1] - peaks[0] < 4 * MB
    assert discard_server.received[-1] > 32 * MB  # the big frame went out decompressed
