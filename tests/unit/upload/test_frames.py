"""`upload.frames`: what goes on the wire for plain, gzipped and tile-compressed frames."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from bhtom_async.upload import frames

from ...conftest import fits_bytes


def fpack(path: Path, data: np.ndarray, **cards: object) -> Path:
    """Write `data` as a tile-compressed (RICE) frame, the way fpack does."""
    image = fits.CompImageHDU(data=data, compression_type="RICE_1")
    for key, value in cards.items():
        image.header[key] = value
    fits.HDUList([fits.PrimaryHDU(), image]).writeto(path, overwrite=True)
    return path


def test_compression_is_told_from_the_name() -> None:
    """Only FITS names with .gz or .fz count; the plain name drops the compression suffix."""
    assert frames.compression_of("a.fits.gz") == "gzip"
    assert frames.compression_of("a.FIT.fz") == "fpack"
    assert frames.compression_of("a.fits") is None
    assert frames.compression_of("log.txt.gz") is None
    assert frames.plain_name("night_001.fits.fz") == "night_001.fits"
    assert frames.plain_name("night_001.fits") == "night_001.fits"


def test_a_gzipped_frame_reads_as_its_plain_bytes(tmp_path: Path) -> None:
    """The stream is the plain frame, its length comes from the trailer, its hash is the plain one."""
    plain = fits_bytes(3, size_blocks=5)
    packed = tmp_path / "f.fits.gz"
    packed.write_bytes(gzip.compress(plain))
    assert frames.gzip_size(packed) == len(plain)
    with frames.open_plain(packed) as stream:
        assert stream.read() == plain
    assert frames.plain_head(packed, "gzip") == frames.FITS_MAGIC
    assert frames.content_sha256(packed, "gzip", tmp_path) == hashlib.sha256(plain).hexdigest()


def test_a_tile_compressed_frame_unpacks_to_the_same_plain_image(tmp_path: Path) -> None:
    """fpack (RICE) in, a single-HDU plain FITS out: same pixels, same type, cards kept; scratch only."""
    data = (np.arange(300 * 200, dtype=np.int32).reshape(300, 200) % 60000).astype(np.uint16)
    packed = fpack(tmp_path / "f.fits.fz", data, OBJECT="Gaia22bpl", FILTER="V")
    plain = frames.unpack_fpack(packed, tmp_path / "scratch")
    assert plain == tmp_path / "scratch" / "f.fits"
    assert plain.read_bytes().startswith(frames.FITS_MAGIC)
    with fits.open(plain) as hdus:
        assert len(hdus) == 1
        assert hdus[0].data.dtype == np.uint16
        assert np.array_equal(hdus[0].data, data)
        assert (hdus[0].header["OBJECT"], hdus[0].header["FILTER"]) == ("Gaia22bpl", "V")
    expected = hashlib.sha256(plain.read_bytes()).hexdigest()
    plain.unlink()
    assert frames.content_sha256(packed, "fpack", tmp_path / "scratch") == expected
    assert list((tmp_path / "scratch").iterdir()) == []  # hashing left nothing behind


def test_a_file_named_fz_that_holds_no_compressed_image_is_refused(tmp_path: Path) -> None:
    """A plain FITS named `.fz` is not silently sent as something else."""
    path = tmp_path / "f.fits.fz"
    path.write_bytes(fits_bytes(1))
    with pytest.raises(ValueError, match="holds no tile-compressed image"):
        frames.unpack_fpack(path, tmp_path / "scratch")
